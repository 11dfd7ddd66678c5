// LRUCache+Batch: a training step's keys in one call, their table lookups requested early.
//
// One `get` can only ask for the new key's table group when it starts, and then waits for it.
// Given the whole batch, the cache requests the group of the key `batchLookahead` places ahead
// while it handles the current one, so the lookups' cache misses overlap instead of queueing.
// The operations themselves are exactly the single-key ones, in order.

extension LRUCache {
    /// How many keys ahead a batch requests table groups: enough to cover a memory access
    /// while handling one key each, few enough that the lines are still cached when used.
    /// A power of two (the probes wait in a ring indexed by masking).
    static let batchLookahead = 8

    /// Calls `get(key, step:)` on each of `keys` in order, with the same effect. Afterwards
    /// `slots[i]` is the slot of `keys[i]` and `found[i]` whether it was present before its call
    /// (a hit); both arrays are resized to `keys.count`.
    /// - Complexity: O(keys.count) expected; no allocation once `slots` and `found` have grown.
    public mutating func get(_ keys: [Int], step: Int? = nil, slots: inout [Int], found: inout [Bool]) {
        accessBatch(keys, step: step, journaled: false, slots: &slots, found: &found)
    }

    /// Calls `tryGet(key, step:)` on each of `keys` in order, with the same effect (each key is
    /// one journaled operation, so `rollback(keys.count)` undoes the batch). Afterwards
    /// `slots[i]` is the slot of `keys[i]` and `found[i]` whether it was present before its call;
    /// both arrays are resized to `keys.count`.
    /// - Complexity: O(keys.count) expected; no allocation once `slots`, `found` and the
    ///   journal have grown.
    public mutating func tryGet(_ keys: [Int], step: Int? = nil, slots: inout [Int], found: inout [Bool]) {
        accessBatch(keys, step: step, journaled: true, slots: &slots, found: &found)
    }

    /// Shared body of the batched `get` and `tryGet` (inlined into each, so neither tests
    /// `journaled` per key).
    @inline(__always)
    private mutating func accessBatch(
        _ keys: [Int], step: Int?, journaled: Bool, slots: inout [Int], found: inout [Bool]
    ) {
        slots.removeAll(keepingCapacity: true)
        slots.append(contentsOf: repeatElement(0, count: keys.count))
        found.removeAll(keepingCapacity: true)
        found.append(contentsOf: repeatElement(false, count: keys.count))
        guard !keys.isEmpty else { return }
        for key in keys {
            precondition(Self.keyRange.contains(key), "LRU key \(key) is outside \(Self.keyRange)")
        }
        // Copy first (once for the batch), so the requested lines are those of the buffers the
        // operations write.
        makeStorageUnique()
        if !journaled { journalCount = 0 }
        // The probes of the next `batchLookahead` keys, computed when their groups are requested.
        withUnsafeTemporaryAllocation(of: LRUKeyTable.Probe.self, capacity: Self.batchLookahead) { ahead in
            keys.withUnsafeBufferPointer { keys in
                slots.withUnsafeMutableBufferPointer { slots in
                    found.withUnsafeMutableBufferPointer { found in
                        let count = keys.count
                        for index in 0..<min(Self.batchLookahead, count) {
                            ahead[index] = requestLookup(keys[index])
                        }
                        for index in 0..<count {
                            let ring = index & (Self.batchLookahead &- 1)
                            let probe = ahead[ring]
                            if index &+ Self.batchLookahead < count {
                                ahead[ring] = requestLookup(keys[index &+ Self.batchLookahead])
                            }
                            let hitsBefore = counters.hits
                            slots[index] = accessUnique(
                                Int32(truncatingIfNeeded: keys[index]), probe, step: step, journaled: journaled)
                            found[index] = counters.hits != hitsBefore
                        }
                    }
                }
            }
        }
    }

    /// Requests the table group a lookup of `key` reads first, and returns the key's probe.
    @inline(__always)
    private func requestLookup(_ key: Int) -> LRUKeyTable.Probe {
        let probe = self.keys.probe(Int32(truncatingIfNeeded: key))
        prefetchForWriting(self.keys.groups + probe.home &* LRUKeyTable.groupBytes)
        return probe
    }
}
