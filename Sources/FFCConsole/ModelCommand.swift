// `ffc model info NAME`: a backbone's layers, output shapes, parameters and MFLOPs per image.
import ArgumentParser
import FFCEngine
import Foundation

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the face backbones.", subcommands: [ModelInfo.self])
}

struct ModelInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a backbone's layers, parameters and MFLOPs per image.",
        discussion: "Backbones: \(Backbone.names.joined(separator: ", ")).")

    @Argument(help: "Backbone name.") var name: String
    @Option(help: "Embedding size.") var embeddingSize = 512
    @Option(help: "Input side in pixels (default: the backbone's own: 112, 64 for tiny, 224 for r50).") var inputSize:
        Int?
    @Flag(help: "Only the totals, not every layer.") var summary = false

    func run() throws {
        let net: Backbone
        do {
            net = try Backbone.make(name: name, embeddingSize: embeddingSize, inputSize: inputSize)
        } catch let error as BackboneError {
            throw ValidationError(error.description)
        }
        let side = net.inputSize
        print("\(net.name): input \(side)×\(side)×3, embedding \(net.embeddingSize)")
        if !summary {
            print(
                pad("layer", 36) + pad("type", 28) + pad("output", 16, right: true) + pad("params", 12, right: true)
                    + pad("MFLOPs", 10, right: true))
            var shapes: [ObjectIdentifier: [Int]] = [:]
            trace(net.network, input: [1, side, side, 3], into: &shapes)
            for (path, layer) in net.network.walk() where layer.children.isEmpty {
                let input = shapes[ObjectIdentifier(layer)] ?? []
                let output = layer.outputShape(input).dropFirst().map(String.init).joined(separator: "×")
                let params = layer.parameters.reduce(0) { $0 + $1.value.count }
                let mflops = 2 * Double(layer.multiplyAdds(input)) / 1e6
                print(
                    pad(path, 36) + pad(layer.summary, 28) + pad(output, 16, right: true)
                        + pad("\(params)", 12, right: true)
                        + pad(mflops == 0 ? "" : String(format: "%.2f", mflops), 10, right: true))
            }
        }
        let macs = Double(net.multiplyAddsPerImage)
        print(String(format: "parameters: %d (%.2f M)", net.parameterCount, Double(net.parameterCount) / 1e6))
        print(
            String(
                format: "per image: %.1f M multiply-adds = %.1f MFLOPs forward; a training step ≈ 3× that", macs / 1e6,
                2 * macs / 1e6))
    }

    /// Records each leaf layer's input shape by replaying the network's shape arithmetic.
    private func trace(_ layer: any Layer, input: [Int], into shapes: inout [ObjectIdentifier: [Int]]) {
        shapes[ObjectIdentifier(layer)] = input
        if let sequence = layer as? Sequential {
            var shape = input
            for child in sequence.layers {
                trace(child.layer, input: shape, into: &shapes)
                shape = child.layer.outputShape(shape)
            }
        } else if let block = layer as? Residual {
            trace(block.body, input: input, into: &shapes)
            if let shortcut = block.shortcut { trace(shortcut, input: input, into: &shapes) }
            if let activation = block.activation { shapes[ObjectIdentifier(activation)] = block.outputShape(input) }
        }
    }
}

/// Left- or right-aligns `text` in a column of `width` characters.
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(1, width - text.count))
    return right ? fill + text : text + fill
}
