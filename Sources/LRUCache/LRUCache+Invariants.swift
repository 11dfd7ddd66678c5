// LRUCache+Invariants: the structural checks tests run after operations (debug builds only).

extension LRUCache {
  /// Traps if the list, table, free stack and journal disagree. Compiled out of release builds.
  /// - Complexity: O(capacity + table size).
  public func _checkInvariants() {
    #if DEBUG
      let s = storage
      var seen = [Bool](repeating: false, count: s.capacity)
      var listed = 0
      var previous: Int32 = -1
      var slot = head
      while slot >= 0 {
        precondition(!seen[Int(slot)], "recency list revisits slot \(slot)")
        seen[Int(slot)] = true
        precondition(s.prev[Int(slot)] == previous, "slot \(slot) has a wrong prev link")
        let key = s.slotKey[Int(slot)]
        precondition(key >= 0, "listed slot \(slot) holds no key")
        precondition(s.slot(of: key) == slot, "key \(key) is not found at slot \(slot)")
        listed += 1
        previous = slot
        slot = s.next[Int(slot)]
      }
      precondition(tail == previous, "tail \(tail) is not the last listed slot \(previous)")
      precondition(listed == count, "list holds \(listed) keys, count is \(count)")
      var filed = 0
      for bucket in 0...s.tableMask where s.table[bucket] >= 0 {
        filed += 1
        precondition(seen[Int(s.table[bucket])], "table bucket \(bucket) names a free slot")
      }
      precondition(filed == count, "table holds \(filed) keys, count is \(count)")
      let freeCount = s.capacity - count
      for depth in 0..<freeCount {
        let free = Int(s.freeSlots[depth])
        precondition(!seen[free] && s.slotKey[free] < 0, "free stack names held slot \(free)")
        precondition(s.lastTouch[free] == 0, "free slot \(free) keeps a touch time")
        precondition(
          depth == 0 || s.freeSlots[depth - 1] > s.freeSlots[depth], "free stack out of order")
        seen[free] = true
      }
      precondition(!seen.contains(false), "a slot is neither held nor free")
      precondition(
        pendingEvictionAges.count <= Self.pendingEvictionAgeLimit, "too many pending ages")
      precondition(clock >= 0 && journal.count <= clock, "journal longer than the operations")
    #endif
  }
}
