// LRUCache+State: reading the cache in recency order, and exporting/restoring it for checkpoints.

extension LRUCache {
    /// The held keys and their slots, most recent first, without copying.
    public struct RecencyOrder: Sequence, Sendable {
        let storage: LRUCacheStorage
        let head: Int32

        public struct Iterator: IteratorProtocol {
            let storage: LRUCacheStorage
            var slot: Int32

            /// - Complexity: O(1).
            public mutating func next() -> (key: Int, slot: Int)? {
                guard slot >= 0 else { return nil }
                let current = Int(slot)
                let record = storage.records[current]
                slot = record.next
                return (key: Int(record.key), slot: current)
            }
        }

        public func makeIterator() -> Iterator {
            Iterator(storage: storage, slot: head)
        }
    }

    /// The held keys and their slots, most recent first; iterating allocates nothing.
    public var recency: RecencyOrder { RecencyOrder(storage: storage, head: head) }

    /// The held keys and their slots, most recent first.
    /// - Complexity: O(count).
    public func recencyOrder() -> [(key: Int, slot: Int)] {
        var pairs: [(key: Int, slot: Int)] = []
        pairs.reserveCapacity(count)
        for pair in recency { pairs.append(pair) }
        return pairs
    }

    /// The state to checkpoint: (key, slot) pairs, most recent first. `init(capacity:restoring:)`
    /// rebuilds an identical cache from it (journal, counters and touch times start afresh).
    /// - Complexity: O(count).
    public func exportState() -> [(key: Int, slot: Int)] {
        recencyOrder()
    }

    /// A cache holding `pairs` (most recent first) in their slots; the other slots are free.
    /// - Parameter lastTouch: the time to record as every key's last touch (for eviction ages).
    /// - Throws: `LRUCacheError` for a bad capacity, more pairs than slots, a key outside
    ///   `keyRange`, a slot outside `0..<capacity`, or a repeated key or slot.
    /// - Complexity: O(capacity + pairs).
    public init(capacity: Int, restoring pairs: [(key: Int, slot: Int)], lastTouch: Int = 0)
        throws(LRUCacheError)
    {
        try self.init(capacity: capacity)
        guard pairs.count <= capacity else {
            throw .tooManyEntries(count: pairs.count, capacity: capacity)
        }
        let touch = UInt32(truncatingIfNeeded: lastTouch)
        for (index, pair) in pairs.enumerated() {
            guard Self.keyRange.contains(pair.key) else {
                throw .keyOutOfRange(key: pair.key, index: index)
            }
            guard pair.slot >= 0 && pair.slot < capacity else {
                throw .slotOutOfRange(slot: pair.slot, capacity: capacity, index: index)
            }
            guard records[pair.slot].key < 0 else { throw .duplicateSlot(slot: pair.slot, index: index) }
            let key = Int32(pair.key)
            let probe = keys.probe(key)
            guard keys.slot(of: key, probe, records: records) < 0 else {
                throw .duplicateKey(key: pair.key, index: index)
            }
            let slot = Int32(pair.slot)
            keys.insert(probe, slot: slot)
            records[pair.slot].key = key
            records[pair.slot].touch = touch
            pushBack(slot)
            count += 1
        }
        rebuildFreeSlots()
    }
}
