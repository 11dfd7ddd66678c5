// PReLU: y = x for x > 0, a_c·x otherwise, one learnt slope per channel (init 0.25 as in
// PyTorch); ReLU is the slope-free case.
import Foundation

public final class PReLU: Layer {
    public let channels: Int
    public let slope: Parameter  // (C)

    private var input: Tensor?
    private var output: Tensor?
    private var inputGrad: Tensor?

    public init(_ channels: Int) {
        self.channels = channels
        slope = Parameter(shape: [channels], role: .preluSlope)
        slope.value.fill(0.25)
    }

    public var parameters: [NamedParameter] { [NamedParameter(name: "weight", parameter: slope)] }
    public var summary: String { "PReLU \(channels)" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.last == channels, "\(summary) got input \(x.shape)")
        input = x
        let y = Tensor.reuse(&output, shape: x.shape)
        let c = channels
        let rows = x.count / c
        let a = UnsafePointer(slope.value.pointer)
        let (from, to) = (UnsafePointer(x.pointer), y.pointer)
        Parallel.forRanges(rows, costPerItem: c) { rowRange in
            for r in rowRange {
                let src = from + r * c
                let dst = to + r * c
                for ch in 0..<c { dst[ch] = src[ch] > 0 ? src[ch] : a[ch] * src[ch] }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let dx = Tensor.reuse(&inputGrad, shape: x.shape)
        let c = channels
        let rows = x.count / c
        let a = UnsafePointer(slope.value.pointer)
        let da = slope.grad.pointer
        let (from, grads, to) = (UnsafePointer(x.pointer), UnsafePointer(dy.pointer), dx.pointer)
        // Channel split: each worker owns its slopes' gradient sums.
        Parallel.forRanges(c, costPerItem: rows) { chs in
            for r in 0..<rows {
                let src = from + r * c
                let g = grads + r * c
                let dst = to + r * c
                for ch in chs {
                    let negative = src[ch] > 0 ? 0 : src[ch]
                    dst[ch] = src[ch] > 0 ? g[ch] : a[ch] * g[ch]
                    da[ch] += g[ch] * negative
                }
            }
        }
        return dx
    }
}

public final class ReLU: Layer {
    private var input: Tensor?
    private var output: Tensor?
    private var inputGrad: Tensor?

    public init() {}

    public var summary: String { "ReLU" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        input = x
        let y = Tensor.reuse(&output, shape: x.shape)
        for i in 0..<x.count { y[i] = max(x[i], 0) }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("ReLU: backward before forward") }
        let dx = Tensor.reuse(&inputGrad, shape: x.shape)
        for i in 0..<x.count { dx[i] = x[i] > 0 ? dy[i] : 0 }
        return dx
    }
}
