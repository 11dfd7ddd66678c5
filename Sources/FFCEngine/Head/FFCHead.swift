// Head: the FFC loss on the Dynamic Class Pool and the symmetric two-pass step: the rollback
// pass (G(y) written, P(x)'s loss, writes undone) and the kept pass (G(x) written, P(y)'s loss).
// Legend: B' probe rows per pass (1.5·B), Q pool slots, D feature dimension, K dual slots.
//
// Averaging follows the original (tiandunx/FFC `add_margin`): per logits matrix, the margin
// cross-entropy is the mean over in-pool probe rows and the outlier term is the mean over all
// (outlier row, top-k) entries; a pass's loss is the sum over cos₀ and cos₁, and a step's the
// sum of its two passes. cos₁ equals cos₀ except at the K dual columns, so the pass needs one
// (B'×D)·(D×Q) GEMM forward and one (B'×Q)·(Q×D) backward, plus two of width K — instead of
// rebuilding the mixed bank W (Q×D) and multiplying by it.
import Foundation

/// Loss and statistics of one pass (gallery writes, then the loss of the probes against the pool).
public struct FFCPassResult: Sendable {
    /// Margin cross-entropy part and outlier (hard-negative) part, each summed over the two
    /// logits matrices cos₀ and cos₁.
    public var lossMargin: Double
    public var lossOutlier: Double
    public var loss: Double { lossMargin + lossOutlier }
    /// (B', D) dLoss/dprobe.
    public var gradProbe: [Float]
    /// Probes whose identity was in the pool, in the pair part (first `pairRows`) and the rest.
    public var hitsPair: Int
    public var hitsInstance: Int
    public var writes: PoolWriteSummary
}

/// Everything one FFC step reports: the loss, its parts, gradients into both probe batches,
/// and the pool figures the console shows.
public struct FFCStepResult: Sendable {
    public var pass1: FFCPassResult
    public var pass2: FFCPassResult
    public var loss: Double { pass1.loss + pass2.loss }
    public var lossMargin: Double { pass1.lossMargin + pass2.lossMargin }
    public var lossOutlier: Double { pass1.lossOutlier + pass2.lossOutlier }
    /// (B', D) each: dLoss/dP(x) from pass 1 and dLoss/dP(y) from pass 2.
    public var gradProbeX: [Float] { pass1.gradProbe }
    public var gradProbeY: [Float] { pass2.gradProbe }
    /// Share of probe rows (both passes) in the pool: pair part and instance part.
    public var hitRatePair: Double
    public var hitRateInstance: Double
    /// From the kept pass (pass 2): new identities, evictions, mean steps since the evicted
    /// identities' last write, and dual slots over distinct slots written.
    public var inserts: Int { pass2.writes.inserts }
    public var evictions: Int { pass2.writes.evictions }
    public var evictionAgeMean: Double {
        pass2.writes.evictions == 0
            ? 0 : Double(pass2.writes.evictionAgeSum) / Double(pass2.writes.evictions)
    }
    public var dualShare: Double {
        pass2.writes.slotsWritten == 0
            ? 0 : Double(pass2.writes.dualSlots.count) / Double(pass2.writes.slotsWritten)
    }
}

/// The FFC head: owns the pool and reusable buffers; gradients flow into probe features only.
public final class FFCHead {
    public var pool: ClassPool
    public var loss: MarginLoss
    /// (B', Q) cos₀, overwritten in place by dLoss/dcos (cos₁'s contribution at non-dual columns added).
    private var logits: [Float] = []
    /// Several ranks: the gallery rows are every rank's (the pool is the same everywhere), the
    /// probe rows this rank's, and the loss means count the probe rows of all ranks.
    public var communicator: (any Communicator)?

    public init(pool: ClassPool, loss: MarginLoss) {
        self.pool = pool
        self.loss = loss
    }

    /// Bytes the head holds: both banks, slot bookkeeping, LRU estimate and the logits buffer.
    public var residentBytes: Int {
        pool.capacity * ClassPool.bytesPerSlot(featureDim: pool.featureDim, probeRows: 0) + logits.count
            * 4
    }

    /// The rollback pass (pass 1 of a step): writes `gallery` (rows of identities
    /// `galleryLabels`) into the pool journaled, computes the loss of `probe` (B'×D unit rows,
    /// identities `probeLabels`) against it with its gradient, then undoes the writes — the
    /// pool is as before, as if G(y) had only been shown to P(x). Rows below `pairRows` count
    /// as the identity-pair part for the hit rate.
    public func rollbackPass(
        probe: [Float], probeLabels: [Int], gallery: [Float], galleryLabels: [Int], step: Int, pairRows: Int
    ) -> FFCPassResult {
        let result = pass(
            probe: probe, probeLabels: probeLabels, gallery: gallery, galleryLabels: galleryLabels, step: step,
            journaled: true, pairRows: pairRows)
        pool.rollback()
        pool._checkInvariants()
        return result
    }

