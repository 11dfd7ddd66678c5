// LRUCache: identity → slot map with journaled operations and rollback.
//
// The class pool asks it, for each gallery feature, which pool slot holds the identity: a hit
// makes the identity most recent, a miss takes a free slot or evicts the least recent identity
// and reuses its slot. Pass 1 of a training step uses `tryGet` and `rollback`, pass 2 `get`.
// Storage is flat and preallocated (see LRUCacheStorage): no heap allocation per operation.

/// A least-recently-used map from integer identity keys to slots `0..<capacity`.
///
/// Keys must lie in `LRUCache.keyRange` (0 ... 2³¹−1): they are stored as Int32 to keep memory
/// near 25 bytes per entry (`bytesPerEntry`). A free slot is handed out smallest first.
///
/// Journal: `tryGet` records what it did so `rollback` can undo it exactly (keys, slots, recency
/// order, free slots, last-touch times, counters). Any unjournaled change (`get`, `resize`)
/// drops the journal first, because an undo across it could not be exact.
///
/// Time: each `get`/`tryGet` is one operation; its time is the `step` the caller passes, else
/// the operation number. An evicted key's age is the evicting time minus its last-touch time.
public struct LRUCache: Sendable {
  /// Keys the cache can hold.
  public static let keyRange: ClosedRange<Int> = 0...Int(Int32.max)
  /// Largest capacity (slot indices are Int32 and the table doubles past 1.5 × capacity).
  public static let maximumCapacity = 1 << 30
  /// Eviction ages kept for `takeEvictionAges()` between two calls; later ones only count in `counters`.
  public static let pendingEvictionAgeLimit = 4096

  var storage: LRUCacheStorage
  /// Most recent slot, -1 when empty.
  var head: Int32 = -1
  /// Least recent slot, -1 when empty.
  var tail: Int32 = -1
  /// Number of keys held.
  public internal(set) var count = 0
  /// Operations (`get`/`tryGet`) applied and not rolled back.
  var clock = 0
  public internal(set) var counters = LRUCounters()
  var journal: [LRUJournalEntry] = []
  var pendingEvictionAges: [Int] = []

  /// An empty cache with `capacity` free slots.
  /// - Throws: `LRUCacheError.invalidCapacity` unless `1...maximumCapacity` holds `capacity`.
  /// - Complexity: O(capacity).
  public init(capacity: Int) throws(LRUCacheError) {
    guard capacity > 0 && capacity <= Self.maximumCapacity else {
      throw .invalidCapacity(capacity)
    }
    storage = LRUCacheStorage(capacity: capacity)
    journal.reserveCapacity(1024)
    pendingEvictionAges.reserveCapacity(Self.pendingEvictionAgeLimit)
  }

  /// Number of slots.
  public var capacity: Int { storage.capacity }

  /// Journaled operations that `rollback` can still undo.
  public var journalCount: Int { journal.count }

  /// Bytes the cache holds (slot arrays, table, journal and age buffer) divided by its capacity.
  public var bytesPerEntry: Double {
    let bytes =
      storage.byteCount + journal.capacity * MemoryLayout<LRUJournalEntry>.stride
      + pendingEvictionAges.capacity * MemoryLayout<Int>.stride + MemoryLayout<LRUCache>.size
    return Double(bytes) / Double(capacity)
  }

  /// The slot of `key`. A hit makes `key` most recent; a miss puts it into the smallest free
  /// slot, or evicts the least recent key and reuses its slot. Drops the journal.
  /// - Parameter step: the caller's clock for eviction ages (nil: the operation number).
  /// - Complexity: O(1) expected, no allocation.
  public mutating func get(_ key: Int, step: Int? = nil) -> Int {
    if !journal.isEmpty { journal.removeAll(keepingCapacity: true) }
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
    let slot = storage.slot(of: Int32(truncatingIfNeeded: key))
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
    let key = storage.slotKey[slot]
    return key < 0 ? nil : Int(key)
  }

