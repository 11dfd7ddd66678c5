import Foundation
import Testing

@testable import FFCEngine

@Suite struct CheckpointStoreTests {
    @Test func keepsTheLastKAndResolvesLatest() throws {
        let run = RunDirectory(path: NSTemporaryDirectory() + "ckpt-\(UUID().uuidString)")
        try run.create()
        defer { try? FileManager.default.removeItem(atPath: run.path) }
        var config = TrainingConfig()
        config.queueSize = 77
        let store = CheckpointStore(directory: run.checkpointsPath, keep: 2)
        for step in [10, 20, 30] {
            var file = SafeTensorsFile()
            file["w"] = NamedTensor(floats: [Float(step)], shape: [1])
            try store.save(file, step: step, config: config)
        }
        #expect(store.list().map(\.step) == [20, 30])
        let latest = try CheckpointStore.resolve("latest", runDirectory: run)
        #expect(latest == store.path(step: 30))
        #expect(try CheckpointStore.resolve(run.path, runDirectory: run) == latest)
        let loaded = try CheckpointStore.load(path: latest)
        #expect(loaded.step == 30 && loaded.config.queueSize == 77 && loaded.file["w"]?.floats == [30])
    }

    @Test func missingOrForeignCheckpointIsAClearError() throws {
        let run = RunDirectory(path: NSTemporaryDirectory() + "ckpt-\(UUID().uuidString)")
        try run.create()
        defer { try? FileManager.default.removeItem(atPath: run.path) }
        #expect(throws: CheckpointError.noCheckpoint(directory: run.checkpointsPath)) {
            _ = try CheckpointStore.resolve("latest", runDirectory: run)
        }
        #expect(throws: CheckpointError.notFound(path: "/nonexistent.safetensors")) {
            _ = try CheckpointStore.resolve("/nonexistent.safetensors", runDirectory: run)
        }
        let foreign = run.path + "/x.safetensors"
        var file = SafeTensorsFile()
        file["w"] = NamedTensor(floats: [1], shape: [1])
        try file.write(path: foreign)
        #expect(throws: CheckpointError.self) { _ = try CheckpointStore.load(path: foreign) }
    }

    @Test func runListingReadsStateStepAndLoss() throws {
        let root = NSTemporaryDirectory() + "runs-\(UUID().uuidString)"
        let run = RunDirectory(path: root + "/a")
        try run.create()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try run.writeConfig(TrainingConfig())
        let writer = try MetricsStreamWriter(path: run.metricsPath)
        var r = StepRecord()
        r.step = 12
        r.loss = 1.5
        try writer.append(.step(r))
        #expect(RunDirectory.list(under: root).map(\.state) == [.stopped])
        try writer.append(.event(EventRecord(step: 12, kind: .info, message: RunDirectory.finishedMessage)))
        let rows = RunDirectory.list(under: root)
        #expect(rows.count == 1 && rows[0].state == .finished && rows[0].step == 12 && rows[0].loss == 1.5)
    }
}
