// Head: the Dynamic Class Pool: two banks of gallery features, a position bit
// per slot, the LRU from identity to slot, and the journal that undoes the first pass.
import Foundation
import LRUCache

/// Why the pool refused a change; carries what the user asked for and the limit it broke.
public enum ClassPoolError: Error, Equatable, CustomStringConvertible {
    case invalidSize(requested: Int, reason: String)
    case journalOpen(operation: String)
    case badState(reason: String)

    public var description: String {
        switch self {
        case .invalidSize(let requested, let reason): return "pool size \(requested) refused: \(reason)"
        case .journalOpen(let operation): return "\(operation) refused: a journaled pass is still open"
        case .badState(let reason): return "pool state cannot be restored: \(reason)"
        }
    }
}

/// What one pass of gallery writes did to the pool.
public struct PoolWriteSummary: Sendable, Equatable {
    /// Writes of identities that were already in the pool (LRU hits), and new identities.
    public var hits = 0
    public var inserts = 0
    /// Inserts that evicted an identity, and the summed steps since those identities' last write.
    public var evictions = 0
    public var evictionAgeSum = 0
    /// Slots written into bank `position` as an existing identity in this pass, ascending.
    public var dualSlots: [Int] = []
    /// Distinct slots written in this pass.
    public var slotsWritten = 0
}

/// The Dynamic Class Pool. Shapes: Q = `capacity` slots, D = `featureDim`.
///
/// Writing gallery feature f of identity y (batch order, last write to a row wins):
/// y not in the LRU → the LRU gives a slot (free, else the least recent identity's), f goes to
/// bank 0, position := 1; y present → it becomes most recent, f goes to bank `position`, the
/// slot is *dual* for this pass, position flips.
public struct ClassPool: Sendable {
    public let featureDim: Int
    public private(set) var capacity: Int
    /// Largest pool a resize may ask for (the number of identities in the training set).
    public var identityCount: Int
    /// Largest resident size a resize may reach, in bytes (both banks, bookkeeping, LRU and
    /// the B'×Q logits buffer the head keeps).
    public var memoryBudgetBytes: Int
    /// Probe rows per pass, used only for the memory estimate of a resize.
    public var probeRowsForBudget: Int

    /// (Q, D) each: bank 0 and bank 1.
    public internal(set) var bank0: [Float]
    public internal(set) var bank1: [Float]
    /// (Q): the bank the next write of the slot's identity goes to.
    public internal(set) var position: [UInt8]
    /// (Q): writes of the slot's current identity, and the step of its last write.
    public internal(set) var writes: [Int]
    public internal(set) var lastWriteStep: [Int]
    public internal(set) var lru: LRUCache
    public internal(set) var random: SeededRandom

    /// Undo records of the open journaled pass (nil when no pass is open).
    private var journal: Journal?

    private struct Journal {
        var lruSteps = 0
        var savedSlots: Set<Int> = []
        var rows: [(slot: Int, row0: [Float], row1: [Float], position: UInt8, writes: Int, lastWrite: Int)] = []
    }

    /// Bytes one slot costs: two bank rows, position, writes, last step, ~40 B of LRU, and
    /// one column of the head's logits buffer per probe row.
    /// Bytes one more slot of this pool costs (what the console's resize prompt multiplies).
    public var bytesPerSlot: Int { Self.bytesPerSlot(featureDim: featureDim, probeRows: probeRowsForBudget) }

    public static func bytesPerSlot(featureDim: Int, probeRows: Int) -> Int {
        2 * featureDim * 4 + 1 + 8 + 8 + 40 + probeRows * 4
    }

    /// A pool of `capacity` slots filled with random unit vectors: uniform [0,1) per
    /// coordinate then L2-normalised, as the original initialises its queue.
    public init(
        capacity: Int, featureDim: Int, seed: UInt64, identityCount: Int = .max,
        memoryBudgetBytes: Int = .max, probeRowsForBudget: Int = 0
    ) throws {
        guard featureDim > 0 else {
            throw ClassPoolError.badState(reason: "feature dimension \(featureDim)")
        }
        self.featureDim = featureDim
        self.identityCount = identityCount
        self.memoryBudgetBytes = memoryBudgetBytes
        self.probeRowsForBudget = probeRowsForBudget
        self.capacity = 0
        bank0 = []
        bank1 = []
        position = []
        writes = []
        lastWriteStep = []
        random = SeededRandom(seed: seed)
        lru = try LRUCache(capacity: 1)
        try checkSize(capacity)
        lru = try LRUCache(capacity: capacity)
        appendRandomSlots(capacity)
    }

