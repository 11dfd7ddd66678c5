import Foundation
import Testing

@testable import FFCEngine

/// The trainer as a child process (`ffc train --headless`), SIGKILLed at 20 points drawn from a
/// seeded generator and resumed with `--resume latest` after each.
@Suite(.serialized) struct KillResumeTests {
    static let steps = 60
    /// Pool resizes during the run (`--queue-size-at`), so kills land inside resizes too.
    static let resizes = [(10, 24), (25, 12), (40, 20), (52, 16)]
    static let checkpointEvery = 3

    /// 40 identities of 6 images, 16 px: a step of the tiny net takes tens of milliseconds.
    static func writeDatabase(in dir: String) throws -> String {
        let options = SynthOptions(identities: 40, images: .fixed(6), size: 16, seed: 3, out: dir + "/synth.lmdb")
        _ = try SyntheticDatabase.write(options)
        return options.out
    }

    static func arguments(database: String, runDir: String, resume: Bool) -> [String] {
        [
            "train", database, "--net-type", "tiny", "--input-size", "16", "--feat-dim", "16", "--batch-size", "4",
            "--queue-size", "16", "--queue-size-at", resizes.map { "\($0.0):\($0.1)" }.joined(separator: ","),
            "--epochs", "100", "--milestones", "", "--max-steps", "\(steps)", "--checkpoint-every",
            "\(checkpointEvery)", "--checkpoint-keep", "2", "--workers", "1", "--seed", "7", "--headless",
            "--run-dir", runDir,
        ] + (resume ? ["--resume", "latest"] : [])
    }

    /// Where the next kill lands: a point drawn at random, passed so often that the kill
    /// falls near step `target` of the run. Kill k of n aims at step k·steps/n or a little
    /// after, so the kills spread over the whole run; a kill the run would never reach (a
    /// resize already behind it, the rename of its last checkpoint) is never drawn.
    static func nextKill(after checkpointStep: Int, target: Int, _ random: inout SeededRandom) -> (FaultPoint, Int) {
        let stepsLeft = steps - checkpointStep
        let writesLeft = stepsLeft / checkpointEvery
        let ahead = max(1, target - checkpointStep)
        // A resize at step S happens at the boundary after S, so resuming from S redoes it.
        let resizesLeft = resizes.map(\.0).filter { $0 >= checkpointStep }
        let resizePass = resizesLeft.firstIndex { $0 >= target }.map { $0 + 1 } ?? resizesLeft.count
        let choices: [(FaultPoint, Int)] = [
            (.step, min(ahead, stepsLeft - 1)),
            (.checkpointWrite, min(max(1, ahead / checkpointEvery), writesLeft)),
            (.checkpointRename, min(max(1, ahead / checkpointEvery), writesLeft - 1)),
            (.poolResize, resizePass),
        ].filter { $0.1 >= 1 }
        return choices[Int(random.next() % UInt64(choices.count))]
    }

    @Test func faultVariableIsPointAndPassOrAClearError() throws {
        #expect(try FaultPoint.parse("checkpoint-write:2") == (.checkpointWrite, 2))
        #expect(try FaultPoint.parse("pool-resize:1") == (.poolResize, 1))
        for bad in ["", "step", "step:0", "step:-1", "step:x", "nowhere:1", "step:1:2"] {
            #expect(throws: FaultPointError.malformed(value: bad, points: FaultPoint.allCases.map(\.rawValue))) {
                _ = try FaultPoint.parse(bad)
            }
        }
    }

    /// Every checkpoint left after each kill reads back whole (checksum and all), and the
    /// losses of every step any of the runs logged — before a kill, and again after resuming
    /// from an older checkpoint — equal the uninterrupted run's bit for bit; so do the final
    /// checkpoints' tensors.
    @Test func sigkillAtTwentySeededPointsLosesNothingAndResumesBitExactly() throws {
        let ffc = ChildProcess.ffc
        try #require(FileManager.default.isExecutableFile(atPath: ffc), "no \(ffc): run swift build --build-tests")
        let root = NSTemporaryDirectory() + "ffc-kill-runs-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let database = try Self.writeDatabase(in: root)
        let reference = RunDirectory(path: root + "/whole")
        let whole = try ChildProcess.run(
            ffc, Self.arguments(database: database, runDir: reference.path, resume: false), timeoutSeconds: 300)
        try #require(whole.status == 0 && whole.signal == nil, "uninterrupted run failed: \(whole.output)")
        let expected = Dictionary(
            try MetricsStreamContents.read(path: reference.metricsPath).steps.map { ($0.step, $0.loss.bitPattern) },
            uniquingKeysWith: { first, _ in first })
        try #require(expected.count == Self.steps)

        let killed = RunDirectory(path: root + "/killed")
        let store = CheckpointStore(directory: killed.checkpointsPath, keep: 2)
        var random = SeededRandom(seed: 2024)
        var kills: [String] = []
        var resumes = 1
        let killCount = 20
        for k in 1...killCount {
            let newest = store.list().last?.step ?? 0
            if newest > 0 { resumes += 1 }
            let target = k * (Self.steps - Self.checkpointEvery) / killCount + Int(random.next() % 3)
            let (point, pass) = Self.nextKill(after: newest, target: target, &random)
            let attempt = try ChildProcess.run(
                ffc, Self.arguments(database: database, runDir: killed.path, resume: newest > 0),
                environment: [FaultPoint.environmentKey: "\(point.rawValue):\(pass)"], timeoutSeconds: 300)
            kills.append("\(point.rawValue):\(pass) from step \(newest)")
            try #require(attempt.signal == SIGKILL, "\(kills.last!) was not a kill: \(attempt.output)")
            for checkpoint in store.list() {
                #expect(throws: Never.self, "after \(kills.last!)") {
                    _ = try CheckpointStore.load(path: checkpoint.path)
                }
            }
        }
        let last = try ChildProcess.run(
            ffc, Self.arguments(database: database, runDir: killed.path, resume: true), timeoutSeconds: 300)
        try #require(last.status == 0 && last.signal == nil, "final resume failed: \(last.output)")

        let contents = try MetricsStreamContents.read(path: killed.metricsPath)
        #expect(Set(contents.steps.map(\.step)) == Set(1...Self.steps))
        let differing = contents.steps.filter { expected[$0.step] != $0.loss.bitPattern }
        #expect(differing.isEmpty, "steps whose loss differs: \(differing.prefix(5).map(\.step)); kills: \(kills)")
        #expect(contents.steps.count > Self.steps, "no step was run twice: the kills lost no work?")
        #expect(contents.skippedLines <= kills.count)
        #expect(!contents.events.contains { $0.message.contains("refused") }, "a checkpoint was refused")
        #expect(contents.events.filter { $0.message.hasPrefix("resumed from step") }.count == resumes)
        let names = try FileManager.default.contentsOfDirectory(atPath: killed.checkpointsPath)
        #expect(!names.contains { $0.hasSuffix(CheckpointStore.corruptSuffix) })

        let mine = try CheckpointStore.load(path: store.path(step: Self.steps))
        let theirs = try CheckpointStore.load(
            path: CheckpointStore(directory: reference.checkpointsPath, keep: 2).path(step: Self.steps))
        #expect(mine.file.tensors == theirs.file.tensors)
        let scalarKeys = Set(mine.file.metadata.keys).subtracting([
            CheckpointStore.configKey, SafeTensorsFile.checksumKey,
        ])
        for key in scalarKeys { #expect(mine.file.metadata[key] == theirs.file.metadata[key], "metadata \(key)") }
    }
}
