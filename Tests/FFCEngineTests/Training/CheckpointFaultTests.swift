import Foundation
import Testing

@testable import FFCEngine

/// Checkpoints that go bad on disk, and a disk that fills up under a running trainer.
@Suite(.serialized) struct CheckpointFaultTests {
    static func config(_ name: String, steps: Int, every: Int) -> TrainingConfig {
        var c = TrainerFixture.config(name, steps: steps)
        c.batchSize = 4
        c.checkpointEvery = every
        c.checkpointKeep = 3
        return c
    }

    /// `--resume latest` with the newest checkpoint truncated and the one before it bit-flipped:
    /// both are refused by name and reason, set aside as `.corrupt`, and the run resumes from
    /// the third, saying so in metrics.jsonl and train.log. `--resume FILE` on a bad file fails
    /// naming it, and leaves it where it is.
    @Test func resumeLatestFallsBackPastTruncatedAndFlippedCheckpointsAndSaysSo() throws {
        let first = try TrainerFixture.run(Self.config("fallback", steps: 6, every: 2))
        let store = CheckpointStore(directory: first.directory.checkpointsPath, keep: 3)
        #expect(store.list().map(\.step) == [2, 4, 6])
        let six = store.path(step: 6)
        let four = store.path(step: 4)
        let sixBytes = try Data(contentsOf: URL(fileURLWithPath: six))
        try sixBytes.prefix(sixBytes.count - 1000).write(to: URL(fileURLWithPath: six))
        var fourBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: four)))
        fourBytes[fourBytes.count / 2] ^= 0x10
        try Data(fourBytes).write(to: URL(fileURLWithPath: four))

        #expect(throws: CheckpointError.self) {
            _ = try TrainingRun(config: first.config, makeHead: Trainer.makeHead, resume: six)
        }
        #expect(FileManager.default.fileExists(atPath: six))

        var rest = first.config
        rest.maxSteps = 8
        let resumed = try TrainerFixture.run(rest, resume: "latest")
        let events = try MetricsStreamContents.read(path: resumed.directory.metricsPath).events
        let warnings = events.filter { $0.kind == .warning }.map(\.message)
        #expect(warnings.count == 3, "\(warnings)")
        #expect(
            warnings.first
                == "checkpoint \(six) refused: file is truncated (not a complete safetensors file); set aside as step-000000006.safetensors.corrupt; trying the one before"
        )
        #expect(
            warnings.dropFirst().first?.hasPrefix(
                "checkpoint \(four) refused: checksum mismatch: the header says crc32 ") == true)
        #expect(warnings.last == "fell back to step-000000002.safetensors after refusing 2 newer checkpoint(s)")
        #expect(events.contains { $0.message == "resumed from step 2" })
        let log = try String(contentsOfFile: resumed.directory.logPath, encoding: .utf8)
        #expect(log.contains("[warning] checkpoint \(six) refused: file is truncated"))
        #expect(FileManager.default.fileExists(atPath: six + CheckpointStore.corruptSuffix))
        #expect(FileManager.default.fileExists(atPath: four + CheckpointStore.corruptSuffix))
        #expect(resumed.snapshot().finished && resumed.snapshot().step == 8)
        #expect(store.list().map(\.step) == [4, 6, 8])
        for checkpoint in store.list() { _ = try CheckpointStore.load(path: checkpoint.path) }

        for checkpoint in store.list() { try Data([0]).write(to: URL(fileURLWithPath: checkpoint.path)) }
        #expect(throws: CheckpointError.self) {
            _ = try TrainingRun(config: rest, makeHead: Trainer.makeHead, resume: "latest")
        }
        #expect(store.list().isEmpty)
    }

    /// The checkpoints directory on a tmpfs that holds one checkpoint and a half: the first
    /// save fits, the next ones fail with ENOSPC. The failed writes leave no temporary file, the
    /// first checkpoint reads back whole, every failure is a warning event naming the file and
    /// the reason, and the run trains to its last step.
    @Test(.disabled(if: TmpfsMount.unavailableReason != nil, "mounting a tmpfs needs root with CAP_SYS_ADMIN"))
    func fullDiskDuringACheckpointWriteKeepsThePreviousOneAndTheRunGoing() throws {
        let config = Self.config("full-disk", steps: 12, every: 4)
        let run = RunDirectory(path: config.runDir)
        try run.create()
        let probe = try Trainer(config: config, makeHead: Trainer.makeHead)
        var sample = TrainingRun.checkpoint(of: probe)
        probe.stopLoaders()
        sample.metadata[CheckpointStore.configKey] = config.encodedJSON()
        let checkpointBytes = sample.encodeWithChecksum().count + 256
        let page = 4096
        let mount = try TmpfsMount(at: run.checkpointsPath, bytes: (checkpointBytes * 3 / 2 + page - 1) / page * page)
        defer { mount.unmount() }

        let finished = try TrainerFixture.run(config)
        let store = CheckpointStore(directory: run.checkpointsPath, keep: 3)
        #expect(store.list().map(\.step) == [4])
        #expect(try CheckpointStore.load(path: store.path(step: 4)).step == 4)
        let names = try FileManager.default.contentsOfDirectory(atPath: run.checkpointsPath)
        #expect(names == ["step-000000004.safetensors"])
        let events = try MetricsStreamContents.read(path: run.metricsPath).events
        let failures = events.filter { $0.kind == .warning }
        #expect(failures.map(\.step) == [8, 12])
        for (event, step) in zip(failures, [8, 12]) {
            #expect(
                event.message
                    == "checkpoint failed: \(store.path(step: step))\(AtomicFile.temporaryInfix)\(getpid()): write failed: No space left on device"
            )
        }
        #expect(events.contains { $0.kind == .checkpoint && $0.step == 4 })
        #expect(finished.snapshot().finished && finished.snapshot().step == 12)
        #expect(try MetricsStreamContents.read(path: run.metricsPath).steps.map(\.step) == Array(1...12))
    }
}
