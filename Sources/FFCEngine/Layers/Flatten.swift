// Flatten: (N, H, W, C) → (N, H·W·C) as a view, no copy. The feature order is (h, w, c);
// PyTorch flattens NCHW as (c, h, w), which is why a Linear after Flatten needs its columns
// permuted when weights move between the two.
import Foundation

public final class Flatten: Layer {
    private var inputShape: [Int] = []

    public init() {}

    public var summary: String { "Flatten" }
    public func outputShape(_ input: [Int]) -> [Int] { [input[0], input.dropFirst().reduce(1, *)] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        inputShape = x.shape
        return Tensor(viewing: x, shape: outputShape(x.shape))
    }

    public func backward(_ dy: Tensor) -> Tensor { Tensor(viewing: dy, shape: inputShape) }

    public func takeSaved() -> SavedActivations? { inputShape }
    public func restoreSaved(_ saved: SavedActivations?) { inputShape = saved as? [Int] ?? [] }
}
