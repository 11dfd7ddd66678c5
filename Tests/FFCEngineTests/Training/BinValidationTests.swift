import Foundation
import Testing

@testable import FFCEngine

/// In-training validation on insightface `.bin` sets (`ffc train --val a.bin,b.bin
/// --val-every N`): Fixtures/eval/val20.bin (tools/reference/make_val_bin.py, 20 pairs) under
/// two set names. No tolerance: the step's record must equal, bit for bit, the 10-fold accuracy
/// of the run's final checkpoint embedded again by `ffc eval verify`'s path (Embedder + the
/// same protocol), since both run the same eval-mode forward in the same order.
@Suite(.serialized) struct BinValidationTests {
    @Test func everySetIsScoredWithAndWithoutFlipAndItsBestIsKept() throws {
        let dir = NSTemporaryDirectory() + "ffc-val-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sets = ["lfw", "cfp_fp"].map { dir + "/\($0).bin" }
        for path in sets { try FileManager.default.copyItem(atPath: EvalFixture.path("val20.bin"), toPath: path) }

        var config = TrainerFixture.config("val", steps: 4)
        config.validationEvery = 2
        config.validationBins = sets
        try config.validate()
        let run = try TrainerFixture.run(config)
        let records = try MetricsStreamContents.read(path: run.directory.metricsPath).validations
        #expect(records.map(\.step) == [2, 2, 4, 4])
        #expect(records.map(\.set) == ["lfw", "cfp_fp", "lfw", "cfp_fp"])
        #expect(
            records.allSatisfy { $0.pairs == 20 && (0...1).contains($0.accuracy) && (0...1).contains($0.accuracyFlip) })
        for set in ["lfw", "cfp_fp"] {
            let rows = records.filter { $0.set == set }
            #expect(rows[0].bestAccuracyFlip == rows[0].accuracyFlip && rows[0].bestStep == 2)
            #expect(rows[1].bestAccuracyFlip == max(rows[0].accuracyFlip, rows[1].accuracyFlip))
            #expect(rows[1].bestStep == (rows[1].accuracyFlip > rows[0].accuracyFlip ? 4 : 2))
        }
        #expect(run.snapshot().validationSets?.map(\.step) == [4, 4])
        #expect(run.snapshot().events.filter { $0.kind == .validation }.count == 4)

        let checkpoint = try #require(CheckpointStore(directory: run.directory.checkpointsPath, keep: 1).list().last)
        #expect(checkpoint.step == 4)
        let embedder = try Embedder.load(
            checkpoint: checkpoint.path, backbone: "tiny", embeddingSize: 32, inputSize: 32, net: "probe")
        let bin = try InsightfaceBin.read(path: sets[0])
        let e = try Embedder(backbone: embedder.backbone, batchSize: 64).embed(encoded: bin.images, flip: true)
        let plain = try Verification.evaluate(embeddings: e.plain, dim: e.dim, pairs: bin.pairs)
        let flipped = try Verification.evaluate(embeddings: e.forScoring, dim: e.dim, pairs: bin.pairs)
        #expect(records[2].accuracy == plain.accuracyMean)
        #expect(records[2].accuracyFlip == flipped.accuracyMean)
    }

    @Test func binsWithoutAnIntervalAreRefused() {
        var config = TrainerFixture.config("val-refused", steps: 1)
        config.validationBins = ["lfw.bin"]
        #expect(throws: TrainingConfigError.self) { try config.validate() }
    }
}
