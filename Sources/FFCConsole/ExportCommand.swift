// `ffc export CKPT --onnx model.onnx`: a trained net as an ONNX graph (FFCONNX).
import ArgumentParser
import FFCEngine
import FFCONNX
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint's probe or gallery net as an ONNX model.",
        discussion: """
            The graph (opset \(ONNXExport.opset), standard operators: \
            \(ONNXExport.operators.sorted().joined(separator: ", "))) reads 'data', float32 N×3×S×S \
            (NCHW, BGR, pixels (v − 127.5)/128 as in training; S is the net's input side) and \
            writes 'embedding', N×D, not L2-normalised; the model's doc string says so too. Batch \
            norm is in eval mode and folded into the Conv or Gemm before it. A training checkpoint \
            names its backbone, embedding size and input side; for a plain state dict give \
            --backbone (and --embedding-size, --input-size when not the defaults).
            """)

    @Argument(help: "Checkpoint (safetensors): a training checkpoint or a plain backbone state dict.")
    var checkpoint: String

    @Option(help: "ONNX file to write.") var onnx: String

    @Option(help: "Batch axis: a number of images, or 'dynamic' for any.") var batch = "1"

    @Option(help: "Net of a training checkpoint: probe (trained by SGD) or gallery (its EMA).")
    var net = "probe"

    @Option(help: "Backbone (default: the checkpoint's): \(Backbone.names.joined(separator: ", ")).")
    var backbone: String?

    @Option(help: "Embedding size (default: the checkpoint's, else 512).") var embeddingSize: Int?

    @Option(help: "Input side in pixels (default: the checkpoint's, else the backbone's own).") var inputSize: Int?

    @Flag(help: "Print one JSON object instead of the text line.") var json = false

    func run() throws {
        guard net == "probe" || net == "gallery" else { throw ValidationError("--net \(net): use probe or gallery") }
        let batchAxis: ONNXBatch
        do { batchAxis = try ONNXBatch(parsing: batch) } catch { throw ValidationError("\(error)") }
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile.read(path: checkpoint)
        } catch {
            throw ValidationError("\(checkpoint): not a readable safetensors checkpoint (\(error))")
        }
        let config = try file.metadata[CheckpointStore.configKey].map {
            try TrainingConfig.decode(json: $0, path: checkpoint + " (metadata config)")
        }
        guard let name = backbone ?? config?.netType else {
            throw ValidationError("\(checkpoint) is not a training checkpoint: name its --backbone")
        }
        let side = inputSize ?? config.flatMap { $0.inputSize > 0 ? $0.inputSize : nil }
        let embedder: Embedder
        do {
            embedder = try Embedder.load(
                file: file, path: checkpoint, backbone: name, embeddingSize: embeddingSize ?? config?.featDim ?? 512,
                inputSize: side, net: net)
        } catch let error as BackboneError {
            throw ValidationError(error.description)
        }
        let model = embedder.backbone
        let source = (checkpoint as NSString).lastPathComponent + (config == nil ? "" : " (\(net) net)")
        let bytes = try ONNXExport.write(model, batch: batchAxis, source: source, to: onnx)
        let s = model.inputSize
        if json {
            let row: [String: Any] = [
                "onnx": onnx, "bytes": bytes, "backbone": model.name, "net": net, "input": [3, s, s],
                "embedding": model.embeddingSize, "batch": batchAxis.description, "opset": ONNXExport.opset,
            ]
            let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(
                "\(onnx): \(model.architecture) \(net) net, data \(batchAxis)×3×\(s)×\(s) → embedding "
                    + "\(batchAxis)×\(model.embeddingSize), opset \(ONNXExport.opset), \(bytes) bytes")
        }
    }
}