    /// The kept pass (pass 2): as `rollbackPass`, but the gallery writes stay in the pool.
    public func keptPass(
        probe: [Float], probeLabels: [Int], gallery: [Float], galleryLabels: [Int], step: Int, pairRows: Int
    ) -> FFCPassResult {
        let result = pass(
            probe: probe, probeLabels: probeLabels, gallery: gallery, galleryLabels: galleryLabels, step: step,
            journaled: false, pairRows: pairRows)
        pool._checkInvariants()
        return result
    }

    private func pass(
        probe: [Float], probeLabels: [Int], gallery: [Float], galleryLabels: [Int], step: Int, journaled: Bool,
        pairRows: Int
    ) -> FFCPassResult {
        let rows = probeLabels.count
        precondition(probe.count == rows * pool.featureDim, "probe features are not B'×D")
        let writes = pool.write(features: gallery, labels: galleryLabels, step: step, journaled: journaled)
        let targets = probeLabels.map { pool.lru.view($0) ?? -1 }
        var hitsPair = 0
        var hitsInstance = 0
        for (i, t) in targets.enumerated() where t >= 0 {
            if i < pairRows { hitsPair += 1 } else { hitsInstance += 1 }
        }
        let dual = DualColumns(slots: writes.dualSlots, pool: pool)
        var dualCos = cosines(probe: probe, rows: rows, dual: dual)
        let rowLoss = rowLosses(targets: targets, dual: dual.slots, dualCos: &dualCos)
        let grad = probeGradient(rows: rows, dual: dual, dualCos: dualCos)
        return FFCPassResult(
            lossMargin: rowLoss.reduce(0) { $0 + $1.margin },
            lossOutlier: rowLoss.reduce(0) { $0 + $1.outlier },
            gradProbe: grad, hitsPair: hitsPair, hitsInstance: hitsInstance, writes: writes)
    }

    /// The K dual slots of a pass and their bank-1 rows (K, D): cos₁ differs from cos₀ only
    /// in these columns.
    private struct DualColumns {
        let slots: [Int]
        let rows: [Float]
        init(slots: [Int], pool: ClassPool) {
            let d = pool.featureDim
            self.slots = slots
            var rows = [Float](repeating: 0, count: slots.count * d)
            for (i, s) in slots.enumerated() {
                rows.replaceSubrange(i * d..<(i + 1) * d, with: pool.bank1[s * d..<(s + 1) * d])
            }
            self.rows = rows
        }
    }

    /// cos₀ = P·bank0ᵀ into `logits` (B', Q), and returns cos₁ at the dual columns (B', K).
    private func cosines(probe: [Float], rows: Int, dual: DualColumns) -> [Float] {
        let (d, q, k) = (pool.featureDim, pool.capacity, dual.slots.count)
        if logits.count != rows * q { logits = [Float](repeating: 0, count: rows * q) }
        var dualCos = [Float](repeating: 0, count: rows * k)
        probe.withUnsafeBufferPointer { p in
            pool.bank0.withUnsafeBufferPointer { b0 in
                logits.withUnsafeMutableBufferPointer { c in
                    HeadBLAS.gemmABt(
                        m: rows, n: q, k: d, a: p.baseAddress!, b: b0.baseAddress!, c: c.baseAddress!)
                }
            }
            dual.rows.withUnsafeBufferPointer { w in
                dualCos.withUnsafeMutableBufferPointer { c in
                    HeadBLAS.gemmABt(
                        m: rows, n: k, k: d, a: p.baseAddress!, b: w.baseAddress!, c: c.baseAddress!)
                }
            }
        }
        return dualCos
    }

