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
        y.copy(from: x)
        for r in 0..<n { norms[r] = Self.normalizeRow(y.pointer + r * d, dim: d) }
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

extension L2Normalize {
    /// Scales one `dim`-float row to unit length in place and returns the norm it divided by
    /// (floored at `epsilon`, so a row of zeros stays zero): the engine's one row normalisation.
    @inline(__always)
    public static func normalizeRow(_ row: UnsafeMutablePointer<Float>, dim: Int) -> Float {
        var s: Float = 0
        for j in 0..<dim { s += row[j] * row[j] }
        let norm = max(s.squareRoot(), epsilon)
        let inv = 1 / norm
        for j in 0..<dim { row[j] *= inv }
        return norm
    }

    /// `normalizeRow` on every `dim`-float row of `v`. O(v.count).
    public static func normalizeRows(_ v: UnsafeMutableBufferPointer<Float>, dim: Int) {
        guard let base = v.baseAddress else { return }
        for r in 0..<(v.count / dim) { _ = normalizeRow(base + r * dim, dim: dim) }
    }

    public static func normalizeRows(_ x: inout [Float], dim: Int) {
        x.withUnsafeMutableBufferPointer { normalizeRows($0, dim: dim) }
    }
}
