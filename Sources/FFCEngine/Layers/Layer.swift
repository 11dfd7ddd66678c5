// Layers: the building blocks of the backbones, each a forward/backward pair over NHWC
// activations (or (N, C) after flattening), with named parameters and gradients that the
// optimiser, checkpoints and the gallery-net EMA walk.
//
// Contract shared by every layer:
// - `forward` returns a pooled tensor (valid while referenced; see ActivationPool). The layer
//   keeps what its backward needs (its input, a few per-channel numbers) until that backward.
// - `backward(dy)` must follow the `forward` it differentiates; it *accumulates* into the
//   parameter gradients (call `zeroGrad` between steps), returns dx (pooled) and lets go of
//   what it kept, so activations free up as the backward walks down the net.
// - `takeSaved` hands over what the last forward kept, `restoreSaved` puts it back: a net runs
//   two forwards (both passes of an FFC step) and then both backwards, each image once.
// - Shapes in `outputShape` and `multiplyAdds` include the batch axis (use N = 1 per image).
import Foundation

/// What a parameter is, so initialisation, fixtures and optimisers can treat kinds apart.
public enum ParameterRole: String, Sendable {
    case weight, bias, normScale, normShift, preluSlope
}

/// One trainable tensor and its gradient (same shape).
public final class Parameter {
    public let value: Tensor
    public let grad: Tensor
    public let role: ParameterRole
    /// Inputs feeding one output (Cin·KH·KW for a convolution); 0 where it has no meaning.
    public let fanIn: Int

    public init(shape: [Int], role: ParameterRole, fanIn: Int = 0) {
        value = Tensor(shape: shape)
        grad = Tensor(shape: shape)
        self.role = role
        self.fanIn = fanIn
    }
}

/// A parameter under its dotted path in the network (`layer1.0.conv1.weight`).
public struct NamedParameter {
    public let name: String
    public let parameter: Parameter
    public var value: Tensor { parameter.value }
    public var grad: Tensor { parameter.grad }
}

/// A non-trainable state tensor (batch-norm running statistics) under its dotted path.
public struct NamedBuffer {
    public let name: String
    public let tensor: Tensor
}

public protocol Layer: AnyObject {
    func forward(_ x: Tensor, training: Bool) -> Tensor
    func backward(_ dy: Tensor) -> Tensor
    /// Parameters with names relative to this layer.
    var parameters: [NamedParameter] { get }
    /// Running statistics with names relative to this layer.
    var buffers: [NamedBuffer] { get }
    /// Named sub-layers, for walking a network (model info, profiling).
    var children: [(name: String, layer: any Layer)] { get }
    func outputShape(_ input: [Int]) -> [Int]
    /// Forward multiply-adds for `input` (batch axis included).
    func multiplyAdds(_ input: [Int]) -> Int
    /// One line for `ffc model info`, e.g. "Conv2D 3×3/2 3→64".
    var summary: String { get }
    /// What the last forward kept for its backward (nil: nothing), taken from the layer:
    /// dropping it frees those activations (a forward nobody differentiates).
    func takeSaved() -> SavedActivations?
    /// Puts back what `takeSaved` took, for the backward of that forward.
    func restoreSaved(_ saved: SavedActivations?)
}

/// A layer's kept state from one forward, opaque outside the layer.
public typealias SavedActivations = Any

extension Layer {
    public var parameters: [NamedParameter] { [] }
    public var buffers: [NamedBuffer] { [] }
    public var children: [(name: String, layer: any Layer)] { [] }
    public func multiplyAdds(_ input: [Int]) -> Int { 0 }
    public func takeSaved() -> SavedActivations? { nil }
    public func restoreSaved(_ saved: SavedActivations?) {}

    /// Every layer in this subtree, depth first, with its dotted path.
    public func walk(prefix: String = "") -> [(path: String, layer: any Layer)] {
        var out: [(path: String, layer: any Layer)] = [(prefix, self)]
        for child in children {
            out += child.layer.walk(prefix: prefix.isEmpty ? child.name : prefix + "." + child.name)
        }
        return out
    }
}

func prefixed(_ prefix: String, _ params: [NamedParameter]) -> [NamedParameter] {
    params.map { NamedParameter(name: prefix + "." + $0.name, parameter: $0.parameter) }
}

func prefixed(_ prefix: String, _ buffers: [NamedBuffer]) -> [NamedBuffer] {
    buffers.map { NamedBuffer(name: prefix + "." + $0.name, tensor: $0.tensor) }
}
