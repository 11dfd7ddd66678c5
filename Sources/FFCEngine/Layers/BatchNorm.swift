// BatchNorm: batch normalisation over every axis but the last (channels), so one type is
// PyTorch's BatchNorm2d on (N, H, W, C) and BatchNorm1d on (N, C). Training normalises with
// the batch's biased variance and updates running statistics with momentum 0.1 and the
// unbiased variance, as PyTorch does; eval normalises with the running statistics.
//
// Speed: every pass runs along the rows of C contiguous floats, eight channels per SIMD
// step (the C kernels of CChannelKernels, AVX2 where the CPU has it), with workers
// splitting the rows (per-worker partial sums, see ChannelSums). The forward pass reads x
// twice (moments, then y = a·x + b); backward reads x and dy twice (two sums, then
// dx = k·dy + u·x + v). A PReLU that directly follows can ride along in
// the same passes (`forward(_:training:then:)`, used by Sequential): its input a·x + b is
// recomputed from x instead of being stored and read back.
import CChannelKernels
import Foundation

public final class BatchNorm: Layer {
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float
    public let scale: Parameter  // (C) γ
    public let shift: Parameter  // (C) β
    public let runningMean: Tensor  // (C)
    public let runningVariance: Tensor  // (C)

    private var input: Tensor?
    private var usedBatchStatistics = false
    /// The PReLU the last forward applied after normalising, if any.
    private var fusedPReLU: PReLU?
    private let mean: UnsafeMutablePointer<Float>  // (C) statistics the last forward used
    private let inverseStd: UnsafeMutablePointer<Float>  // (C)
    private let origin: UnsafeMutablePointer<Float>  // (C) first row: moments are taken around it
    private let work: UnsafeMutablePointer<Float>  // (5, C) a, b of y = a·x + b; k, u, v of dx
    private let moments: ChannelSums  // Σ(x − origin), Σ(x − origin)²
    private let gradientSums: ChannelSums  // Σdz, Σdz·(x − mean), Σdy·min(z, 0) (PReLU slope)
    /// Synchronised batch norm (`--sync-bn`): training statistics and the backward's two sums
    /// over every rank's rows, so R ranks of B/R rows normalise as one process of B would.
    var synchronizer: (any Communicator)?
    /// Rows the last training statistics were taken over (every rank's with a synchronizer).
    private var statisticsRows = 0

    public init(_ channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        scale = Parameter(shape: [channels], role: .normScale)
        shift = Parameter(shape: [channels], role: .normShift)
        scale.value.fill(1)
        runningMean = Tensor(shape: [channels])
        runningVariance = Tensor(shape: [channels])
        runningVariance.fill(1)
        mean = .allocate(capacity: channels)
        inverseStd = .allocate(capacity: channels)
        origin = .allocate(capacity: channels)
        work = .allocate(capacity: 5 * channels)
        moments = ChannelSums(channels: channels, sums: 2)
        gradientSums = ChannelSums(channels: channels, sums: 3)
    }

    deinit {
        mean.deallocate()
        inverseStd.deallocate()
        origin.deallocate()
        work.deallocate()
    }

    public var parameters: [NamedParameter] {
        [NamedParameter(name: "weight", parameter: scale), NamedParameter(name: "bias", parameter: shift)]
    }

    public var buffers: [NamedBuffer] {
        [
            NamedBuffer(name: "running_mean", tensor: runningMean),
            NamedBuffer(name: "running_var", tensor: runningVariance),
        ]
    }

