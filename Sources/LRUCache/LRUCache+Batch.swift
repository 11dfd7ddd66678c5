// LRUCache+Batch: a training step's keys in one call, their table lookups requested early.
//
// One `get` can only ask for the new key's table group when it starts, and then waits for it.
// Given the whole batch, the cache requests the group of the key `batchLookahead` places ahead
// while it handles the current one, so the lookups' cache misses overlap instead of queueing.
// The operations themselves are exactly the single-key ones, in order.

extension LRUCache {
    /// How many keys ahead a batch requests table groups: enough to cover a memory access
    /// while handling one key each, few enough that the lines are still cached when used.
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

    /// Shared body of the batched `get` and `tryGet`.
    private mutating func accessBatch(
        _ keys: [Int], step: Int?, journaled: Bool, slots: inout [Int], found: inout [Bool]
    ) {
        slots.removeAll(keepingCapacity: true)
        slots.append(contentsOf: repeatElement(0, count: keys.count))
        found.removeAll(keepingCapacity: true)
        found.append(contentsOf: repeatElement(false, count: keys.count))
        guard !keys.isEmpty else { return }
        // Copy first (once for the batch), so the requested lines are those of the buffers the
        // operations write.
        makeStorageUnique()
        keys.withUnsafeBufferPointer { keys in
            slots.withUnsafeMutableBufferPointer { slots in
                found.withUnsafeMutableBufferPointer { found in
                    let count = keys.count
                    for index in 0..<min(Self.batchLookahead, count) { prefetchLookup(keys[index]) }
                    for index in 0..<count {
                        if index &+ Self.batchLookahead < count {
                            prefetchLookup(keys[index &+ Self.batchLookahead])
                        }
                        let hitsBefore = counters.hits
                        if !journaled { journalCount = 0 }
                        slots[index] = accessUnique(keys[index], step: step, journaled: journaled)
                        found[index] = counters.hits != hitsBefore
                    }
                }
            }
        }
    }

    /// Requests the table group a lookup of `key` reads first; keys outside `keyRange` are
    /// left to the operation, which refuses them.
    @inline(__always)
    private func prefetchLookup(_ key: Int) {
        guard Self.keyRange.contains(key) else { return }
        prefetchForWriting(
            self.keys.groups + self.keys.probe(Int32(truncatingIfNeeded: key)).home &* LRUKeyTable.groupBytes)
    }
}