    /// Each row's margin and outlier loss over cos₀ and cos₁; overwrites `logits` with
    /// dLoss/dcos₀ (plus cos₁'s part at non-dual columns) and `dualCos` with dLoss/dcos₁ at
    /// the dual columns. Workers split the rows; the losses stay per row.
    private func rowLosses(
        targets: [Int], dual: [Int], dualCos: inout [Float]
    ) -> [(margin: Double, outlier: Double)] {
        let (rows, q, k) = (targets.count, pool.capacity, dual.count)
        let inPool = targets.filter { $0 >= 0 }.count
        let outliers = rows - inPool
        let hardK = MarginLoss.hardNegativeCount(poolSize: q)
        // Data parallel: the means are over every rank's rows (the ranks' gradients are then
        // averaged, hence the factor R), so R ranks of B/R rows give one process's loss of B.
        var counts = [Double(inPool), Double(outliers)]
        let ranks = communicator?.size ?? 1
        if ranks > 1 { communicator?.allReduceSum(&counts) }
        let ceWeight: Float = counts[0] == 0 ? 0 : Float(ranks) / Float(counts[0])
        let negWeight: Float = counts[1] == 0 ? 0 : Float(ranks) / Float(counts[1] * Double(hardK))
        let lossFn = loss
        // Each row's loss goes to its own slot and the slots are summed in row order, so the
        // total does not depend on how many workers split the rows.
        let workers = max(1, min(BLAS.threads, rows))
        var rowLoss = [(margin: Double, outlier: Double)](repeating: (0, 0), count: rows)
        logits.withUnsafeMutableBufferPointer { lg in
            dualCos.withUnsafeMutableBufferPointer { dc in
                rowLoss.withUnsafeMutableBufferPointer { part in
                    let lgShared = RowsPointer(base: lg.baseAddress!)
                    let dcShared = RowsPointer(base: dc.baseAddress!)
                    let partShared = RowsPointer(base: part.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                        let lgBase = lgShared.base
                        let dcBase = dcShared.base
                        let rowCos = UnsafeMutablePointer<Float>.allocate(capacity: q)
                        let rowGrad = UnsafeMutablePointer<Float>.allocate(capacity: q)
                        var saved = [Float](repeating: 0, count: k)
                        defer {
                            rowCos.deallocate()
                            rowGrad.deallocate()
                        }
                        for i in stride(from: w, to: rows, by: workers) {
                            var margin: Double = 0
                            var outlier: Double = 0
                            let g = lgBase + i * q
                            let dRow = dcBase + i * k
                            let t = targets[i]
                            rowCos.update(from: g, count: q)
                            // cos₀: gradient straight into the buffer row.
                            if t >= 0 {
                                margin += lossFn.crossEntropyRow(
                                    cos: rowCos, n: q, t: t, rowWeight: ceWeight, grad: g)
                            } else {
                                outlier += MarginLoss.hardNegativeRow(
                                    cos: rowCos, n: q, k: hardK, weight: negWeight, grad: g)
                            }
                            // cos₁: bank 1 at dual columns; its gradient there goes to the dual matrix.
                            for (j, s) in dual.enumerated() { rowCos[s] = dRow[j] }
                            if t >= 0 {
                                margin += lossFn.crossEntropyRow(
                                    cos: rowCos, n: q, t: t, rowWeight: ceWeight, grad: rowGrad)
                            } else {
                                outlier += MarginLoss.hardNegativeRow(
                                    cos: rowCos, n: q, k: hardK, weight: negWeight, grad: rowGrad)
                            }
                            for (j, s) in dual.enumerated() { saved[j] = g[s] }
                            for j in 0..<q { g[j] += rowGrad[j] }
                            for (j, s) in dual.enumerated() {
                                g[s] = saved[j]
                                dRow[j] = rowGrad[s]
                            }
                            partShared.base[i] = (margin * Double(ceWeight), outlier)
                        }
                    }
                }
            }
        }
        return rowLoss
    }

    /// dLoss/dP (B', D) = dcos₀·bank0 + dcos₁·W, W = bank0 except bank-1 rows at dual slots.
    private func probeGradient(rows: Int, dual: DualColumns, dualCos: [Float]) -> [Float] {
        let (d, q, k) = (pool.featureDim, pool.capacity, dual.slots.count)
        var grad = [Float](repeating: 0, count: rows * d)
        grad.withUnsafeMutableBufferPointer { gp in
            logits.withUnsafeBufferPointer { lg in
                pool.bank0.withUnsafeBufferPointer { b0 in
                    HeadBLAS.gemmAB(
                        m: rows, n: d, k: q, a: lg.baseAddress!, b: b0.baseAddress!, c: gp.baseAddress!)
                }
            }
            dualCos.withUnsafeBufferPointer { dc in
                dual.rows.withUnsafeBufferPointer { w in
                    HeadBLAS.gemmAB(
                        m: rows, n: d, k: k, a: dc.baseAddress!, b: w.baseAddress!, beta: 1, c: gp.baseAddress!)
                }
            }
        }
        return grad
    }

    /// One FFC step on given features (the gallery EMA is the trainer's): pass 1 writes G(y)
    /// journaled, computes the loss of P(x), and rolls back; pass 2 writes G(x), computes the
    /// loss of P(y), and keeps its writes. Each batch holds 1.5·B rows; the first `pairRows`
    /// (= B) are the identity-pair part.
    public func ffcStep(
        probeX: [Float], galleryY: [Float], labelsX: [Int], labelsY: [Int], probeY: [Float],
        galleryX: [Float],
        step: Int, pairRows: Int, galleryLabelsX: [Int]? = nil, galleryLabelsY: [Int]? = nil
    ) -> FFCStepResult {
        let first = rollbackPass(
            probe: probeX, probeLabels: labelsX, gallery: galleryY, galleryLabels: galleryLabelsY ?? labelsY,
            step: step, pairRows: pairRows)
        let second = keptPass(
            probe: probeY, probeLabels: labelsY, gallery: galleryX, galleryLabels: galleryLabelsX ?? labelsX,
            step: step, pairRows: pairRows)
        let pairTotal = 2 * min(pairRows, labelsX.count)
        let instanceTotal = 2 * labelsX.count - pairTotal
        return FFCStepResult(
            pass1: first, pass2: second,
            hitRatePair: pairTotal == 0
                ? 0 : Double(first.hitsPair + second.hitsPair) / Double(pairTotal),
            hitRateInstance: instanceTotal == 0
                ? 0 : Double(first.hitsInstance + second.hitsInstance) / Double(instanceTotal))
    }
}

/// A buffer whose rows the loss workers split among themselves (worker w owns rows w, w+W, …),
/// so sharing the pointer across threads never shares an element.
struct RowsPointer<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
}
