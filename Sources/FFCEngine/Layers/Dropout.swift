// Dropout: in training, zero each value with probability p and scale survivors by 1/(1−p);
// identity in eval and when p = 0 (arcface_torch's default for the IResNets). Masks come
// from the layer's own seeded generator, so runs are reproducible.
import Foundation

public final class Dropout: Layer {
    public let probability: Float
    private var generator: SeededRandom
    private var mask: Tensor?  // like input: 0 or 1/(1−p)
    private var output: Tensor?
    private var inputGrad: Tensor?
    private var masked = false

    public init(_ probability: Float, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) is not in [0, 1)")
        self.probability = probability
        generator = SeededRandom(seed: seed)
    }

    public var summary: String { "Dropout p=\(probability)" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        masked = training && probability > 0
        guard masked else { return x }
        let m = Tensor.reuse(&mask, shape: x.shape)
        let y = Tensor.reuse(&output, shape: x.shape)
        let keep = 1 / (1 - probability)
        for i in 0..<x.count {
            m[i] = generator.uniform(0, 1) < probability ? 0 : keep
            y[i] = x[i] * m[i]
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard masked, let m = mask else { return dy }
        let dx = Tensor.reuse(&inputGrad, shape: dy.shape)
        for i in 0..<dy.count { dx[i] = dy[i] * m[i] }
        return dx
    }
}
