import Foundation
import Testing

@testable import FFCEngine

@Suite struct EmbedderTests {
    private func checkpoint(of net: Backbone, prefix: String) throws -> String {
        var file = SafeTensorsFile()
        for (k, v) in net.stateDict() { file[prefix + k] = v }
        let path = NSTemporaryDirectory() + "ckpt-\(UUID().uuidString).safetensors"
        try file.write(path: path)
        return path
    }

    @Test func trainingCheckpointGivesTheSameEmbeddingsAsTheNet() throws {
        let net = try Backbone.make(name: "tiny", embeddingSize: 16, seed: 5)
        let path = try checkpoint(of: net, prefix: "probe.")
        defer { unlink(path) }
        let set = try InsightfaceBin.read(path: EvalFixture.path("tiny_p4.bin"))
        // Both embedders batch the six images the same way: OpenBLAS sums a row in an order
        // that depends on the call's row count, so only the same batching is bit-identical.
        let direct = try Embedder(backbone: net).embed(encoded: set.images, flip: true)
        let loaded = try Embedder.load(checkpoint: path, backbone: "tiny", embeddingSize: 16)
            .embed(encoded: set.images, flip: true)
        #expect(loaded.count == 6 && loaded.dim == 16)
        #expect(loaded.plain == direct.plain)
        #expect(loaded.mirrored == direct.mirrored)
        #expect(loaded.plain != loaded.mirrored!, "the mirrored images give other embeddings")
        let r = try Verification.evaluate(embeddings: loaded.forScoring, dim: 16, pairs: set.pairs, folds: 2)
        #expect(r.pairCount == 3)
    }

    @Test func checkpointOfAnotherBackboneIsRefusedByName() throws {
        let other = try Backbone.make(name: "tiny", embeddingSize: 8)
        let path = try checkpoint(of: other, prefix: "")
        defer { unlink(path) }
        do {
            _ = try Embedder.load(checkpoint: path, backbone: "tiny", embeddingSize: 16)
            Issue.record("a tiny-8 checkpoint loaded into tiny-16")
        } catch let e as EmbedderError {
            #expect(e.description.hasPrefix(path + ": "))
            #expect(e.description.contains("tiny-16@64"))
        }
    }

    @Test func undecodableImageIsNamed() throws {
        let net = try Backbone.make(name: "tiny", embeddingSize: 8)
        #expect(throws: EmbedderError.self) {
            _ = try Embedder(backbone: net).embed(encoded: [Array("not a jpeg".utf8)], flip: false, source: "x.bin")
        }
    }
}
