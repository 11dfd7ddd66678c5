// BatchNorm: batch normalisation over every axis but the last (channels), so one type is
// PyTorch's BatchNorm2d on (N, H, W, C) and BatchNorm1d on (N, C). Training normalises with
// the batch's biased variance and updates running statistics with momentum 0.1 and the
// unbiased variance, as PyTorch does; eval normalises with the running statistics.
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
    private var output: Tensor?  // like input
    private var inputGrad: Tensor?  // like input
    private var usedBatchStatistics = false
    private let mean: UnsafeMutablePointer<Float>  // (C) statistics the last forward used
    private let inverseStd: UnsafeMutablePointer<Float>  // (C)
    private let sumA: UnsafeMutablePointer<Double>  // (C) per-channel accumulators
    private let sumB: UnsafeMutablePointer<Double>  // (C)
    private let work: UnsafeMutablePointer<Float>  // (3, C) per-channel affine coefficients

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
        sumA = .allocate(capacity: channels)
        sumB = .allocate(capacity: channels)
        work = .allocate(capacity: 3 * channels)
    }

    deinit {
        mean.deallocate()
        inverseStd.deallocate()
        sumA.deallocate()
        sumB.deallocate()
        work.deallocate()
    }

    public var parameters: [NamedParameter] {
        [NamedParameter(name: "weight", parameter: scale), NamedParameter(name: "bias", parameter: shift)]
    }

    public var buffers: [NamedBuffer] {
        [NamedBuffer(name: "running_mean", tensor: runningMean), NamedBuffer(name: "running_var", tensor: runningVariance)]
    }

    public var summary: String { "BatchNorm \(channels)" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.last == channels, "\(summary) got input \(x.shape)")
        input = x
        usedBatchStatistics = training
        let y = Tensor.reuse(&output, shape: x.shape)
        let c = channels
        let rows = x.count / c
        precondition(!training || rows > 1, "\(summary): batch statistics need more than one value per channel")
        let (src, dst) = (UnsafePointer(x.pointer), y.pointer)
        // Every step is per channel, so workers split the channels and never share a sum.
        Parallel.forRanges(c, costPerItem: 3 * rows) { chs in
            if training {
                for ch in chs { sumA[ch] = 0 }
                for r in 0..<rows {
                    let row = src + r * c
                    for ch in chs { sumA[ch] += Double(row[ch]) }
                }
                for ch in chs { mean[ch] = Float(sumA[ch] / Double(rows)) }
                for ch in chs { sumB[ch] = 0 }
                for r in 0..<rows {
                    let row = src + r * c
                    for ch in chs {
                        let d = Double(row[ch] - mean[ch])
                        sumB[ch] += d * d
                    }
                }
                for ch in chs {
                    let variance = sumB[ch] / Double(rows)
                    inverseStd[ch] = Float(1 / (variance + Double(epsilon)).squareRoot())
                    let unbiased = Float(sumB[ch] / Double(rows - 1))
                    runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean[ch]
                    runningVariance[ch] = (1 - momentum) * runningVariance[ch] + momentum * unbiased
                }
            } else {
                for ch in chs {
                    mean[ch] = runningMean[ch]
                    inverseStd[ch] = 1 / (runningVariance[ch] + epsilon).squareRoot()
                }
            }
            // y = x·a + b with a = γ·invstd, b = β − mean·a
            let (a, b) = (work, work + c)
            for ch in chs {
                a[ch] = scale.value[ch] * inverseStd[ch]
                b[ch] = shift.value[ch] - mean[ch] * a[ch]
            }
            for r in 0..<rows {
                let from = src + r * c
                let to = dst + r * c
                for ch in chs { to[ch] = from[ch] * a[ch] + b[ch] }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let dx = Tensor.reuse(&inputGrad, shape: x.shape)
        let c = channels
        let rows = x.count / c
        let (src, grads, dst) = (UnsafePointer(x.pointer), UnsafePointer(dy.pointer), dx.pointer)
        let batchStatistics = usedBatchStatistics
        Parallel.forRanges(c, costPerItem: 2 * rows) { chs in
            // sumA = Σ dy, sumB = Σ dy·x̂ per channel
            for ch in chs {
                sumA[ch] = 0
                sumB[ch] = 0
            }
            for r in 0..<rows {
                let g = grads + r * c
                let from = src + r * c
                for ch in chs {
                    let xhat = (from[ch] - mean[ch]) * inverseStd[ch]
                    sumA[ch] += Double(g[ch])
                    sumB[ch] += Double(g[ch] * xhat)
                }
            }
            let (k, u, v) = (work, work + c, work + 2 * c)
            for ch in chs {
                scale.grad[ch] += Float(sumB[ch])
                shift.grad[ch] += Float(sumA[ch])
                k[ch] = scale.value[ch] * inverseStd[ch]
                if batchStatistics {
                    // dx = k·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), expanded to dx = k·dy + u·x + v
                    let meanGrad = Float(sumA[ch] / Double(rows))
                    let meanGradXhat = Float(sumB[ch] / Double(rows))
                    u[ch] = -k[ch] * inverseStd[ch] * meanGradXhat
                    v[ch] = -k[ch] * meanGrad + k[ch] * inverseStd[ch] * meanGradXhat * mean[ch]
                } else {
                    u[ch] = 0
                    v[ch] = 0
                }
            }
            for r in 0..<rows {
                let g = grads + r * c
                let from = src + r * c
                let to = dst + r * c
                for ch in chs { to[ch] = k[ch] * g[ch] + u[ch] * from[ch] + v[ch] }
            }
        }
        return dx
    }
}