    public var summary: String { "BatchNorm \(channels)" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    /// One forward's kept state: its input, how it normalised (mean, 1/σ, then a and b of
    /// y = a·x + b, C floats each; the rows of synchronised statistics) and the PReLU it fused.
    private struct Saved {
        var input: Tensor
        var usedBatchStatistics: Bool
        var fusedPReLU: PReLU?
        var statisticsRows: Int
        var statistics: [Float]  // (4, C)
    }

    public func takeSaved() -> SavedActivations? {
        guard let input else { return nil }
        defer { self.input = nil }
        let c = channels
        var statistics = [Float](repeating: 0, count: 4 * c)
        statistics.withUnsafeMutableBufferPointer { s in
            s.baseAddress!.update(from: mean, count: c)
            (s.baseAddress! + c).update(from: inverseStd, count: c)
            (s.baseAddress! + 2 * c).update(from: work, count: 2 * c)
        }
        return Saved(
            input: input, usedBatchStatistics: usedBatchStatistics, fusedPReLU: fusedPReLU,
            statisticsRows: statisticsRows,
            statistics: statistics)
    }

    public func restoreSaved(_ saved: SavedActivations?) {
        guard let saved = saved as? Saved else {
            input = nil
            return
        }
        let c = channels
        input = saved.input
        usedBatchStatistics = saved.usedBatchStatistics
        fusedPReLU = saved.fusedPReLU
        statisticsRows = saved.statisticsRows
        saved.statistics.withUnsafeBufferPointer { s in
            mean.update(from: s.baseAddress!, count: c)
            inverseStd.update(from: s.baseAddress! + c, count: c)
            work.update(from: s.baseAddress! + 2 * c, count: 2 * c)
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor { forward(x, training: training, then: nil) }

    public func backward(_ dy: Tensor) -> Tensor { backward(dy, through: nil) }

    /// Batch norm, then `prelu` when given (its slopes, not its buffers, are used): one
    /// pass over x after the statistics. Pair with `backward(_:through:)` and the same PReLU.
    func forward(_ x: Tensor, training: Bool, then prelu: PReLU?) -> Tensor {
        precondition(x.shape.last == channels, "\(summary) got input \(x.shape)")
        precondition(prelu == nil || prelu!.channels == channels, "\(summary) followed by \(prelu!.summary)")
        input = x
        usedBatchStatistics = training
        fusedPReLU = prelu
        let y = Tensor(pooled: x.shape)
        let c = channels
        let rows = x.count / c
        if training {
            precondition(rows > 1, "\(summary): batch statistics need more than one value per channel")
            measureBatchStatistics(x, rows: rows)
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean[ch]
                inverseStd[ch] = 1 / (runningVariance[ch] + epsilon).squareRoot()
            }
        }
        let (a, b) = (work, work + c)
        for ch in 0..<c {
            a[ch] = scale.value[ch] * inverseStd[ch]
            b[ch] = shift.value[ch] - mean[ch] * a[ch]
        }
        let (src, dst) = (UnsafePointer(x.pointer), y.pointer)
        let (aIn, bIn) = (UnsafePointer(a), UnsafePointer(b))
        let slopes = prelu.map { UnsafePointer($0.slope.value.pointer) }
        Parallel.forRanges(rows, costPerItem: c) { range in
            let first = range.lowerBound * c
            ffc_bn_apply(src + first, dst + first, range.count, c, aIn, bIn, slopes)
        }
        return y
    }

    /// Mean, inverse standard deviation and the running statistics' update from the batch.
    /// Moments are taken around the first row, so E[d²] − E[d]² does not cancel when the
    /// mean is large against the spread.
    private func measureBatchStatistics(_ x: Tensor, rows: Int) {
        let c = channels
        let src = UnsafePointer(x.pointer)
        origin.update(from: x.pointer, count: c)
        let sync = synchronizer.flatMap { $0.size > 1 ? $0 : nil }
        // Every rank takes its moments around rank 0's first row, so they add up.
        if let sync { sync.broadcast(UnsafeMutableRawBufferPointer(start: origin, count: c * 4), root: 0) }
        let center = UnsafePointer(origin)
        moments.accumulate(rows: rows, costPerRow: c) { range, block in
            ffc_bn_moments(src + range.lowerBound * c, range.count, c, center, block, block + c)
        }
        // (2C + 1): Σd, Σd² per channel, then the row count; summed over ranks when synchronised.
        var totals = (0..<c).map { moments.total(0, $0) } + (0..<c).map { moments.total(1, $0) } + [Double(rows)]
        sync?.allReduceSum(&totals)
        let m = totals[2 * c]
        statisticsRows = Int(m)
        for ch in 0..<c {
            let meanShift = totals[ch] / m
            let variance = max(0, totals[c + ch] / m - meanShift * meanShift)
            let batchMean = Double(origin[ch]) + meanShift
            mean[ch] = Float(batchMean)
            inverseStd[ch] = Float(1 / (variance + Double(epsilon)).squareRoot())
            let unbiased = Float(variance * m / (m - 1))
            runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * Float(batchMean)
            runningVariance[ch] = (1 - momentum) * runningVariance[ch] + momentum * unbiased
        }
    }

    /// Backward of `forward(_:training:then:)` with the same PReLU (nil: batch norm alone):
    /// accumulates γ, β (and the slopes') gradients, returns dx.
    func backward(_ dy: Tensor, through prelu: PReLU?) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        precondition(prelu === fusedPReLU, "\(summary): backward through another activation than forward")
        let dx = Tensor(pooled: x.shape)
        input = nil
        let c = channels
        let rows = x.count / c
        let (src, grads, dst) = (UnsafePointer(x.pointer), UnsafePointer(dy.pointer), dx.pointer)
        let (a, b) = (UnsafePointer(work), UnsafePointer(work + c))
        let center = UnsafePointer(mean)
        let slopes = prelu.map { UnsafePointer($0.slope.value.pointer) }
        // dz, the gradient at the batch norm's output, is dy through the PReLU when fused.
        gradientSums.accumulate(rows: rows, costPerRow: 2 * c) { range, block in
            let first = range.lowerBound * c
            ffc_bn_grad_sums(
                src + first, grads + first, range.count, c, a, b, slopes, center, block, block + c, block + 2 * c)
        }
        let (k, u, v) = (work + 2 * c, work + 3 * c, work + 4 * c)
        // γ and β take this rank's sums (the ranks' parameter gradients are averaged later);
        // dx takes the sums over every rank's rows when the statistics were synchronised.
        var sums = (0..<c).map { gradientSums.total(0, $0) } + (0..<c).map { gradientSums.total(1, $0) }
        let localSums = sums
        var m = Double(rows)
        if usedBatchStatistics, let sync = synchronizer, sync.size > 1 {
            sync.allReduceSum(&sums)
            m = Double(statisticsRows)
        }
        for ch in 0..<c {
            scale.grad[ch] += Float(localSums[c + ch] * Double(inverseStd[ch]))
            shift.grad[ch] += Float(localSums[ch])
            let sumGrad = sums[ch]
            let sumGradXhat = sums[c + ch] * Double(inverseStd[ch])
            if let prelu { prelu.slope.grad[ch] += Float(gradientSums.total(2, ch)) }
            k[ch] = scale.value[ch] * inverseStd[ch]
            if usedBatchStatistics {
                // dx = k·(dz − Σdz/M − x̂·Σ(dz·x̂)/M) = k·dz + u·(x − mean) + v. Centring x
                // first matters: u·x + v' with v' holding u·mean cancels when the mean is
                // large against the spread (15× PyTorch's float32 error on mobilefacenet).
                let meanGrad = Float(sumGrad / m)
                let meanGradXhat = Float(sumGradXhat / m)
                u[ch] = -k[ch] * inverseStd[ch] * meanGradXhat
                v[ch] = -k[ch] * meanGrad
            } else {
                u[ch] = 0
                v[ch] = 0
            }
        }
        let (kIn, uIn, vIn) = (UnsafePointer(k), UnsafePointer(u), UnsafePointer(v))
        Parallel.forRanges(rows, costPerItem: 2 * c) { range in
            let first = range.lowerBound * c
            ffc_bn_input_grad(
                src + first, grads + first, dst + first, range.count, c, a, b, slopes, center, kIn, uIn, vIn)
        }
        return dx
    }
}
