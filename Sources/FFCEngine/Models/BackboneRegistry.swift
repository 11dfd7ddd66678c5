// Registry: backbone names → builders, and PyTorch's default initialisation.
import Foundation

extension Backbone {
    /// Names `make` accepts.
    public static let names = ["tiny", "mobilefacenet", "ir18", "ir34", "ir50", "ir100", "r50"]

    /// The input size a backbone is designed for: r50 "requires 224×224 images" (FFC).
    public static func defaultInputSize(name: String) -> Int {
        switch name {
        case "tiny": 64
        case "r50": 224
        default: 112
        }
    }

    /// Builds a backbone with PyTorch's default initialisation drawn from `seed`: conv and
    /// linear weights (and linear biases) U(−1/√fanIn, 1/√fanIn) — kaiming_uniform with
    /// a = √5 — batch-norm γ = 1, β = 0, PReLU slopes 0.25. (arcface_torch re-initialises
    /// its IResNet convs with N(0, 0.1); we keep the PyTorch default for every net.)
    public static func make(name: String, embeddingSize: Int = 512, inputSize: Int? = nil, seed: UInt64 = 0) throws
        -> Backbone
    {
        let size = inputSize ?? defaultInputSize(name: name)
        let network: Sequential
        switch name {
        case "tiny": network = try tinyFaceNet(embeddingSize: embeddingSize, inputSize: size)
        case "mobilefacenet": network = try mobileFaceNet(embeddingSize: embeddingSize, inputSize: size)
        case "ir18":
            network = try iresnet(name: name, blocks: [2, 2, 2, 2], embeddingSize: embeddingSize, inputSize: size)
        case "ir34":
            network = try iresnet(name: name, blocks: [3, 4, 6, 3], embeddingSize: embeddingSize, inputSize: size)
        case "ir50":
            network = try iresnet(name: name, blocks: [3, 4, 14, 3], embeddingSize: embeddingSize, inputSize: size)
        case "ir100":
            network = try iresnet(name: name, blocks: [3, 13, 30, 3], embeddingSize: embeddingSize, inputSize: size)
        case "r50":
            network = try resnet(name: name, blocks: [3, 4, 6, 3], embeddingSize: embeddingSize, inputSize: size)
        default: throw BackboneError.unknownName(name, known: names)
        }
        let net = Backbone(name: name, embeddingSize: embeddingSize, inputSize: size, seed: seed, network: network)
        var generator = SeededRandom(seed: seed)
        for p in net.parameters where p.parameter.role == .weight || p.parameter.role == .bias {
            let bound = 1 / Float(p.parameter.fanIn).squareRoot()
            for i in 0..<p.value.count { p.value[i] = generator.uniform(-bound, bound) }
        }
        return net
    }

    static func requireMultiple(of factor: Int, _ name: String, _ size: Int) throws {
        guard size >= factor, size % factor == 0 else {
            throw BackboneError.unsupportedInputSize(
                backbone: name, inputSize: size, reason: "the side must be a positive multiple of \(factor)")
        }
    }
}

/// Convolution → batch norm → PReLU, the unit most face nets are built from.
func convBlock(_ conv: any Layer, channels: Int) -> Sequential {
    Sequential([("conv", conv), ("bn", BatchNorm(channels)), ("prelu", PReLU(channels))])
}
