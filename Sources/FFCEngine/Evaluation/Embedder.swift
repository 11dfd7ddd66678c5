// Evaluation: embeddings of face images from a trained backbone, in batches, for the protocols
// and for `ffc embed`. Images are fitted to the net's input and normalised exactly as training
// sees them (BGR, (v − 127.5)/128, via `FaceImage`); the mirrored image's embedding is computed
// too when flip augmentation is asked for.
import Foundation

public enum EmbedderError: Error, CustomStringConvertible, Equatable {
    case checkpoint(path: String, reason: String)
    case image(index: Int, source: String, reason: String)

    public var description: String {
        switch self {
        case .checkpoint(let path, let reason): return "\(path): \(reason)"
        case .image(let index, let source, let reason): return "image \(index) (\(source)): \(reason)"
        }
    }
}

/// Raw (not normalised) embeddings, n × D row-major, and those of the mirrored images.
public struct Embeddings: Sendable {
    public var dim: Int
    public var plain: [Float]
    /// Present when computed with flip: row i is the embedding of image i mirrored.
    public var mirrored: [Float]?
    public var count: Int { dim == 0 ? 0 : plain.count / dim }

    /// What the protocols score: plain + mirrored when mirrored is present (arcface_torch).
    public var forScoring: [Float] {
        guard let mirrored else { return plain }
        return Verification.flipAugmented(plain, mirrored: mirrored)
    }
}

public final class Embedder {
    public let backbone: Backbone
    public let batchSize: Int
    let image: FaceImage

    public init(backbone: Backbone, batchSize: Int = 32, fit: ImageFit = .resize) {
        self.backbone = backbone
        self.batchSize = max(1, batchSize)
        image = FaceImage(height: backbone.inputSize, width: backbone.inputSize, fit: fit)
    }

    /// A net of architecture `backbone` with the weights of a checkpoint: a safetensors file
    /// holding the net's state dict as it is, or under `net` + "." (a training checkpoint keeps
    /// `probe.*` and `gallery.*`). A checkpoint of another backbone is refused, naming the tensor.
    public static func load(
        checkpoint path: String, backbone name: String, embeddingSize: Int = 512, inputSize: Int? = nil,
        net: String = "probe"
    ) throws -> Embedder {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile.read(path: path)
        } catch {
            throw EmbedderError.checkpoint(path: path, reason: "not a readable safetensors checkpoint (\(error))")
        }
        return try load(
            file: file, path: path, backbone: name, embeddingSize: embeddingSize, inputSize: inputSize, net: net)
    }

    /// `load(checkpoint:…)` on a file already read (`path` names it in errors).
    public static func load(
        file: SafeTensorsFile, path: String, backbone name: String, embeddingSize: Int = 512, inputSize: Int? = nil,
        net: String = "probe"
    ) throws -> Embedder {
        let backbone = try Backbone.make(name: name, embeddingSize: embeddingSize, inputSize: inputSize)
        let prefix = net + "."
        var dict: [String: NamedTensor] = [:]
        if file.tensors.keys.contains(where: { $0.hasPrefix(prefix) }) {
            for (k, v) in file.tensors where k.hasPrefix(prefix) { dict[String(k.dropFirst(prefix.count))] = v }
        } else {
            dict = file.tensors
        }
        do {
            try backbone.load(dict)
        } catch let error as BackboneError {
            throw EmbedderError.checkpoint(path: path, reason: error.description)
        }
        return Embedder(backbone: backbone)
    }

    /// Embeds `count` images; `fill(i, flip, out)` writes image i's normalised input pixels
    /// (H·W·3 floats), mirrored when `flip`.
    /// - Complexity: one forward pass per `batchSize` images (twice with `flip`).
    public func embed(
        count: Int, flip: Bool, progress: ((Int) -> Void)? = nil,
        fill: (Int, Bool, UnsafeMutableBufferPointer<Float>) throws -> Void
    ) throws -> Embeddings {
        let d = backbone.embeddingSize
        let side = backbone.inputSize
        let per = image.floatsPerImage
        var plain = [Float](repeating: 0, count: count * d)
        var mirrored = flip ? [Float](repeating: 0, count: count * d) : nil
        var start = 0
        while start < count {
            let n = min(batchSize, count - start)
            for mirror in flip ? [false, true] : [false] {
                let input = Tensor(shape: [n, side, side, 3])
                for k in 0..<n {
                    try fill(start + k, mirror, UnsafeMutableBufferPointer(start: input.pointer + k * per, count: per))
                }
                let out = backbone.forward(input: input, training: false, keepingActivations: false)
                let values = UnsafeBufferPointer(start: out.pointer, count: n * d)
                if mirror {
                    mirrored!.withUnsafeMutableBufferPointer {
                        $0.baseAddress!.advanced(by: start * d).update(from: values.baseAddress!, count: n * d)
                    }
                } else {
                    plain.withUnsafeMutableBufferPointer {
                        $0.baseAddress!.advanced(by: start * d).update(from: values.baseAddress!, count: n * d)
                    }
                }
            }
            start += n
            progress?(start)
        }
        return Embeddings(dim: d, plain: plain, mirrored: mirrored)
    }

    /// Embeddings of encoded JPEG/PNG images (an insightface `.bin`, image files).
    public func embed(encoded: [[UInt8]], flip: Bool, source: String = "images") throws -> Embeddings {
        var rgb: [UInt8] = []
        return try embed(count: encoded.count, flip: flip) { i, mirror, out in
            do {
                let (w, h) = try encoded[i].withUnsafeBytes { try ImageCodec.decodeRGB($0, into: &rgb) }
                try rgb.withUnsafeBufferPointer {
                    try image.fitAndNormalise(rgb: $0, width: w, height: h, flip: mirror, into: out)
                }
            } catch {
                throw EmbedderError.image(index: i, source: source, reason: "\(error)")
            }
        }
    }

    /// Embeddings of image files (paths), in order.
    public func embed(files: [String], flip: Bool) throws -> Embeddings {
        var rgb: [UInt8] = []
        return try embed(count: files.count, flip: flip) { i, mirror, out in
            guard let data = FileManager.default.contents(atPath: files[i]) else {
                throw EmbedderError.image(index: i, source: files[i], reason: "cannot read the file")
            }
            do {
                let (w, h) = try data.withUnsafeBytes { try ImageCodec.decodeRGB($0, into: &rgb) }
                try rgb.withUnsafeBufferPointer {
                    try image.fitAndNormalise(rgb: $0, width: w, height: h, flip: mirror, into: out)
                }
            } catch {
                throw EmbedderError.image(index: i, source: files[i], reason: "\(error)")
            }
        }
    }

    /// Embeddings of every image of a face database, in database order (keys via `key(ofImage:)`).
    public func embed(database: FaceDatabase, flip: Bool, progress: ((Int) -> Void)? = nil) throws -> Embeddings {
        let txn = try database.beginRead()
        var scratch: [UInt8] = []
        return try embed(count: database.imageCount, flip: flip, progress: progress) { i, mirror, out in
            do {
                guard let encoded = try txn.image(ofImage: i) else {
                    throw FaceImageError(reason: "key missing from the LMDB")
                }
                try image.load(image: encoded, flip: mirror, into: out, scratch: &scratch)
            } catch {
                throw EmbedderError.image(index: i, source: database.key(ofImage: i), reason: "\(error)")
            }
        }
    }
}
