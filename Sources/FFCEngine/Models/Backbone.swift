// Models: the face backbones users know by name (mobilefacenet, ir18…ir100, tiny), built
// from Layers, and the `Backbone` wrapper the trainer drives: forward/backward over a batch
// of (N, H, W, 3) images to an un-normalised (N, D) embedding, gradients, state dicts for
// checkpoints, and the copy / EMA the FFC gallery net needs.
//
// State-dict names follow PyTorch's dotted module paths; tensors keep the engine's
// channels-last layouts (conv (Cout, KH, KW, Cin), depthwise (KH, KW, C)).
import Foundation

public enum BackboneError: Error, CustomStringConvertible, Equatable {
    case unknownName(String, known: [String])
    case unsupportedInputSize(backbone: String, inputSize: Int, reason: String)
    case missingTensor(backbone: String, name: String)
    case unexpectedTensor(backbone: String, name: String)
    case shapeMismatch(backbone: String, name: String, expected: [Int], found: [Int])
    case architectureMismatch(expected: String, found: String)

    public var description: String {
        switch self {
        case .unknownName(let name, let known):
            return "unknown backbone '\(name)'; known: \(known.joined(separator: ", "))"
        case .unsupportedInputSize(let backbone, let size, let reason):
            return "\(backbone) cannot take \(size)×\(size) input: \(reason)"
        case .missingTensor(let backbone, let name):
            return "state dict for \(backbone) has no tensor '\(name)' (checkpoint of another backbone?)"
        case .unexpectedTensor(let backbone, let name):
            return "state dict has tensor '\(name)' that \(backbone) does not have (checkpoint of another backbone?)"
        case .shapeMismatch(let backbone, let name, let expected, let found):
            return
                "\(backbone).\(name): expected shape \(expected), found \(found) (different embedding or input size?)"
        case .architectureMismatch(let expected, let found):
            return "cannot copy weights of \(found) into \(expected)"
        }
    }
}

public final class Backbone {
    public let name: String
    public let embeddingSize: Int
    public let inputSize: Int
    public let seed: UInt64
    public let network: Sequential
    /// Trainable tensors in network order, with dotted names.
    public let parameters: [NamedParameter]
    /// Batch-norm running statistics in network order, with dotted names.
    public let buffers: [NamedBuffer]

    init(name: String, embeddingSize: Int, inputSize: Int, seed: UInt64, network: Sequential) {
        self.name = name
        self.embeddingSize = embeddingSize
        self.inputSize = inputSize
        self.seed = seed
        self.network = network
        parameters = network.parameters
        buffers = network.buffers
        let layers = network.walk()
        let workspace = ConvWorkspace()
        for case let conv as Conv2D in layers.map(\.layer) { conv.workspace = workspace }
        stem = layers.first { $0.layer.children.isEmpty }?.layer as? Conv2D
        network.attach(executed)
    }

    /// Multiply-adds the net's layers ran, forward and backward (see ExecutedCompute).
    public let executed = ExecutedCompute()

    /// The convolution that reads the image, whose input gradient a training step never needs.
    private let stem: Conv2D?

    /// A label that differs whenever tensor shapes differ: "ir18-512@112".
    public var architecture: String { "\(name)-\(embeddingSize)@\(inputSize)" }

    /// images (N, H, W, 3) → embeddings (N, D), not normalised. The result is owned by the
    /// net and overwritten by the next forward.
    /// With `keepingActivations: false` (a forward no backward follows: the gallery net,
    /// embedding) activations are let go layer by layer instead of kept for a backward.
    /// Images forwarded since the net was made: × `multiplyAdds` per image is the forward
    /// compute a caller spent (the trainer's step forwards each probe image once).
    public private(set) var forwardedImages = 0

    public func forward(input: Tensor, training: Bool, keepingActivations: Bool = true) -> Tensor {
        precondition(
            input.shape.count == 4 && input.shape[1] == inputSize && input.shape[2] == inputSize && input.shape[3] == 3,
            "\(architecture) expects (N, \(inputSize), \(inputSize), 3) input, got \(input.shape)")
        forwardedImages += input.shape[0]
        return network.forward(input, training: training, keepingActivations: keepingActivations)
    }

    /// What the last forward kept for its backward, taken from the net (see `Layer.takeSaved`):
    /// run another forward, its backward, then `restoreSaved` this and the first one's backward.
    public func takeSaved() -> SavedActivations? { network.takeSaved() }

