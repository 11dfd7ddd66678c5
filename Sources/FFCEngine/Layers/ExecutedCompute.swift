// ExecutedCompute: the multiply-adds a net's layers actually ran, counted as they run
// (Sequential adds each leaf layer's `multiplyAdds` for the shape it was given), so a step's
// compute can be held to the model's count × the images it should have forwarded: a second
// forward of a batch, or a layer run twice, shows up as a ratio above 1.
//
// Backward is its own count: a layer's backward costs its forward's multiply-adds once per
// gradient it computes — the weight gradient and the input gradient for convolutions and
// linear layers (2×), the weight gradient alone for a first convolution that skips dX (1×).
// Layers without multiply-adds (batch norm, PReLU, adds) count 0 both ways, as in `ffc model info`.
import Foundation

public final class ExecutedCompute {
    /// Multiply-adds run by forwards since the last `reset`.
    public private(set) var forward = 0
    /// Multiply-adds run by backwards since the last `reset`.
    public private(set) var backward = 0

    public init() {}

    public func reset() { (forward, backward) = (0, 0) }

    func countForward(_ layer: any Layer, input: [Int]) {
        guard !(layer is Sequential), !(layer is Residual) else { return }
        forward += layer.multiplyAdds(input)
    }

    /// `input` is the shape of the layer's input (that of the dx it returned).
    func countBackward(_ layer: any Layer, input: [Int]) {
        guard !(layer is Sequential), !(layer is Residual) else { return }
        let gradients = (layer as? Conv2D)?.computesInputGradient == false ? 1 : 2
        backward += gradients * layer.multiplyAdds(input)
    }
}

extension Sequential {
    /// Attaches `counter` (nil: detaches) to this net's every Sequential, Residual bodies and
    /// shortcuts included (as `attach(_: LayerProfile?)`).
    public func attach(_ counter: ExecutedCompute?) {
        executed = counter
        for (_, layer) in walk() {
            (layer as? Sequential)?.executed = counter
            if let block = layer as? Residual {
                block.body.executed = counter
                block.shortcut?.executed = counter
            }
        }
    }
}
