// LRUCache: identity → slot map with journaled operations and rollback.
//
// The class pool asks it, for each gallery feature, which pool slot holds the identity: a hit
// makes the identity most recent, a miss takes a free slot or evicts the least recent identity
// and reuses its slot. Pass 1 of a training step uses `tryGet` and `rollback`, pass 2 `get`,
// each for the step's whole batch of labels at once (LRUCache+Batch).
// Storage is flat and preallocated (see LRUCacheStorage): no heap allocation per operation.

/// A least-recently-used map from integer identity keys to slots `0..<capacity`.
///
/// Keys must lie in `LRUCache.keyRange` (0 ... 2³¹−1): they are stored as Int32 to keep memory
/// near 24 bytes per entry (`bytesPerEntry`). A free slot is handed out smallest first.
///
/// Journal: `tryGet` records what it did so `rollback` can undo it exactly (keys, slots, recency
/// order, free slots, last-touch times, counters). Any unjournaled change (`get`, `resize`)
/// drops the journal first, because an undo across it could not be exact.
///
/// Time: each `get`/`tryGet` is one operation; its time is the `step` the caller passes, else
/// the operation number. An evicted key's age is the evicting time minus its last-touch time
/// (times are kept in 32 bits, so ages are exact up to 2³¹ − 1).
public struct LRUCache: @unchecked Sendable {
    /// Keys the cache can hold.
    public static let keyRange: ClosedRange<Int> = 0...Int(Int32.max)
    /// Largest capacity (slot indices are Int32, and a table entry keeps at least one fingerprint bit).
    public static let maximumCapacity = 1 << 30
    /// Eviction ages kept for `takeEvictionAges()` between two calls; later ones only count in `counters`.
    public static let pendingEvictionAgeLimit = 4096

    /// Owns the buffers; `records` and `keys` point into it so the hot path needs no reference
    /// counting. Writes go through them only while `storage` is uniquely referenced, which is
    /// what makes the struct a safe `Sendable` value despite the raw pointers.
    var storage: LRUCacheStorage
    var records: UnsafeMutablePointer<LRUSlotRecord>
    var keys: LRUKeyTable
    var journal: UnsafeMutablePointer<LRUJournalEntry>
    var journalCapacity: Int
    var pendingAges: UnsafeMutablePointer<Int>
    /// Most recent slot, -1 when empty.
    var head: Int32 = -1
    /// Least recent slot, -1 when empty.
    var tail: Int32 = -1
    /// Smallest free slot, -1 when full; the free slots chain upwards through their records.
    var freeHead: Int32 = -1
    /// Number of keys held.
    public internal(set) var count = 0
    /// Operations (`get`/`tryGet`) applied and not rolled back.
    var clock = 0
    public internal(set) var counters = LRUCounters()
    /// Journaled operations that `rollback` can still undo.
    public internal(set) var journalCount = 0
    /// Eviction ages waiting for `takeEvictionAges()`.
    var pendingAgeCount = 0

    /// An empty cache with `capacity` free slots.
    /// - Throws: `LRUCacheError.invalidCapacity` unless `1...maximumCapacity` holds `capacity`.
    /// - Complexity: O(capacity).
    public init(capacity: Int) throws(LRUCacheError) {
        guard capacity > 0 && capacity <= Self.maximumCapacity else {
            throw .invalidCapacity(capacity)
        }
        storage = LRUCacheStorage(capacity: capacity)
        records = storage.records
        keys = storage.keys
        journal = storage.journal
        journalCapacity = storage.journalCapacity
        pendingAges = storage.pendingAges
        rebuildFreeSlots()
    }

    /// Number of slots.
    public var capacity: Int { storage.capacity }

    /// Bytes the cache holds (slot records, table, journal and age buffer) divided by its capacity.
    public var bytesPerEntry: Double {
        Double(storage.byteCount + MemoryLayout<LRUCache>.size) / Double(capacity)
    }

    /// The slot of `key`. A hit makes `key` most recent; a miss puts it into the smallest free
    /// slot, or evicts the least recent key and reuses its slot. Drops the journal.
    /// - Parameter step: the caller's clock for eviction ages (nil: the operation number).
    /// - Complexity: O(1) expected, no allocation.
    public mutating func get(_ key: Int, step: Int? = nil) -> Int {
        journalCount = 0
        return access(key, step: step, journaled: false)
    }

