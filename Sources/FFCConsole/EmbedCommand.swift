// `ffc embed`: embeddings of a face database, an image folder or an insightface .bin to .npy
// (float32, one row per image) with the matching key list, and the model options `ffc eval`
// shares with it.
import ArgumentParser
import FFCEngine
import Foundation

/// Which trained net embeds the images.
struct ModelOptions: ParsableArguments {
    @Option(help: "Checkpoint (safetensors): a training checkpoint or a plain backbone state dict.")
    var model: String?

    @Option(help: "Backbone of the checkpoint: \(Backbone.names.joined(separator: ", ")).")
    var backbone: String = "mobilefacenet"

    @Option(help: "Embedding size of the checkpoint's backbone.")
    var embeddingSize: Int = 512

    @Option(help: "Input side in pixels (default: the backbone's own).")
    var inputSize: Int?

    @Option(help: "Net of a training checkpoint to use: probe (trained by SGD) or gallery (its EMA).")
    var net: String = "probe"

    @Option(help: "Images per forward pass.")
    var batchSize: Int = 32

    func embedder() throws -> Embedder? {
        guard let model else { return nil }
        guard net == "probe" || net == "gallery" else {
            throw EvalInputError(description: "--net \(net): use probe or gallery")
        }
        let e = try Embedder.load(
            checkpoint: model, backbone: backbone, embeddingSize: embeddingSize, inputSize: inputSize, net: net)
        return Embedder(backbone: e.backbone, batchSize: batchSize)
    }
}

/// JPEG and PNG files under `root`, as sorted relative paths.
func imageFiles(under root: String) throws -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: root) else {
        throw EvalInputError(description: "\(root): cannot list the folder")
    }
    var out: [String] = []
    while let path = walker.nextObject() as? String {
        if ["jpg", "jpeg", "png"].contains((path as NSString).pathExtension.lowercased()) { out.append(path) }
    }
    return out.sorted()
}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write embeddings of a database, an image folder or a .bin to .npy, with the key list.",
        discussion: """
            Rows are raw backbone outputs (not normalised), float32, readable with numpy.load; with
            --flip each row is the embedding of the image plus that of its mirror (arcface_torch's
            flip test). The key list (--keys-out, default OUT with .keys.txt) has one line per row:
            `key label` for a database (a kv file; a RecordIO set's record key), the relative path for a folder, the image index
            for a .bin. Score them with `ffc eval verify --embeddings OUT --keys KEYS --pairs …`.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(parsing: .upToNextOption, help: "FFC database(s) (LMDB paths; kv files beside them).")
    var db: [String] = []

    @Option(
        parsing: .upToNextOption,
        help: "insightface RecordIO set(s): train.rec (train.idx beside it) or a folder holding it.")
    var rec: [String] = []

    @Option(help: "Folder of images (searched recursively for .jpg/.jpeg/.png).")
    var images: String?

    @Option(name: .customLong("bin"), help: "An insightface verification .bin.")
    var binFile: String?

    @Option(help: "Output .npy file.")
    var out: String

    @Option(help: "Key list output (default: OUT without .npy plus .keys.txt).")
    var keysOut: String?

    @Flag(help: "Add the embedding of each mirrored image.")
    var flip = false

    func run() throws {
        guard let embedder = try modelOptions.embedder() else { throw ValidationError("give --model CKPT") }
        let result: Embeddings
        var keys: [String] = []
        if !db.isEmpty || !rec.isEmpty {
            for path in rec where RecordIOFile.recordPath(for: path) == nil {
                throw ValidationError("--rec \(path): neither a .rec file nor a folder holding train.rec")
            }
            let database = try FaceDatabase.open(paths: db + rec)
            let total = database.imageCount
            result = try embedder.embed(database: database, flip: flip) { done in
                if done % (embedder.batchSize * 50) == 0 || done == total {
                    FileHandle.standardError.write(Data("\rembedded \(done)/\(total)".utf8))
                }
            }
            FileHandle.standardError.write(Data("\n".utf8))
            keys = (0..<total).map { "\(database.key(ofImage: $0)) \(database.label(ofImage: $0))" }
        } else if let images {
            keys = try imageFiles(under: images)
            result = try embedder.embed(files: keys.map { (images as NSString).appendingPathComponent($0) }, flip: flip)
        } else if let binFile {
            let set = try InsightfaceBin.read(path: binFile)
            result = try embedder.embed(encoded: set.images, flip: flip, source: binFile)
            keys = set.images.indices.map(String.init)
        } else {
            throw ValidationError("give --db PATH, --rec train.rec, --images DIR or --bin SET.bin")
        }
        try NPYArray(floats: result.forScoring, shape: [result.count, result.dim]).write(path: out)
        let keysPath = keysOut ?? (out.hasSuffix(".npy") ? String(out.dropLast(4)) : out) + ".keys.txt"
        try AtomicFile.write(Array((keys.joined(separator: "\n") + "\n").utf8), to: keysPath)
        print("wrote \(result.count) × \(result.dim) embeddings to \(out), keys to \(keysPath)")
    }
}
