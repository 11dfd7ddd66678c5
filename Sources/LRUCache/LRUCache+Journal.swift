// LRUCache+Journal: undoing journaled `tryGet`s exactly, and dropping the journal.

/// What one `tryGet` did, enough to undo it given the state right after it.
struct LRUJournalEntry {
    enum Kind: UInt8 {
        /// The key was present and moved to the front.
        case hit
        /// The key went into a free slot.
        case insert
        /// The least recent key was evicted and its slot reused.
        case evict
    }

    var kind: Kind
    var slot: Int32
    /// hit: the slot that was just more recent than `slot` (-1: it was already the most recent);
    /// evict: the evicted key.
    var other: Int32
    /// hit: `slot`'s last-touch time before; evict: the evicted key's last-touch time.
    var previousTouch: UInt32
    /// evict: index of its age in the pending eviction ages, -1 when not stored.
    var ageIndex: Int32 = -1
}

extension LRUCache {
    /// Undoes the last `steps` journaled operations, newest first (all there are if fewer),
    /// restoring keys, slots, recency order, free slots, times and counters exactly.
    /// - Complexity: O(steps) expected, no allocation.
    public mutating func rollback(_ steps: Int) {
        precondition(steps >= 0, "LRU rollback of \(steps) steps")
        var remaining = min(steps, journalCount)
        guard remaining > 0 else { return }
        makeStorageUnique()
        counters.rolledBack += remaining
        // No lines are requested ahead: an undo touches what its operation touched, which in
        // the class pool's use (the rollback follows its batch) is still cached; asking for it
        // cost ~33 instructions per undo and saved no time (scripts/lru-instructions, and
        // `ffc bench lru`, workload step).
        while remaining > 0 {
            journalCount -= 1
            undo(journal[journalCount])
            remaining -= 1
        }
    }

    /// Keeps every journaled operation: the journal is emptied (its memory is kept for reuse).
    /// - Complexity: O(1).
    public mutating func commit() {
        journalCount = 0
    }

    /// Undoes the newest journaled operation left. Its slot is the most recent one: the
    /// operation made it so, and everything after it has been undone.
    @inline(__always)
    private mutating func undo(_ entry: LRUJournalEntry) {
        let slot = entry.slot
        clock -= 1
        switch entry.kind {
        case .hit:
            counters.hits -= 1
            records[Int(slot)].touch = entry.previousTouch
            if entry.other >= 0 {
                unlinkHead()
                insert(slot, after: entry.other)
            }
        case .insert:
            counters.inserts -= 1
            keys.remove(records[Int(slot)].key, slot: slot)
            unlinkHead()
            count -= 1
            records[Int(slot)] = .free
            records[Int(slot)].next = freeHead
            freeHead = slot
        case .evict:
            let record = records[Int(slot)]
            counters.inserts -= 1
            counters.evictions -= 1
            counters.evictionAgeSum -= Self.age(at: record.touch, since: entry.previousTouch)
            if entry.ageIndex >= 0 && pendingAgeCount == Int(entry.ageIndex) + 1 {
                pendingAgeCount -= 1
            }
            keys.remove(record.key, slot: slot)
            keys.insert(entry.other, slot: slot)
            // Back to the least recent end, holding the evicted key again; alone, it stays.
            if record.next >= 0 {
                head = record.next
                records[Int(record.next)].prev = -1
                records[Int(slot)] = LRUSlotRecord(key: entry.other, prev: tail, next: -1, touch: entry.previousTouch)
                records[Int(tail)].next = slot
                tail = slot
            } else {
                records[Int(slot)].key = entry.other
                records[Int(slot)].touch = entry.previousTouch
            }
        }
    }

    /// Unlinks the most recent slot.
    @inline(__always)
    private mutating func unlinkHead() {
        let next = records[Int(head)].next
        if next >= 0 { records[Int(next)].prev = -1 } else { tail = -1 }
        head = next
    }
}
