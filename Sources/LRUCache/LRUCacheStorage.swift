// LRUCacheStorage: the flat slot records and the open-addressing key table behind LRUCache.
//
// Laid out so one operation touches few cache lines: each slot is one 16-byte record (key,
// recency links, last-touch time), and each table bucket holds key and slot together, so
// probing and deletion never leave the table. The table is a power of two of buckets, at least
// 1.5 × capacity, linear probing from a Fibonacci hash of the key; deletion shifts the cluster
// back, so there are no tombstones. Free slots are chained through their records' `next`.

/// One slot: (16 bytes) the key it holds, its neighbours in recency order, its last touch.
struct LRUSlotRecord {
    /// Key held, -1 when free.
    var key: Int32
    /// The next more recent slot, -1 for the most recent (or when free).
    var prev: Int32
    /// The next less recent slot, -1 for the least recent; when free, the next free slot.
    var next: Int32
    /// Time of the last get/tryGet of the key, truncated to 32 bits (ages wrap past 2³¹); 0 when free.
    var touch: UInt32

    static let free = LRUSlotRecord(key: -1, prev: -1, next: -1, touch: 0)
}

/// The open-addressing table: a non-owning view of the buckets (LRUCacheStorage owns them), so
/// the hot path reaches it without reference counting.
struct LRUKeyTable {
    /// (mask + 1) key in the high 32 bits, slot in the low 32; `empty` when empty.
    let buckets: UnsafeMutablePointer<UInt64>
    /// Bucket count minus one; the bucket count is a power of two.
    let mask: Int
    /// Right shift that turns the 64-bit Fibonacci product into a bucket index.
    let shift: UInt64

    /// A bucket holding no key (keys are non-negative, so no entry has all bits set).
    static let empty = UInt64.max

    /// Bucket count for `capacity` keys: a power of two, at least 1.5 × capacity (load ≤ 2/3).
    static func bucketCount(capacity: Int) -> Int {
        var count = 8
        while count < capacity + capacity / 2 + 1 { count <<= 1 }
        return count
    }

    @inline(__always)
    static func entry(_ key: Int32, slot: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: key)) << 32 | UInt64(UInt32(bitPattern: slot))
    }

    @inline(__always)
    static func key(of entry: UInt64) -> Int32 {
        Int32(truncatingIfNeeded: entry >> 32)
    }

    @inline(__always)
    static func slot(of entry: UInt64) -> Int32 {
        Int32(truncatingIfNeeded: entry)
    }

    /// The bucket where probing for `key` starts.
    @inline(__always)
    func home(_ key: Int32) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: key)) &* 0x9E37_79B9_7F4A_7C15) &>> shift)
    }

    /// The bucket holding `key`, or the empty bucket that ends its probe sequence.
    /// - Complexity: O(1) expected (load factor ≤ 2/3).
    @inline(__always)
    func bucket(of key: Int32) -> Int {
        var b = home(key)
        while true {
            let entry = buckets[b]
            if entry == Self.empty || Self.key(of: entry) == key { return b }
            b = (b &+ 1) & mask
        }
    }

    /// The slot holding `key`, or -1.
    /// - Complexity: O(1) expected.
    @inline(__always)
    func slot(of key: Int32) -> Int32 {
        let entry = buckets[bucket(of: key)]
        return entry == Self.empty ? -1 : Self.slot(of: entry)
    }

    /// Files `slot` under `key`, which must be absent.
    /// - Complexity: O(1) expected.
    @inline(__always)
    func insert(_ key: Int32, slot: Int32) {
        buckets[bucket(of: key)] = Self.entry(key, slot: slot)
    }

    /// Removes `key`, which must be present: empties its bucket and shifts later members of the
    /// cluster back so every key stays reachable from its home bucket. Returns the bucket left
    /// empty — the only bucket that was occupied before and is empty now.
    /// - Complexity: O(1) expected (the cluster length).
    @inline(__always)
    @discardableResult
    func remove(_ key: Int32) -> Int {
        var hole = bucket(of: key)
        var b = (hole &+ 1) & mask
        while true {
            let entry = buckets[b]
            if entry == Self.empty { break }
            let home = home(Self.key(of: entry))
            // The entry may move into the hole if the hole lies between its home and b.
            if (b &- home) & mask >= (b &- hole) & mask {
                buckets[hole] = entry
                hole = b
            }
            b = (b &+ 1) & mask
        }
        buckets[hole] = Self.empty
        return hole
    }

    /// Files `slot` under `key` after `remove` emptied bucket `hole`, given the empty bucket
    /// `probeEnd` at which a probe for `key` stopped before the removal: the key belongs in the
    /// hole if the hole now interrupts its probe sequence, else where that probe stopped.
    /// - Complexity: O(1).
    @inline(__always)
    func insert(_ key: Int32, slot: Int32, probeEnd: Int, hole: Int) {
        let home = home(key)
        let bucket = (hole &- home) & mask < (probeEnd &- home) & mask ? hole : probeEnd
        buckets[bucket] = Self.entry(key, slot: slot)
    }
}