    /// The same as `get`, but journaled so `rollback` can undo it.
    /// - Complexity: O(1) expected, no allocation once the journal has grown to its working size.
    public mutating func tryGet(_ key: Int, step: Int? = nil) -> Int {
        access(key, step: step, journaled: true)
    }

    /// The slot of `key`, or nil; recency is untouched.
    /// - Complexity: O(1) expected.
    public func view(_ key: Int) -> Int? {
        guard Self.keyRange.contains(key) else { return nil }
        let slot = keys.slot(of: Int32(truncatingIfNeeded: key), records: records)
        return slot < 0 ? nil : Int(slot)
    }

    /// Whether `key` holds a slot.
    /// - Complexity: O(1) expected.
    public func contains(_ key: Int) -> Bool {
        view(key) != nil
    }

    /// The key held by `slot`, or nil when the slot is free or out of range.
    /// - Complexity: O(1).
    public func key(atSlot slot: Int) -> Int? {
        guard slot >= 0 && slot < capacity else { return nil }
        let key = records[slot].key
        return key < 0 ? nil : Int(key)
    }

    /// Ages of the keys evicted since the previous call (at most `pendingEvictionAgeLimit`),
    /// oldest eviction first; ages of rolled-back evictions are not in it.
    /// - Complexity: O(returned ages).
    public mutating func takeEvictionAges() -> [Int] {
        defer { pendingAgeCount = 0 }
        return pendingEvictionAges
    }

    /// The eviction ages waiting for `takeEvictionAges()`, oldest first.
    var pendingEvictionAges: [Int] {
        Array(UnsafeBufferPointer(start: pendingAges, count: pendingAgeCount))
    }

    // MARK: - Operation core

