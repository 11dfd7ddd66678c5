// Head: the baselines FFC is measured against — a full-FC margin softmax over all N
// identities and Partial FC (positive centres plus a random sample at rate r). Their memory
// grows with N (weights, momentum, gradient, logits); that is the point of the comparison.
// Legend: R = 2·B' probe rows per step (x and y halves together), N identities, S sampled
// classes, D feature dimension.
import Foundation

/// Margin-softmax head with an N×D weight matrix whose rows are kept unit length, trained by
/// SGD with momentum. With `sampleRate` < 1 it is Partial FC: each step uses the batch's
/// positive centres plus uniformly sampled other centres up to ⌈r·N⌉ columns, and only those
/// rows of the weights and momentum change.
public final class MarginFCHead: ClassificationHead {
    public let identities: Int
    public let featureDim: Int
    public let sampleRate: Double
    public var loss: MarginLoss
    public var momentum: Float
    /// (N, D) unit rows, and its momentum buffer.
    public private(set) var weights: [Float]
    private var velocity: [Float]
    /// (S, D) gradient of the used rows from the last `forwardBackward`, and which rows they are.
    private var rowGrad: [Float] = []
    private var usedRows: [Int] = []
    /// (R, S) logits, then their gradient.
    private var logits: [Float] = []
    private var random: SeededRandom
    private var sampledMark: [Bool]

    public var name: String { sampleRate < 1 ? "pfc" : "fc" }
    public var needsGallery: Bool { false }

    /// Bytes a head of this shape needs: weights, momentum and weight gradient of the used
    /// rows, plus the R×S logits — computed without allocating, for "does not fit" reports.
    public static func requiredBytes(
        identities n: Int, featureDim d: Int, probeRows r: Int, sampleRate: Double
    ) -> Double {
        let s = sampleRate < 1 ? (Double(n) * sampleRate).rounded(.up) : Double(n)
        return Double(n) * Double(d) * 4 * 2 + s * Double(d) * 4 + Double(r) * s * 4
    }

    public init(
        identities: Int, featureDim: Int, loss: MarginLoss, sampleRate: Double = 1,
        momentum: Float = 0.9, seed: UInt64
    ) {
        precondition(
            identities > 0 && featureDim > 0 && sampleRate > 0 && sampleRate <= 1, "bad head shape")
        self.identities = identities
        self.featureDim = featureDim
        self.sampleRate = sampleRate
        self.loss = loss
        self.momentum = momentum
        random = SeededRandom(seed: seed)
        weights = [Float](repeating: 0, count: identities * featureDim)
        velocity = [Float](repeating: 0, count: identities * featureDim)
        sampledMark = sampleRate < 1 ? [Bool](repeating: false, count: identities) : []
        var rng = random
        weights.withUnsafeMutableBufferPointer { w in
            for r in 0..<identities {
                let row = w.baseAddress! + r * featureDim
                for j in 0..<featureDim {
                    // Box–Muller: Gaussian coordinates give directions uniform on the sphere.
                    let u1 = max(rng.unit(), 1e-7)
                    let u2 = rng.unit()
                    row[j] = (-2 * log(u1)).squareRoot() * cos(2 * Float.pi * u2)
                }
                _ = L2Normalize.normalizeRow(row, dim: featureDim)
            }
        }
        random = rng
    }

    public var residentBytes: Int {
        (weights.count + velocity.count + rowGrad.count + logits.count) * 4 + sampledMark.count
    }

    /// The columns this step uses: all identities, or the positives plus a uniform sample.
    private func chooseRows(_ labels: [Int]) -> [Int] {
        guard sampleRate < 1 else { return Array(0..<identities) }
        let want = max(Int((Double(identities) * sampleRate).rounded(.up)), 1)
        var rows: [Int] = []
        for y in labels where !sampledMark[y] {
            sampledMark[y] = true
            rows.append(y)
        }
        while rows.count < want {
            let c = Int(random.next() % UInt64(identities))
            if !sampledMark[c] {
                sampledMark[c] = true
                rows.append(c)
            }
        }
        for c in rows { sampledMark[c] = false }
        return rows.sorted()
    }