/// Owner of the buffers for one capacity. `LRUCache` keeps copies of the pointers for speed and
/// writes through them only after making sure it holds the sole reference (copy-on-write),
/// which is why sharing across threads is safe.
final class LRUCacheStorage: @unchecked Sendable {
    let capacity: Int
    /// (capacity) one record per slot.
    let records: UnsafeMutablePointer<LRUSlotRecord>
    let keys: LRUKeyTable
    /// (journalCapacity) undo records of journaled operations, oldest first; grows by doubling.
    private(set) var journal: UnsafeMutablePointer<LRUJournalEntry>
    private(set) var journalCapacity: Int
    /// (LRUCache.pendingEvictionAgeLimit) ages of evictions not yet taken, oldest first.
    let pendingAges: UnsafeMutablePointer<Int>

    /// Buffers for `capacity` slots, all records free and unchained, the table empty.
    init(capacity: Int, journalCapacity: Int = 1024) {
        self.capacity = capacity
        self.journalCapacity = journalCapacity
        journal = .allocate(capacity: journalCapacity)
        pendingAges = .allocate(capacity: LRUCache.pendingEvictionAgeLimit)
        let bucketCount = LRUKeyTable.bucketCount(capacity: capacity)
        records = .allocate(capacity: capacity)
        records.initialize(repeating: .free, count: capacity)
        let buckets = UnsafeMutablePointer<UInt64>.allocate(capacity: bucketCount)
        buckets.initialize(repeating: LRUKeyTable.empty, count: bucketCount)
        keys = LRUKeyTable(
            buckets: buckets, mask: bucketCount - 1, shift: UInt64(64 - bucketCount.trailingZeroBitCount))
    }

    /// A deep copy, for copy-on-write, of everything but the unused ends of journal and ages.
    func copy(journalCount: Int, pendingAgeCount: Int) -> LRUCacheStorage {
        let other = LRUCacheStorage(capacity: capacity, journalCapacity: journalCapacity)
        other.records.update(from: records, count: capacity)
        other.keys.buckets.update(from: keys.buckets, count: keys.mask + 1)
        other.journal.update(from: journal, count: journalCount)
        other.pendingAges.update(from: pendingAges, count: pendingAgeCount)
        return other
    }

    /// Doubles the journal, keeping its first `count` entries.
    /// - Complexity: O(count), amortised O(1) per journaled operation.
    func growJournal(keeping count: Int) {
        let grown = UnsafeMutablePointer<LRUJournalEntry>.allocate(capacity: journalCapacity * 2)
        grown.moveInitialize(from: journal, count: count)
        journal.deallocate()
        journal = grown
        journalCapacity *= 2
    }

    deinit {
        records.deallocate()
        keys.buckets.deallocate()
        journal.deallocate()
        pendingAges.deallocate()
    }

    /// Bytes held by the buffers.
    var byteCount: Int {
        capacity * MemoryLayout<LRUSlotRecord>.stride + (keys.mask + 1) * MemoryLayout<UInt64>.stride
            + journalCapacity * MemoryLayout<LRUJournalEntry>.stride
            + LRUCache.pendingEvictionAgeLimit * MemoryLayout<Int>.stride
    }
}