    private func checkSize(_ requested: Int) throws {
        if requested <= 0 {
            throw ClassPoolError.invalidSize(requested: requested, reason: "must be positive")
        }
        if requested > identityCount {
            throw ClassPoolError.invalidSize(
                requested: requested,
                reason: "larger than the \(identityCount) identities in the training set")
        }
        let bytes = requested.multipliedReportingOverflow(
            by: Self.bytesPerSlot(featureDim: featureDim, probeRows: probeRowsForBudget))
        if bytes.overflow || bytes.partialValue > memoryBudgetBytes {
            throw ClassPoolError.invalidSize(
                requested: requested,
                reason:
                    "needs \(bytes.overflow ? Int.max : bytes.partialValue) bytes, above the budget of \(memoryBudgetBytes)"
            )
        }
    }

    private mutating func appendRandomSlots(_ n: Int) {
        let d = featureDim
        for _ in 0..<2 * n {
            var row = (0..<d).map { _ in random.unit() }
            L2Normalize.normalizeRows(&row, dim: d)
            if bank0.count < (capacity + n) * d {
                bank0.append(contentsOf: row)
            } else {
                bank1.append(contentsOf: row)
            }
        }
        position.append(contentsOf: repeatElement(0, count: n))
        writes.append(contentsOf: repeatElement(0, count: n))
        lastWriteStep.append(contentsOf: repeatElement(0, count: n))
        capacity += n
    }

    /// Identities currently in the pool.
    public var occupancy: Int { lru.count }

    /// Writes gallery features `features` (B×D, unit rows) of identities `labels` in batch
    /// order. With `journaled`, every change is recorded so `rollback()` restores the pool
    /// exactly; call `rollback()` before the next write.
    /// - Complexity: O(B·D) plus the LRU's O(1) per label.
    public mutating func write(features: [Float], labels: [Int], step: Int, journaled: Bool)
        -> PoolWriteSummary
    {
        precondition(journal == nil, "a journaled pass is open; roll it back first")
        precondition(features.count == labels.count * featureDim, "features are not B×D")
        let d = featureDim
        var summary = PoolWriteSummary()
        var dual = Set<Int>()
        var written = Set<Int>()
        if journaled { journal = Journal() }
        // The whole batch through the LRU first (its lookups overlap); the loop below touches
        // only the pool's own arrays, so the order of effects is the same as label by label.
        var slots: [Int] = []
        var found: [Bool] = []
        if journaled {
            lru.tryGet(labels, step: step, slots: &slots, found: &found)
        } else {
            lru.get(labels, step: step, slots: &slots, found: &found)
        }
        for (i, slot) in slots.enumerated() {
            let present = found[i]
            if journaled { saveForUndo(slot) }
            written.insert(slot)
            let bank: Int
            if present {
                summary.hits += 1
                bank = Int(position[slot])
                dual.insert(slot)
                position[slot] ^= 1
                writes[slot] += 1
            } else {
                summary.inserts += 1
                if writes[slot] > 0 {
                    summary.evictions += 1
                    summary.evictionAgeSum += step - lastWriteStep[slot]
                }
                bank = 0
                position[slot] = 1
                writes[slot] = 1
            }
            lastWriteStep[slot] = step
            features.withUnsafeBufferPointer { f in
                let src = f.baseAddress! + i * d
                if bank == 0 {
                    bank0.withUnsafeMutableBufferPointer {
                        ($0.baseAddress! + slot * d).update(from: src, count: d)
                    }
                } else {
                    bank1.withUnsafeMutableBufferPointer {
                        ($0.baseAddress! + slot * d).update(from: src, count: d)
                    }
                }
            }
        }
        if journaled { journal!.lruSteps = labels.count }
        summary.dualSlots = dual.sorted()
        summary.slotsWritten = written.count
        return summary
    }