    public func forwardBackward(_ batch: HeadBatch) -> HeadStepOutput {
        let d = featureDim
        let features = batch.probeX + batch.probeY
        let labels = batch.labelsX + batch.labelsY
        let r = labels.count
        usedRows = chooseRows(labels)
        let s = usedRows.count
        let full = s == identities
        var column = [Int: Int]()
        if !full { for (i, c) in usedRows.enumerated() { column[c] = i } }
        // (S, D) the used weight rows (the matrix itself for full FC).
        let used: [Float] = full ? weights : usedRows.flatMap { weights[$0 * d..<($0 + 1) * d] }
        if logits.count != r * s { logits = [Float](repeating: 0, count: r * s) }
        features.withUnsafeBufferPointer { f in
            used.withUnsafeBufferPointer { w in
                logits.withUnsafeMutableBufferPointer { c in
                    HeadBLAS.gemmABt(
                        m: r, n: s, k: d, a: f.baseAddress!, b: w.baseAddress!, c: c.baseAddress!)
                }
            }
        }
        var total: Double = 0
        let weight = 1 / Float(r)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: s)
        defer { scratch.deallocate() }
        logits.withUnsafeMutableBufferPointer { lg in
            for i in 0..<r {
                let row = lg.baseAddress! + i * s
                scratch.update(from: row, count: s)
                let t = full ? labels[i] : column[labels[i]]!
                total += loss.crossEntropyRow(cos: scratch, n: s, t: t, rowWeight: weight, grad: row)
            }
        }
        var gradFeatures = [Float](repeating: 0, count: r * d)
        if rowGrad.count != s * d { rowGrad = [Float](repeating: 0, count: s * d) }
        logits.withUnsafeBufferPointer { g in
            used.withUnsafeBufferPointer { w in
                gradFeatures.withUnsafeMutableBufferPointer { gf in
                    HeadBLAS.gemmAB(
                        m: r, n: d, k: s, a: g.baseAddress!, b: w.baseAddress!, c: gf.baseAddress!)
                }
            }
            features.withUnsafeBufferPointer { f in
                rowGrad.withUnsafeMutableBufferPointer { gw in
                    HeadBLAS.gemmAtB(
                        m: s, n: d, k: r, a: g.baseAddress!, b: f.baseAddress!, c: gw.baseAddress!)
                }
            }
        }
        let half = batch.probeX.count
        return HeadStepOutput(
            gradProbeX: Array(gradFeatures[..<half]), gradProbeY: Array(gradFeatures[half...]),
            lossMargin: total * Double(weight), lossOutlier: 0)
    }

    /// SGD with momentum on the rows used last step, with the gradient projected onto each
    /// row's tangent plane and the row renormalised (weight decay would be undone by the
    /// renormalisation, so none is applied).
    public func update(learningRate: Float) {
        let d = featureDim
        let mu = momentum
        weights.withUnsafeMutableBufferPointer { w in
            velocity.withUnsafeMutableBufferPointer { v in
                rowGrad.withUnsafeBufferPointer { g in
                    for (i, c) in usedRows.enumerated() {
                        let wr = w.baseAddress! + c * d
                        let vr = v.baseAddress! + c * d
                        let gr = g.baseAddress! + i * d
                        var radial: Float = 0
                        for j in 0..<d { radial += gr[j] * wr[j] }
                        for j in 0..<d {
                            let step = mu * vr[j] + gr[j] - radial * wr[j]
                            vr[j] = step
                            wr[j] -= learningRate * step
                        }
                        _ = L2Normalize.normalizeRow(wr, dim: d)
                    }
                }
            }
        }
    }

    /// `fc.weights`, `fc.velocity` (N, D) F32 and `fc.random` (1) I64, the sampler's state.
    public func exportState() -> [String: NamedTensor] {
        [
            "fc.weights": NamedTensor(floats: weights, shape: [identities, featureDim]),
            "fc.velocity": NamedTensor(floats: velocity, shape: [identities, featureDim]),
            "fc.random": NamedTensor(ints: [Int64(bitPattern: random.state)], shape: [1]),
        ]
    }

    public func restoreState(from file: SafeTensorsFile) throws {
        let w = try file.require("fc.weights")
        let v = try file.require("fc.velocity")
        let r = try file.require("fc.random")
        guard w.shape == [identities, featureDim], v.shape == w.shape, r.shape == [1] else {
            throw ClassPoolError.badState(
                reason:
                    "\(file.path): fc tensors have shape \(w.shape), the head is \(identities)×\(featureDim)")
        }
        weights = w.floats
        velocity = v.floats
        random = SeededRandom(seed: UInt64(bitPattern: r.ints[0]))
    }
}
