// Sequential: named layers applied in order; names become the dotted parameter paths.
// A batch norm directly followed by a PReLU of the same width runs as one fused step
// (BatchNorm.forward(_:training:then:)): the pair's activations make one trip through
// memory instead of two. Both stay separate layers for names, parameters and model info.
// A forward that will not be differentiated (`keepingActivations: false`: the gallery net,
// embedding) drops what each layer kept as soon as the next has read its output, so only
// a layer or two of activations is alive at a time.
import Foundation

public final class Sequential: Layer {
    public let layers: [(name: String, layer: any Layer)]
    /// What forward and backward run, in order.
    private let steps: [Step]
    /// Where forward and backward add their layers' times, when attached.
    var profile: LayerProfile?
    /// Where forward and backward add the multiply-adds their layers executed, when attached.
    var executed: ExecutedCompute?
    /// Told each layer whose backward just returned (both of a fused pair), so a caller can
    /// act on gradients as soon as they are final (data parallelism's gradient buckets).
    var backwardDone: ((any Layer) -> Void)?

    private enum Step {
        case single(any Layer)
        case batchNormPReLU(BatchNorm, PReLU)
    }

    public init(_ layers: [(String, any Layer)]) {
        self.layers = layers.map { (name: $0.0, layer: $0.1) }
        var steps: [Step] = []
        var i = 0
        while i < layers.count {
            if let bn = layers[i].1 as? BatchNorm, i + 1 < layers.count,
                let prelu = layers[i + 1].1 as? PReLU, prelu.channels == bn.channels
            {
                steps.append(.batchNormPReLU(bn, prelu))
                i += 2
            } else {
                steps.append(.single(layers[i].1))
                i += 1
            }
        }
        self.steps = steps
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        forward(x, training: training, keepingActivations: true)
    }

    /// The forward; without `keepingActivations` no backward may follow, and every layer's
    /// kept input is let go once its step ran.
    public func forward(_ x: Tensor, training: Bool, keepingActivations keep: Bool) -> Tensor {
        var h = x
        for step in steps {
            switch step {
            case .single(let layer):
                executed?.countForward(layer, input: h.shape)
                h = timed(layer, backward: false) {
                    if !keep, let nested = layer as? Sequential {
                        return nested.forward(h, training: training, keepingActivations: false)
                    }
                    if !keep, let block = layer as? Residual {
                        return block.forward(h, training: training, keepingActivations: false)
                    }
                    return layer.forward(h, training: training)
                }
                if !keep { _ = layer.takeSaved() }
            case .batchNormPReLU(let bn, let prelu):
                h = timed(bn, backward: false, kind: "BatchNorm+PReLU") {
                    bn.forward(h, training: training, then: prelu)
                }
                if !keep { _ = bn.takeSaved() }
            }
        }
        return h
    }

    public func takeSaved() -> SavedActivations? { layers.map { $0.layer.takeSaved() } as [SavedActivations?] }

    public func restoreSaved(_ saved: SavedActivations?) {
        let parts = saved as? [SavedActivations?] ?? []
        for (i, entry) in layers.enumerated() { entry.layer.restoreSaved(i < parts.count ? parts[i] : nil) }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var g = dy
        for step in steps.reversed() {
            switch step {
            case .single(let layer):
                g = timed(layer, backward: true) { layer.backward(g) }
                executed?.countBackward(layer, input: g.shape)
                backwardDone?(layer)
            case .batchNormPReLU(let bn, let prelu):
                g = timed(bn, backward: true, kind: "BatchNorm+PReLU") { bn.backward(g, through: prelu) }
                backwardDone?(bn)
                backwardDone?(prelu)
            }
        }
        return g
    }

    /// Runs `body`, timing it under `kind` (default: the layer's type) when a profile is
    /// attached and the layer is not a container that times its own children.
    @inline(__always)
    private func timed(_ layer: any Layer, backward: Bool, kind: String? = nil, _ body: () -> Tensor) -> Tensor {
        guard let profile, !(layer is Sequential), !(layer is Residual) else { return body() }
        return profile.time(kind ?? String(describing: type(of: layer)), backward: backward, body)
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
