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
        let last = journalCount - remaining
        while remaining > 0 {
            journalCount -= 1
            prefetchUndo(at: journalCount, last: last)
            undo(journal[journalCount])
            remaining -= 1
        }
    }

    /// Entries ahead of the one being undone at which `rollback` requests lines: the record of
    /// the entry twice as far, then (its line has arrived by then) the table groups of the
    /// entry this far.
    static let undoLookahead = 8

    /// Requests the lines undoing the journal entry `undoLookahead` places before `index` reads
    /// (its key's table group, and the evicted key's), and the slot record of the entry twice as
    /// far; entries before `last` are not undone and are skipped. Hints only: a slot's key may
    /// still change before its entry is undone.
    @inline(__always)
    private func prefetchUndo(at index: Int, last: Int) {
        let far = index &- 2 &* Self.undoLookahead
        if far >= last { prefetchForWriting(records + Int(journal[far].slot)) }
        let near = index &- Self.undoLookahead
        guard near >= last else { return }
        let entry = journal[near]
        let key = records[Int(entry.slot)].key
        if key >= 0 { prefetchForWriting(keys.groups + keys.probe(key).home &* LRUKeyTable.groupBytes) }
        if entry.kind == .evict {
            prefetchForWriting(keys.groups + keys.probe(entry.other).home &* LRUKeyTable.groupBytes)
        }
    }

    /// Keeps every journaled operation: the journal is emptied (its memory is kept for reuse).
    /// - Complexity: O(1).
    public mutating func commit() {
        journalCount = 0
    }

    @inline(__always)
    private mutating func undo(_ entry: LRUJournalEntry) {
        let slot = entry.slot
        clock -= 1
        switch entry.kind {
        case .hit:
            counters.hits -= 1
            records[Int(slot)].touch = entry.previousTouch
            if entry.other >= 0 {
                unlink(slot)
                insert(slot, after: entry.other)
            }
        case .insert:
            counters.inserts -= 1
            keys.remove(records[Int(slot)].key, slot: slot)
            unlink(slot)
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
            records[Int(slot)].key = entry.other
            records[Int(slot)].touch = entry.previousTouch
            unlink(slot)
            pushBack(slot)
        }
    }
}
