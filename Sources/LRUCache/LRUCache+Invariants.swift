// LRUCache+Invariants: the structural checks tests run after operations (debug builds only).

extension LRUCache {
    /// Traps if the recency list, table and free chain disagree. Compiled out of release builds.
    /// - Complexity: O(capacity + table size).
    public func _checkInvariants() {
        #if DEBUG
            var seen = [Bool](repeating: false, count: capacity)
            var listed = 0
            var previous: Int32 = -1
            var slot = head
            while slot >= 0 {
                precondition(!seen[Int(slot)], "recency list revisits slot \(slot)")
                seen[Int(slot)] = true
                let record = records[Int(slot)]
                precondition(record.prev == previous, "slot \(slot) has a wrong prev link")
                precondition(record.key >= 0, "listed slot \(slot) holds no key")
                precondition(
                    keys.slot(of: record.key, records: records) == slot,
                    "key \(record.key) is not found at slot \(slot)")
                listed += 1
                previous = slot
                slot = record.next
            }
            precondition(tail == previous, "tail \(tail) is not the last listed slot \(previous)")
            precondition(listed == count, "list holds \(listed) keys, count is \(count)")
            var filed = 0
            keys.forEachSlot { held in
                filed += 1
                precondition(seen[Int(held)], "table entry names free slot \(held)")
            }
            precondition(filed == count, "table holds \(filed) keys, count is \(count)")
            for group in 0..<keys.groupCount {
                let count = Int(keys.word(group, LRUKeyTable.controlLane) & LRUKeyTable.countMask)
                for lane in 0..<LRUKeyTable.entriesPerGroup {
                    precondition((keys.word(group, lane) != 0) == (lane < count), "group \(group) is not packed")
                }
            }
            for (group, expected) in keys.expectedControlWords(records: records).enumerated() {
                let stored = keys.word(group, LRUKeyTable.controlLane)
                precondition(stored == expected, "group \(group) control word \(stored), expected \(expected)")
            }
            var free = freeHead
            var freeCount = 0
            while free >= 0 {
                let record = records[Int(free)]
                precondition(!seen[Int(free)], "free chain names held or repeated slot \(free)")
                precondition(record.key < 0 && record.prev < 0 && record.touch == 0, "free slot \(free) is not clean")
                precondition(record.next < 0 || record.next > free, "free chain is not ascending at \(free)")
                seen[Int(free)] = true
                freeCount += 1
                free = record.next
            }
            precondition(freeCount == capacity - count, "free chain has \(freeCount) slots")
            precondition(pendingAgeCount <= Self.pendingEvictionAgeLimit, "too many pending ages")
            precondition(journalCount <= journalCapacity, "journal count past its buffer")
            precondition(clock >= 0 && journalCount <= clock, "journal longer than the operations")
        #endif
    }
}
