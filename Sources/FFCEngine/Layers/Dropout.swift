// Dropout: in training, zero each value with probability p and scale survivors by 1/(1−p);
// identity in eval and when p = 0 (arcface_torch's default for the IResNets). Masks come
// from the layer's own seeded generator, so runs are reproducible.
import Foundation

public final class Dropout: Layer {
    public let probability: Float
    private var generator: SeededRandom
    private var mask: Tensor?  // like input: 0 or 1/(1−p); nil when the forward did not mask

    public init(_ probability: Float, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) is not in [0, 1)")
        self.probability = probability
        generator = SeededRandom(seed: seed)
    }

    public var summary: String { "Dropout p=\(probability)" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    public func takeSaved() -> SavedActivations? {
        defer { mask = nil }
        return mask
    }

    public func restoreSaved(_ saved: SavedActivations?) { mask = saved as? Tensor }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        mask = nil
        guard training && probability > 0 else { return x }
        let m = Tensor(pooled: x.shape)
        mask = m
        let y = Tensor(pooled: x.shape)
        let keep = 1 / (1 - probability)
        for i in 0..<x.count {
            m[i] = generator.uniform(0, 1) < probability ? 0 : keep
            y[i] = x[i] * m[i]
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let m = mask else { return dy }
        mask = nil
        let dx = Tensor(pooled: dy.shape)
        for i in 0..<dy.count { dx[i] = dy[i] * m[i] }
        return dx
    }
}
