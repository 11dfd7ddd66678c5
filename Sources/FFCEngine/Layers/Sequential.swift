// Sequential: named layers applied in order; names become the dotted parameter paths.
import Foundation

public final class Sequential: Layer {
    public let layers: [(name: String, layer: any Layer)]

    public init(_ layers: [(String, any Layer)]) {
        self.layers = layers.map { (name: $0.0, layer: $0.1) }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for entry in layers { h = entry.layer.forward(h, training: training) }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var g = dy
        for entry in layers.reversed() { g = entry.layer.backward(g) }
        return g
    }

    public var parameters: [NamedParameter] { layers.flatMap { prefixed($0.name, $0.layer.parameters) } }
    public var buffers: [NamedBuffer] { layers.flatMap { prefixed($0.name, $0.layer.buffers) } }
    public var children: [(name: String, layer: any Layer)] { layers }

    public func outputShape(_ input: [Int]) -> [Int] {
        layers.reduce(input) { $1.layer.outputShape($0) }
    }

    public func multiplyAdds(_ input: [Int]) -> Int {
        var shape = input
        var total = 0
        for entry in layers {
            total += entry.layer.multiplyAdds(shape)
            shape = entry.layer.outputShape(shape)
        }
        return total
    }

    public var summary: String { "Sequential (\(layers.count))" }
}
