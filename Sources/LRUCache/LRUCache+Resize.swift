// LRUCache+Resize: growing and shrinking the slot range, reporting the slot moves the pool applies.

extension LRUCache {
  /// Changes the capacity. Growing adds free slots. Shrinking evicts least-recent keys until
  /// `count <= capacity` (counted as evictions, with ages), then moves every survivor whose slot
  /// is `>= capacity` into a free slot below it, in ascending order of old and new slot; the
  /// returned moves let the class pool move its feature rows the same way. Recency order is
  /// kept. Drops the journal.
  /// - Parameter step: the caller's clock for eviction ages (nil: the operation number).
  /// - Throws: `LRUCacheError.invalidCapacity` unless `1...maximumCapacity` holds `capacity`.
  /// - Complexity: O(old capacity + new capacity); allocates the new buffers.
  @discardableResult
  public mutating func resize(capacity newCapacity: Int, step: Int? = nil) throws(LRUCacheError)
    -> [(old: Int, new: Int)]
  {
    guard newCapacity > 0 && newCapacity <= Self.maximumCapacity else {
      throw .invalidCapacity(newCapacity)
    }
    journal.removeAll(keepingCapacity: true)
    guard newCapacity != capacity else { return [] }
    makeStorageUnique()
    let old = storage
    let time = step ?? clock
    while count > newCapacity {
      let slot = tail
      _ = recordEviction(age: time - old.lastTouch[Int(slot)])
      old.remove(old.slotKey[Int(slot)])
      unlink(slot)
      old.slotKey[Int(slot)] = -1
      count -= 1
    }
    var moves: [(old: Int, new: Int)] = []
    // (old capacity - new capacity) new slot of each old slot >= newCapacity, -1 when free.
    var movedTo = [Int32](repeating: -1, count: max(0, capacity - newCapacity))
    var hole = 0
    for slot in min(newCapacity, capacity)..<capacity where old.slotKey[slot] >= 0 {
      while old.slotKey[hole] >= 0 { hole += 1 }
      movedTo[slot - newCapacity] = Int32(hole)
      moves.append((old: slot, new: hole))
      hole += 1
    }
    let resized = LRUCacheStorage(capacity: newCapacity)
    var slot = head
    storage = resized
    head = -1
    tail = -1
    while slot >= 0 {
      let target = Int(slot) < newCapacity ? slot : movedTo[Int(slot) - newCapacity]
      let key = old.slotKey[Int(slot)]
      resized.slotKey[Int(target)] = key
      resized.lastTouch[Int(target)] = old.lastTouch[Int(slot)]
      resized.insert(key, slot: target)
      pushBack(target)
      slot = old.next[Int(slot)]
    }
    rebuildFreeSlots()
    return moves
  }

  /// Refills the free stack from the slots holding no key, smallest slot on top.
  /// - Complexity: O(capacity).
  mutating func rebuildFreeSlots() {
    let s = storage
    var depth = 0
    for slot in stride(from: s.capacity - 1, through: 0, by: -1) where s.slotKey[slot] < 0 {
      s.freeSlots[depth] = Int32(slot)
      depth += 1
    }
  }
}
