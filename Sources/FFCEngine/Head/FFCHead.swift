// Head: the FFC loss on the Dynamic Class Pool and the symmetric two-pass step (DESIGN §1).
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

    public init(pool: ClassPool, loss: MarginLoss) {
        self.pool = pool
        self.loss = loss
    }

    /// Bytes the head holds: both banks, slot bookkeeping, LRU estimate and the logits buffer.
    public var residentBytes: Int {
        pool.capacity * ClassPool.bytesPerSlot(featureDim: pool.featureDim, probeRows: 0) + logits.count
            * 4
    }

    /// One pass: write `gallery` (rows of identities `galleryLabels`) into the pool — journaled
    /// when `keep` is false, then rolled back after the loss — and compute the loss of
    /// `probe` (B'×D unit rows, identities `probeLabels`) against it, with its gradient.
    /// Rows below `pairRows` count as the identity-pair part for the hit rate.
    public func pass(
        probe: [Float], probeLabels: [Int], gallery: [Float], galleryLabels: [Int], step: Int,
        keep: Bool,
        pairRows: Int
    ) -> FFCPassResult {
        let d = pool.featureDim
        let rows = probeLabels.count
        precondition(probe.count == rows * d, "probe features are not B'×D")
        let writes = pool.write(features: gallery, labels: galleryLabels, step: step, journaled: !keep)
        let q = pool.capacity
        let targets = probeLabels.map { pool.lru.view($0) ?? -1 }
        var hitsPair = 0
        var hitsInstance = 0
        for (i, t) in targets.enumerated() where t >= 0 {
            if i < pairRows { hitsPair += 1 } else { hitsInstance += 1 }
        }
        let dual = writes.dualSlots
        let k = dual.count
        // (K, D) bank-1 rows of the dual slots: cos₁ differs from cos₀ only in these columns.
        var dualRows = [Float](repeating: 0, count: k * d)
        for (i, s) in dual.enumerated() {
            dualRows.replaceSubrange(i * d..<(i + 1) * d, with: pool.bank1[s * d..<(s + 1) * d])
        }
        if logits.count != rows * q { logits = [Float](repeating: 0, count: rows * q) }
        // (B', K) cos₁ at dual columns, later its gradient.
        var dualCos = [Float](repeating: 0, count: rows * k)
        probe.withUnsafeBufferPointer { p in
            pool.bank0.withUnsafeBufferPointer { b0 in
                logits.withUnsafeMutableBufferPointer { c in
                    HeadBLAS.gemmABt(
                        m: rows, n: q, k: d, a: p.baseAddress!, b: b0.baseAddress!, c: c.baseAddress!)
                }
            }
            dualRows.withUnsafeBufferPointer { w in
                dualCos.withUnsafeMutableBufferPointer { c in
                    HeadBLAS.gemmABt(
                        m: rows, n: k, k: d, a: p.baseAddress!, b: w.baseAddress!, c: c.baseAddress!)
                }
            }
        }
        let inPool = targets.filter { $0 >= 0 }.count
        let outliers = rows - inPool
        let hardK = MarginLoss.hardNegativeCount(poolSize: q)
        let ceWeight: Float = inPool == 0 ? 0 : 1 / Float(inPool)
        let negWeight: Float = outliers == 0 ? 0 : 1 / Float(outliers * hardK)
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
        // dLoss/dp = dcos₀·bank0 + dcos₁·W, W = bank0 except bank-1 rows at dual slots.
        var grad = [Float](repeating: 0, count: rows * d)
        grad.withUnsafeMutableBufferPointer { gp in
            logits.withUnsafeBufferPointer { lg in
                pool.bank0.withUnsafeBufferPointer { b0 in
                    HeadBLAS.gemmAB(
                        m: rows, n: d, k: q, a: lg.baseAddress!, b: b0.baseAddress!, c: gp.baseAddress!)
                }
            }
            dualCos.withUnsafeBufferPointer { dc in
                dualRows.withUnsafeBufferPointer { w in
                    HeadBLAS.gemmAB(
                        m: rows, n: d, k: k, a: dc.baseAddress!, b: w.baseAddress!, beta: 1, c: gp.baseAddress!)
                }
            }
        }
        if !keep { pool.rollback() }
        pool._checkInvariants()
        return FFCPassResult(
            lossMargin: rowLoss.reduce(0) { $0 + $1.margin },
            lossOutlier: rowLoss.reduce(0) { $0 + $1.outlier },
            gradProbe: grad, hitsPair: hitsPair, hitsInstance: hitsInstance, writes: writes)
    }

    /// One FFC step on given features (the gallery EMA is the trainer's): pass 1 writes G(y)
    /// journaled, computes the loss of P(x), and rolls back; pass 2 writes G(x), computes the
    /// loss of P(y), and keeps its writes. Each batch holds 1.5·B rows; the first `pairRows`
    /// (= B) are the identity-pair part.
    public func ffcStep(
        probeX: [Float], galleryY: [Float], labelsX: [Int], labelsY: [Int], probeY: [Float],
        galleryX: [Float],
        step: Int, pairRows: Int
    ) -> FFCStepResult {
        let first = pass(
            probe: probeX, probeLabels: labelsX, gallery: galleryY, galleryLabels: labelsY, step: step,
            keep: false,
            pairRows: pairRows)
        let second = pass(
            probe: probeY, probeLabels: labelsY, gallery: galleryX, galleryLabels: labelsX, step: step,
            keep: true,
            pairRows: pairRows)
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
