// LRUCacheStorage: the flat per-slot arrays and the open-addressing key table behind LRUCache.
//
// Per slot (capacity of each): key (Int32, -1 when free), recency links prev/next (Int32 slot
// indices, -1 at the ends), last-touch time (Int), and a stack of free slots (Int32).
// Table: a power of two of Int32 slot indices (-1 empty), at least 1.5× capacity, linear
// probing from a Fibonacci hash of the key; deletion shifts the cluster back, so there are no
// tombstones and lookups never degrade. A slot index is looked up through `slotKey`.

/// Fixed-size buffers for one capacity. Only `LRUCache` touches them, and only after making
/// sure it holds the sole reference (copy-on-write), which is why sharing across threads is safe.
final class LRUCacheStorage: @unchecked Sendable {
  let capacity: Int
  /// Table size minus one; the table size is a power of two.
  let tableMask: Int
  /// Right shift that turns the 64-bit Fibonacci product into a table index.
  let hashShift: UInt64
  /// (capacity) key held by each slot, -1 when free.
  let slotKey: UnsafeMutablePointer<Int32>
  /// (capacity) the next more recent slot, -1 for the most recent.
  let prev: UnsafeMutablePointer<Int32>
  /// (capacity) the next less recent slot, -1 for the least recent.
  let next: UnsafeMutablePointer<Int32>
  /// (capacity) time of the last get/tryGet of the slot's key (step or operation number); 0 when free.
  let lastTouch: UnsafeMutablePointer<Int>
  /// (capacity) free slots; the top `capacity - count` entries are used, smallest slot on top.
  let freeSlots: UnsafeMutablePointer<Int32>
  /// (tableMask + 1) slot index per bucket, -1 when empty.
  let table: UnsafeMutablePointer<Int32>

  /// Buffers for `capacity` slots, all free; the free stack hands out slot 0 first.
  init(capacity: Int) {
    self.capacity = capacity
    var tableSize = 8
    while tableSize < capacity + capacity / 2 + 1 { tableSize <<= 1 }
    tableMask = tableSize - 1
    hashShift = UInt64(64 - tableSize.trailingZeroBitCount)
    slotKey = .allocate(capacity: capacity)
    prev = .allocate(capacity: capacity)
    next = .allocate(capacity: capacity)
    lastTouch = .allocate(capacity: capacity)
    freeSlots = .allocate(capacity: capacity)
    table = .allocate(capacity: tableSize)
    slotKey.initialize(repeating: -1, count: capacity)
    prev.initialize(repeating: -1, count: capacity)
    next.initialize(repeating: -1, count: capacity)
    lastTouch.initialize(repeating: 0, count: capacity)
    for i in 0..<capacity { freeSlots[i] = Int32(capacity - 1 - i) }
    table.initialize(repeating: -1, count: tableSize)
  }

  /// A deep copy, for copy-on-write.
  func copy() -> LRUCacheStorage {
    let other = LRUCacheStorage(capacity: capacity)
    other.slotKey.update(from: slotKey, count: capacity)
    other.prev.update(from: prev, count: capacity)
    other.next.update(from: next, count: capacity)
    other.lastTouch.update(from: lastTouch, count: capacity)
    other.freeSlots.update(from: freeSlots, count: capacity)
    other.table.update(from: table, count: tableMask + 1)
    return other
  }

  deinit {
    slotKey.deallocate()
    prev.deallocate()
    next.deallocate()
    lastTouch.deallocate()
    freeSlots.deallocate()
    table.deallocate()
  }

  /// Bytes held by the buffers.
  var byteCount: Int {
    capacity * (4 + 4 + 4 + MemoryLayout<Int>.size + 4) + (tableMask + 1) * 4
  }

  /// The bucket where probing for `key` starts.
  @inline(__always)
  func home(_ key: Int32) -> Int {
    Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: key)) &* 0x9E37_79B9_7F4A_7C15) >> hashShift)
  }

  /// The bucket holding `key`, or the empty bucket that ends its probe sequence.
  /// - Complexity: O(1) expected (load factor ≤ 2/3).
  @inline(__always)
  func bucket(of key: Int32) -> Int {
    var b = home(key)
    while true {
      let slot = table[b]
      if slot < 0 || slotKey[Int(slot)] == key { return b }
      b = (b + 1) & tableMask
    }
  }

  /// The slot holding `key`, or -1.
  /// - Complexity: O(1) expected.
  @inline(__always)
  func slot(of key: Int32) -> Int32 {
    table[bucket(of: key)]
  }

  /// Files `slot` under `key`, which must be absent from the table.
  /// - Complexity: O(1) expected.
  @inline(__always)
  func insert(_ key: Int32, slot: Int32) {
    table[bucket(of: key)] = slot
  }

  /// Empties bucket `hole` and shifts later members of its cluster back so every key stays
  /// reachable from its home bucket.
  /// - Complexity: O(1) expected (the cluster length).
  @inline(__always)
  func removeBucket(_ hole: Int) {
    var hole = hole
    var b = (hole + 1) & tableMask
    while true {
      let slot = table[b]
      if slot < 0 { break }
      let home = home(slotKey[Int(slot)])
      // The entry may move into the hole if the hole lies between its home and b.
      if (b &- home) & tableMask >= (b &- hole) & tableMask {
        table[hole] = slot
        hole = b
      }
      b = (b + 1) & tableMask
    }
    table[hole] = -1
  }

  /// Removes `key`, which must be present, from the table.
  /// - Complexity: O(1) expected.
  @inline(__always)
  func remove(_ key: Int32) {
    removeBucket(bucket(of: key))
  }
}