    mutating func makeStorageUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            adopt(storage.copy(journalCount: journalCount, pendingAgeCount: pendingAgeCount))
        }
    }

    /// Makes `storage` the buffers this cache reads and writes.
    mutating func adopt(_ storage: LRUCacheStorage) {
        self.storage = storage
        records = storage.records
        keys = storage.keys
        journal = storage.journal
        journalCapacity = storage.journalCapacity
        pendingAges = storage.pendingAges
    }

    /// Shared body of `get` and `tryGet`.
    @inline(__always)
    mutating func access(_ key: Int, step: Int?, journaled: Bool) -> Int {
        makeStorageUnique()
        return accessUnique(key, step: step, journaled: journaled)
    }

    /// `access` once the storage is known to be uniquely referenced.
    @inline(__always)
    mutating func accessUnique(_ key: Int, step: Int?, journaled: Bool) -> Int {
        precondition(Self.keyRange.contains(key), "LRU key \(key) is outside \(Self.keyRange)")
        let key32 = Int32(truncatingIfNeeded: key)
        return accessUnique(key32, keys.probe(key32), step: step, journaled: journaled)
    }

    /// `accessUnique` given the key's table probe (a batch computes it early to request the
    /// key's group); `key` must lie in `keyRange`.
    @inline(__always)
    mutating func accessUnique(_ key32: Int32, _ probe: LRUKeyTable.Probe, step: Int?, journaled: Bool) -> Int {
        clock &+= 1
        let touch = UInt32(truncatingIfNeeded: step ?? clock)
        let found = keys.slot(of: key32, probe, records: records)
        if found >= 0 {
            let slot = found
            if journaled {
                let record = records[Int(slot)]
                appendJournal(.init(kind: .hit, slot: slot, other: record.prev, previousTouch: record.touch))
            }
            records[Int(slot)].touch = touch
            moveToFront(slot)
            counters.hits &+= 1
            return Int(slot)
        }
        counters.inserts &+= 1
        if freeHead >= 0 {
            let slot = freeHead
            freeHead = records[Int(slot)].next
            count &+= 1
            keys.insert(probe, slot: slot)
            records[Int(slot)].key = key32
            records[Int(slot)].touch = touch
            pushFront(slot)
            if journaled { appendJournal(.init(kind: .insert, slot: slot, other: -1, previousTouch: 0)) }
            return Int(slot)
        }
        let slot = tail
        let victim = records[Int(slot)]
        let ageIndex = recordEviction(age: Self.age(at: touch, since: victim.touch))
        keys.remove(keys.probe(victim.key), slot: slot)
        keys.insert(probe, slot: slot)
        // Move the least recent slot to the front, now holding `key`; alone, it stays.
        if victim.prev >= 0 {
            tail = victim.prev
            records[Int(victim.prev)].next = -1
            records[Int(slot)] = LRUSlotRecord(key: key32, prev: -1, next: head, touch: touch)
            records[Int(head)].prev = slot
            head = slot
        } else {
            records[Int(slot)].key = key32
            records[Int(slot)].touch = touch
        }
        if journaled {
            appendJournal(
                .init(kind: .evict, slot: slot, other: victim.key, previousTouch: victim.touch, ageIndex: ageIndex))
        }
        prefetchNextVictim()
        return Int(slot)
    }

    /// Requests the table group the next eviction reads: that of the new least recent key.
    /// (Its slot record needs no request: slots are mostly reused in ascending runs, which the
    /// hardware prefetcher follows.)
    @inline(__always)
    func prefetchNextVictim() {
        prefetchForWriting(keys.groups + keys.probe(records[Int(tail)].key).home &* LRUKeyTable.groupBytes)
    }

    /// Steps or operations from `since` to `now`, both truncated to 32 bits: exact while the
    /// true age lies within ±(2³¹ − 1).
    @inline(__always)
    static func age(at now: UInt32, since: UInt32) -> Int {
        Int(Int32(bitPattern: now &- since))
    }

    /// Counts an eviction; returns where its age went in the pending buffer, or -1 if it was full.
    @inline(__always)
    mutating func recordEviction(age: Int) -> Int32 {
        counters.evictions &+= 1
        counters.evictionAgeSum &+= age
        guard pendingAgeCount < Self.pendingEvictionAgeLimit else { return -1 }
        pendingAges[pendingAgeCount] = age
        pendingAgeCount &+= 1
        return Int32(truncatingIfNeeded: pendingAgeCount &- 1)
    }

    /// Records an undo entry; the storage must be uniquely referenced.
    @inline(__always)
    mutating func appendJournal(_ entry: LRUJournalEntry) {
        if journalCount == journalCapacity {
            storage.growJournal(keeping: journalCount)
            journal = storage.journal
            journalCapacity = storage.journalCapacity
        }
        journal[journalCount] = entry
        journalCount += 1
    }

    // MARK: - Recency list (most recent = head)

    @inline(__always)
    mutating func unlink(_ slot: Int32) {
        let p = records[Int(slot)].prev
        let n = records[Int(slot)].next
        if p >= 0 { records[Int(p)].next = n } else { head = n }
        if n >= 0 { records[Int(n)].prev = p } else { tail = p }
    }

    @inline(__always)
    mutating func pushFront(_ slot: Int32) {
        records[Int(slot)].prev = -1
        records[Int(slot)].next = head
        if head >= 0 { records[Int(head)].prev = slot } else { tail = slot }
        head = slot
    }

    @inline(__always)
    mutating func pushBack(_ slot: Int32) {
        records[Int(slot)].next = -1
        records[Int(slot)].prev = tail
        if tail >= 0 { records[Int(tail)].next = slot } else { head = slot }
        tail = slot
    }

    @inline(__always)
    mutating func moveToFront(_ slot: Int32) {
        guard head != slot else { return }
        unlink(slot)
        pushFront(slot)
    }

    /// Links `slot` right after (less recent than) `anchor`.
    @inline(__always)
    mutating func insert(_ slot: Int32, after anchor: Int32) {
        let n = records[Int(anchor)].next
        records[Int(slot)].prev = anchor
        records[Int(slot)].next = n
        records[Int(anchor)].next = slot
        if n >= 0 { records[Int(n)].prev = slot } else { tail = slot }
    }

    /// Chains every slot holding no key into the free list, smallest first.
    /// - Complexity: O(capacity).
    mutating func rebuildFreeSlots() {
        freeHead = -1
        for slot in stride(from: storage.capacity - 1, through: 0, by: -1) where records[slot].key < 0 {
            records[slot] = .free
            records[slot].next = freeHead
            freeHead = Int32(slot)
        }
    }
}
