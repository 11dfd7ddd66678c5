// Linear: y = x·Wᵀ + b on (N, Cin) → (N, Cout); the weight is (Cout, Cin) as in PyTorch.
import Foundation

public final class Linear: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter  // (Cout, Cin)
    public let bias: Parameter?  // (Cout)

    private var input: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(shape: [outFeatures, inFeatures], role: .weight, fanIn: inFeatures)
        self.bias = bias ? Parameter(shape: [outFeatures], role: .bias, fanIn: inFeatures) : nil
    }

    public var parameters: [NamedParameter] {
        [NamedParameter(name: "weight", parameter: weight)]
            + (bias.map { [NamedParameter(name: "bias", parameter: $0)] } ?? [])
    }

    public var summary: String { "Linear \(inFeatures)→\(outFeatures)" + (bias == nil ? " (no bias)" : "") }
    public func takeSaved() -> SavedActivations? {
        defer { input = nil }
        return input
    }

    public func restoreSaved(_ saved: SavedActivations?) { input = saved as? Tensor }

    public func outputShape(_ input: [Int]) -> [Int] { [input[0], outFeatures] }
    public func multiplyAdds(_ input: [Int]) -> Int { input[0] * inFeatures * outFeatures }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 2 && x.shape[1] == inFeatures, "\(summary) got input \(x.shape)")
        input = x
        let n = x.shape[0]
        let y = Tensor(pooled: [n, outFeatures])
        BLAS.sgemm(
            transB: true, m: n, n: outFeatures, k: inFeatures, a: x.pointer, b: weight.value.pointer, c: y.pointer)
        if let bias {
            for r in 0..<n {
                let row = y.pointer + r * outFeatures
                for j in 0..<outFeatures { row[j] += bias.value[j] }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let n = x.shape[0]
        let dx = Tensor(pooled: x.shape)
        input = nil
        BLAS.sgemm(
            transA: true, m: outFeatures, n: inFeatures, k: n,
            a: dy.pointer, b: x.pointer, beta: 1, c: weight.grad.pointer)
        BLAS.sgemm(m: n, n: inFeatures, k: outFeatures, a: dy.pointer, b: weight.value.pointer, c: dx.pointer)
        if let bias {
            for r in 0..<n {
                let row = dy.pointer + r * outFeatures
                for j in 0..<outFeatures { bias.grad[j] += row[j] }
            }
        }
        return dx
    }
}
