// L2Normalize: each row of (N, D) divided by its Euclidean norm (floored at 1e-12 as in
// torch.nn.functional.normalize), so every feature is a unit vector.
import Foundation

public final class L2Normalize: Layer {
    public static let epsilon: Float = 1e-12
    private var output: Tensor?  // (N, D)
    private var inputGrad: Tensor?  // (N, D)
    private var norms: [Float] = []  // (N)

    public init() {}

    public var summary: String { "L2Normalize" }
    public func outputShape(_ input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 2, "L2Normalize expects (N, D), got \(x.shape)")
        let (n, d) = (x.shape[0], x.shape[1])
        let y = Tensor.reuse(&output, shape: x.shape)
        if norms.count != n { norms = [Float](repeating: 0, count: n) }
        for r in 0..<n {
            let row = x.pointer + r * d
            var s: Float = 0
            for j in 0..<d { s += row[j] * row[j] }
            norms[r] = max(s.squareRoot(), L2Normalize.epsilon)
            let inv = 1 / norms[r]
            for j in 0..<d { y.pointer[r * d + j] = row[j] * inv }
        }
        return y
    }

    /// dx = (dy − y·(y·dy)) / ‖x‖ per row.
    public func backward(_ dy: Tensor) -> Tensor {
        guard let y = output else { preconditionFailure("L2Normalize: backward before forward") }
        let (n, d) = (y.shape[0], y.shape[1])
        let dx = Tensor.reuse(&inputGrad, shape: y.shape)
        for r in 0..<n {
            let yr = y.pointer + r * d
            let gr = dy.pointer + r * d
            var dot: Float = 0
            for j in 0..<d { dot += yr[j] * gr[j] }
            let inv = 1 / norms[r]
            for j in 0..<d { dx.pointer[r * d + j] = (gr[j] - yr[j] * dot) * inv }
        }
        return dx
    }
}