  /// Ages of the keys evicted since the previous call (at most `pendingEvictionAgeLimit`),
  /// oldest eviction first; ages of rolled-back evictions are not in it.
  /// - Complexity: O(returned ages).
  public mutating func takeEvictionAges() -> [Int] {
    let ages = pendingEvictionAges
    pendingEvictionAges.removeAll(keepingCapacity: true)
    return ages
  }

  // MARK: - Operation core

  mutating func makeStorageUnique() {
    if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
  }

  /// Shared body of `get` and `tryGet`.
  @inline(__always)
  mutating func access(_ key: Int, step: Int?, journaled: Bool) -> Int {
    precondition(Self.keyRange.contains(key), "LRU key \(key) is outside \(Self.keyRange)")
    makeStorageUnique()
    let s = storage
    let key32 = Int32(truncatingIfNeeded: key)
    clock += 1
    let time = step ?? clock
    let bucket = s.bucket(of: key32)
    let found = s.table[bucket]
    if found >= 0 {
      let slot = Int(found)
      if journaled {
        journal.append(
          .init(kind: .hit, slot: found, other: s.prev[slot], previousTouch: s.lastTouch[slot]))
      }
      s.lastTouch[slot] = time
      moveToFront(found)
      counters.hits += 1
      return slot
    }
    counters.inserts += 1
    if count < s.capacity {
      let slot = s.freeSlots[s.capacity - 1 - count]
      count += 1
      s.table[bucket] = slot
      s.slotKey[Int(slot)] = key32
      s.lastTouch[Int(slot)] = time
      pushFront(slot)
      if journaled { journal.append(.init(kind: .insert, slot: slot, other: -1, previousTouch: 0)) }
      return Int(slot)
    }
    let slot = tail
    let victim = s.slotKey[Int(slot)]
    let victimTouch = s.lastTouch[Int(slot)]
    let ageIndex = recordEviction(age: time - victimTouch)
    s.remove(victim)
    s.insert(key32, slot: slot)
    s.slotKey[Int(slot)] = key32
    s.lastTouch[Int(slot)] = time
    moveToFront(slot)
    if journaled {
      journal.append(
        .init(
          kind: .evict, slot: slot, other: victim, previousTouch: victimTouch, ageIndex: ageIndex))
    }
    return Int(slot)
  }

  /// Counts an eviction; returns where its age went in the pending buffer, or -1 if it was full.
  @inline(__always)
  mutating func recordEviction(age: Int) -> Int32 {
    counters.evictions += 1
    counters.evictionAgeSum += age
    guard pendingEvictionAges.count < Self.pendingEvictionAgeLimit else { return -1 }
    pendingEvictionAges.append(age)
    return Int32(pendingEvictionAges.count - 1)
  }

  // MARK: - Recency list (most recent = head)

  @inline(__always)
  mutating func unlink(_ slot: Int32) {
    let s = storage
    let p = s.prev[Int(slot)]
    let n = s.next[Int(slot)]
    if p >= 0 { s.next[Int(p)] = n } else { head = n }
    if n >= 0 { s.prev[Int(n)] = p } else { tail = p }
  }

  @inline(__always)
  mutating func pushFront(_ slot: Int32) {
    let s = storage
    s.prev[Int(slot)] = -1
    s.next[Int(slot)] = head
    if head >= 0 { s.prev[Int(head)] = slot } else { tail = slot }
    head = slot
  }

  @inline(__always)
  mutating func pushBack(_ slot: Int32) {
    let s = storage
    s.next[Int(slot)] = -1
    s.prev[Int(slot)] = tail
    if tail >= 0 { s.next[Int(tail)] = slot } else { head = slot }
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
    let s = storage
    let n = s.next[Int(anchor)]
    s.prev[Int(slot)] = anchor
    s.next[Int(slot)] = n
    s.next[Int(anchor)] = slot
    if n >= 0 { s.prev[Int(n)] = slot } else { tail = slot }
  }
}
