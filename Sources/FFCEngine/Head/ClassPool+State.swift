// Head: the class pool's checkpoint tensors (banks, positions, write bookkeeping, LRU order,
// RNG state), so a resumed run continues bit for bit.
import Foundation
import LRUCache

extension ClassPool {
    /// Tensors under `prefix`: `bank0`, `bank1` (Q, D) F32; `position` (Q) U8; `writes`,
    /// `last_write_step` (Q) I64; `lru` (n, 2) I64 (identity, slot) most recent first;
    /// `random` (1) I64, the RNG state's bit pattern.
    public func exportState(prefix: String = "pool.") -> [String: NamedTensor] {
        let order = lru.recencyOrder()
        return [
            prefix + "bank0": NamedTensor(floats: bank0, shape: [capacity, featureDim]),
            prefix + "bank1": NamedTensor(floats: bank1, shape: [capacity, featureDim]),
            prefix + "position": NamedTensor(bytes: position, shape: [capacity]),
            prefix + "writes": NamedTensor(ints: writes.map { Int64($0) }, shape: [capacity]),
            prefix + "last_write_step": NamedTensor(
                ints: lastWriteStep.map { Int64($0) }, shape: [capacity]),
            prefix + "lru": NamedTensor(
                ints: order.flatMap { [Int64($0.key), Int64($0.slot)] }, shape: [order.count, 2]),
            prefix + "random": NamedTensor(ints: [Int64(bitPattern: random.state)], shape: [1]),
        ]
    }

    /// Rebuilds a pool from `exportState` tensors in `file`; refuses shapes that disagree.
    public init(
        restoring file: SafeTensorsFile, prefix: String = "pool.", identityCount: Int = .max,
        memoryBudgetBytes: Int = .max, probeRowsForBudget: Int = 0
    ) throws {
        let b0 = try file.require(prefix + "bank0")
        guard b0.shape.count == 2, b0.shape[0] > 0, b0.shape[1] > 0 else {
            throw ClassPoolError.badState(reason: "\(file.path): \(prefix)bank0 has shape \(b0.shape)")
        }
        let (q, d) = (b0.shape[0], b0.shape[1])
        try self.init(capacity: q, featureDim: d, seed: 0)
        let b1 = try file.require(prefix + "bank1")
        let pos = try file.require(prefix + "position")
        let w = try file.require(prefix + "writes")
        let last = try file.require(prefix + "last_write_step")
        let order = try file.require(prefix + "lru")
        let rand = try file.require(prefix + "random")
        guard b1.shape == b0.shape, pos.shape == [q], w.shape == [q], last.shape == [q],
            order.shape.count == 2,
            order.shape[1] == 2, rand.shape == [1]
        else {
            throw ClassPoolError.badState(
                reason: "\(file.path): \(prefix)* tensor shapes disagree with Q=\(q), D=\(d)")
        }
        bank0 = b0.floats
        bank1 = b1.floats
        position = pos.bytes
        writes = w.ints.map { Int($0) }
        lastWriteStep = last.ints.map { Int($0) }
        let pairs = order.ints
        let restored = (0..<order.shape[0]).map {
            (key: Int(pairs[2 * $0]), slot: Int(pairs[2 * $0 + 1]))
        }
        do {
            lru = try LRUCache(capacity: q, restoring: restored)
        } catch {
            throw ClassPoolError.badState(reason: "\(file.path): \(prefix)lru: \(error)")
        }
        random = SeededRandom(seed: UInt64(bitPattern: rand.ints[0]))
        self.identityCount = identityCount
        self.memoryBudgetBytes = memoryBudgetBytes
        self.probeRowsForBudget = probeRowsForBudget
        _checkInvariants()
    }
}
