// LRUCache+Resize: growing and shrinking the slot range, reporting the slot moves the pool applies.

extension LRUCache {
    /// Changes the capacity. Growing adds free slots. Shrinking evicts least-recent keys until
    /// `count <= capacity` (counted as evictions, with ages), then moves every survivor whose slot
    /// is `>= capacity` into a free slot below it, in ascending order of old and new slot; the
    /// returned moves let the class pool move its feature rows the same way. Recency order and
    /// touch times are kept. Drops the journal.
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
        journalCount = 0
        guard newCapacity != capacity else { return [] }
        makeStorageUnique()
        let old = storage
        let now = UInt32(truncatingIfNeeded: step ?? clock)
        while count > newCapacity {
            let slot = tail
            let victim = old.records[Int(slot)]
            _ = recordEviction(age: Self.age(at: now, since: victim.touch))
            old.keys.remove(victim.key, slot: slot)
            unlink(slot)
            old.records[Int(slot)] = .free
            count -= 1
        }
        var moves: [(old: Int, new: Int)] = []
        // (old capacity - new capacity) new slot of each old slot >= newCapacity, -1 when free.
        var movedTo = [Int32](repeating: -1, count: max(0, capacity - newCapacity))
        var hole = 0
        for slot in min(newCapacity, capacity)..<capacity where old.records[slot].key >= 0 {
            while old.records[hole].key >= 0 { hole += 1 }
            movedTo[slot - newCapacity] = Int32(hole)
            moves.append((old: slot, new: hole))
            hole += 1
        }
        let resized = LRUCacheStorage(capacity: newCapacity, journalCapacity: journalCapacity)
        resized.pendingAges.update(from: old.pendingAges, count: pendingAgeCount)
        var slot = head
        adopt(resized)
        head = -1
        tail = -1
        while slot >= 0 {
            let target = Int(slot) < newCapacity ? slot : movedTo[Int(slot) - newCapacity]
            let record = old.records[Int(slot)]
            resized.records[Int(target)].key = record.key
            resized.records[Int(target)].touch = record.touch
            resized.keys.insert(record.key, slot: target)
            pushBack(target)
            slot = record.next
        }
        rebuildFreeSlots()
        return moves
    }
}