    /// Puts back what `takeSaved` took.
    public func restoreSaved(_ saved: SavedActivations?) { network.restoreSaved(saved) }

    /// Accumulates every parameter's gradient from dEmbedding (N, D). Returns dInput
    /// (N, H, W, 3) only when `inputGradient` is asked for: training never needs it, and the
    /// first convolution's input gradient is the costliest one to compute.
    @discardableResult
    public func backward(_ dEmbedding: Tensor, inputGradient: Bool = false) -> Tensor? {
        stem?.computesInputGradient = inputGradient
        let dInput = network.backward(dEmbedding)
        return inputGradient ? dInput : nil
    }

    public func zeroGrad() {
        for p in parameters { p.grad.zero() }
    }

    /// Global L2 norm of all gradients: √Σ g².
    public var gradientNorm: Double { parameters.reduce(0) { $0 + $1.grad.sumOfSquares }.squareRoot() }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Forward multiply-adds for one image.
    public var multiplyAddsPerImage: Int { network.multiplyAdds([1, inputSize, inputSize, 3]) }

    /// Parameters then running statistics, by dotted name.
    public func stateDict() -> [String: NamedTensor] {
        var dict: [String: NamedTensor] = [:]
        for p in parameters { dict[p.name] = NamedTensor(floats: p.value.values, shape: p.value.shape) }
        for b in buffers { dict[b.name] = NamedTensor(floats: b.tensor.values, shape: b.tensor.shape) }
        return dict
    }

    /// Loads every parameter and running statistic; refuses missing, extra or misshapen tensors.
    public func load(_ dict: [String: NamedTensor]) throws {
        let targets = parameters.map { ($0.name, $0.value) } + buffers.map { ($0.name, $0.tensor) }
        let known = Set(targets.map(\.0))
        if let extra = dict.keys.sorted().first(where: { !known.contains($0) }) {
            throw BackboneError.unexpectedTensor(backbone: architecture, name: extra)
        }
        for (name, tensor) in targets {
            guard let stored = dict[name] else { throw BackboneError.missingTensor(backbone: architecture, name: name) }
            guard stored.shape == tensor.shape, stored.dtype == .f32 else {
                throw BackboneError.shapeMismatch(
                    backbone: architecture, name: name, expected: tensor.shape, found: stored.shape)
            }
        }
        for (name, tensor) in targets {
            dict[name]!.bytes.withUnsafeBytes { raw in
                tensor.pointer.update(from: raw.bindMemory(to: Float.self).baseAddress!, count: tensor.count)
            }
        }
    }

    /// Makes this net's parameters and running statistics equal to `other`'s.
    public func copyWeights(from other: Backbone) throws {
        guard other.architecture == architecture else {
            throw BackboneError.architectureMismatch(expected: architecture, found: other.architecture)
        }
        for (mine, theirs) in zip(parameters, other.parameters) { mine.value.copy(from: theirs.value) }
        for (mine, theirs) in zip(buffers, other.buffers) { mine.tensor.copy(from: theirs.tensor) }
    }

    /// The gallery-net update: g ← α·g + (1−α)·p for every parameter, and the probe's
    /// batch-norm running statistics copied as they are.
    public func ema(from probe: Backbone, alpha: Float) {
        precondition(probe.architecture == architecture, "EMA of \(probe.architecture) into \(architecture)")
        let beta = 1 - alpha
        for (mine, theirs) in zip(parameters, probe.parameters) {
            let g = mine.value.pointer
            let p = UnsafePointer(theirs.value.pointer)
            for i in 0..<mine.value.count { g[i] = alpha * g[i] + beta * p[i] }
        }
        for (mine, theirs) in zip(buffers, probe.buffers) { mine.tensor.copy(from: theirs.tensor) }
    }

    /// An independent net with the same architecture and weights (the gallery net's start).
    public func copy() -> Backbone {
        // The architecture is already known to be valid, so `make` cannot throw here.
        let twin = try! Backbone.make(name: name, embeddingSize: embeddingSize, inputSize: inputSize, seed: seed)
        try! twin.copyWeights(from: self)
        return twin
    }

    /// Every dense convolution, for profiling their share of the sgemm peak.
    public var convolutions: [Conv2D] { network.walk().compactMap { $0.layer as? Conv2D } }
}
