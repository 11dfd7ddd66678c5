// PReLU: y = x for x > 0, a_c·x otherwise, one learnt slope per channel (init 0.25 as in
// PyTorch); ReLU is the slope-free case. Both run along rows of C contiguous floats, eight
// channels per SIMD step (PReLU in CChannelKernels, AVX2 where the CPU has it; ReLU, bound by
// memory, in Swift), with workers splitting the rows; the slopes' gradient sums are per
// worker (ChannelSums). After a batch norm, Sequential runs PReLU inside the batch
// norm's passes instead (BatchNorm.forward(_:training:then:)).
import CChannelKernels
import Foundation

public final class PReLU: Layer {
    public let channels: Int
    public let slope: Parameter  // (C)

    private var input: Tensor?
    private let slopeSums: ChannelSums  // Σ dy·min(x, 0)

    public init(_ channels: Int) {
        self.channels = channels
        slope = Parameter(shape: [channels], role: .preluSlope)
        slope.value.fill(0.25)
        slopeSums = ChannelSums(channels: channels, sums: 1)
    }

    public var parameters: [NamedParameter] { [NamedParameter(name: "weight", parameter: slope)] }
    public var summary: String { "PReLU \(channels)" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    public func takeSaved() -> SavedActivations? {
        defer { input = nil }
        return input
    }

    public func restoreSaved(_ saved: SavedActivations?) { input = saved as? Tensor }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.last == channels, "\(summary) got input \(x.shape)")
        input = x
        let y = Tensor(pooled: x.shape)
        let c = channels
        let a = UnsafePointer(slope.value.pointer)
        let (src, dst) = (UnsafePointer(x.pointer), y.pointer)
        Parallel.forRanges(x.count / c, costPerItem: c) { range in
            let first = range.lowerBound * c
            ffc_prelu_forward(src + first, dst + first, range.count, c, a)
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let dx = Tensor(pooled: x.shape)
        input = nil
        let c = channels
        let a = UnsafePointer(slope.value.pointer)
        let (src, grads, dst) = (UnsafePointer(x.pointer), UnsafePointer(dy.pointer), dx.pointer)
        slopeSums.accumulate(rows: x.count / c, costPerRow: 2 * c) { range, sums in
            let first = range.lowerBound * c
            ffc_prelu_backward(src + first, grads + first, dst + first, range.count, c, a, sums)
        }
        for ch in 0..<c { slope.grad[ch] += Float(slopeSums.total(0, ch)) }
        return dx
    }
}

public final class ReLU: Layer {
    private var input: Tensor?

    public init() {}

    public var summary: String { "ReLU" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    public func takeSaved() -> SavedActivations? {
        defer { input = nil }
        return input
    }

    public func restoreSaved(_ saved: SavedActivations?) { input = saved as? Tensor }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        input = x
        let y = Tensor(pooled: x.shape)
        let (src, dst) = (UnsafePointer(x.pointer), y.pointer)
        // replacing(with:where:) compiles to a compare and blend; pointwiseMax did not.
        forEachLaneGroup(count: x.count) { i, width in
            let v = loadLanes(src + i, width)
            storeLanes(v.replacing(with: 0, where: v .<= 0), dst + i, width)
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("ReLU: backward before forward") }
        let dx = Tensor(pooled: x.shape)
        input = nil
        let (src, grads, dst) = (UnsafePointer(x.pointer), UnsafePointer(dy.pointer), dx.pointer)
        forEachLaneGroup(count: x.count) { i, width in
            let g = loadLanes(grads + i, width)
            storeLanes(g.replacing(with: 0, where: loadLanes(src + i, width) .<= 0), dst + i, width)
        }
        return dx
    }
}