    private mutating func saveForUndo(_ slot: Int) {
        guard journal!.savedSlots.insert(slot).inserted else { return }
        let d = featureDim
        journal!.rows.append(
            (
                slot: slot, row0: Array(bank0[slot * d..<(slot + 1) * d]),
                row1: Array(bank1[slot * d..<(slot + 1) * d]),
                position: position[slot], writes: writes[slot], lastWrite: lastWriteStep[slot]
            ))
    }

    /// Whether a journaled pass is open (written, not yet rolled back).
    public var hasOpenJournal: Bool { journal != nil }

    /// Undoes the open journaled pass: bank rows, positions, write counts and LRU operations.
    /// - Complexity: O(slots touched · D).
    public mutating func rollback() {
        guard let j = journal else { return }
        let d = featureDim
        for r in j.rows.reversed() {
            bank0.replaceSubrange(r.slot * d..<(r.slot + 1) * d, with: r.row0)
            bank1.replaceSubrange(r.slot * d..<(r.slot + 1) * d, with: r.row1)
            position[r.slot] = r.position
            writes[r.slot] = r.writes
            lastWriteStep[r.slot] = r.lastWrite
        }
        lru.rollback(j.lruSteps)
        lru.commit()
        journal = nil
    }

    /// Grows (new slots get random unit vectors) or shrinks (least recent identities leave,
    /// survivors' rows move as the LRU compacts them). Refuses sizes ≤ 0, above the number of
    /// identities, or whose memory estimate exceeds the budget.
    /// - Complexity: O(Q·D) for the moved rows plus the LRU's resize.
    public mutating func resize(capacity newCapacity: Int) throws {
        if journal != nil { throw ClassPoolError.journalOpen(operation: "resize") }
        try checkSize(newCapacity)
        guard newCapacity != capacity else { return }
        let moves = try lru.resize(capacity: newCapacity)
        FaultPoint.poolResize.pass()
        if newCapacity > capacity {
            appendRandomSlots(newCapacity - capacity)
        } else {
            let d = featureDim
            for m in moves {
                bank0.replaceSubrange(m.new * d..<(m.new + 1) * d, with: bank0[m.old * d..<(m.old + 1) * d])
                bank1.replaceSubrange(m.new * d..<(m.new + 1) * d, with: bank1[m.old * d..<(m.old + 1) * d])
                position[m.new] = position[m.old]
                writes[m.new] = writes[m.old]
                lastWriteStep[m.new] = lastWriteStep[m.old]
            }
            bank0.removeSubrange(newCapacity * d..<bank0.count)
            bank1.removeSubrange(newCapacity * d..<bank1.count)
            position.removeSubrange(newCapacity...)
            writes.removeSubrange(newCapacity...)
            lastWriteStep.removeSubrange(newCapacity...)
            capacity = newCapacity
            // Slots whose identity was evicted and not refilled are free again.
            for s in 0..<capacity where lru.key(atSlot: s) == nil { writes[s] = 0 }
        }
        _checkInvariants()
    }

    /// Checks LRU ↔ rows ↔ positions: every LRU slot is in range and has been written; free
    /// slots have no writes; array sizes match the capacity. Compiled out of release builds.
    public func _checkInvariants() {
        #if DEBUG
            precondition(
                lru.capacity == capacity, "LRU capacity \(lru.capacity) ≠ pool capacity \(capacity)")
            precondition(
                bank0.count == capacity * featureDim && bank1.count == capacity * featureDim, "bank sizes")
            precondition(
                position.count == capacity && writes.count == capacity && lastWriteStep.count == capacity)
            var seen = 0
            for s in 0..<capacity {
                if let key = lru.key(atSlot: s) {
                    precondition(
                        lru.view(key) == s, "slot \(s) holds identity \(key) but the LRU maps it elsewhere")
                    precondition(writes[s] >= 1, "slot \(s) holds identity \(key) but was never written")
                    precondition(
                        writes[s] > 1 || position[s] == 1,
                        "slot \(s) written once but position is \(position[s])")
                    seen += 1
                } else {
                    precondition(writes[s] == 0, "free slot \(s) has \(writes[s]) writes")
                }
                precondition(position[s] <= 1, "slot \(s) position \(position[s])")
            }
            precondition(seen == lru.count, "LRU holds \(lru.count) identities, slots show \(seen)")
        #endif
    }
}
