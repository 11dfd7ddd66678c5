// Determinism: the same inputs, seed and thread count give bit-identical forward outputs,
// gradients, losses and checkpoints however busy the machine is. The test runs a training
// forward/backward of mobilefacenet and ir18 and 20 trainer steps twice — the second time
// with a busy-loop process pinned to every core, so workers are preempted at other points
// and claim other chunks — and compares every float's bit pattern.
import Foundation
import Testing

@testable import FFCEngine

/// Busy-loop processes, one pinned to each online core (`taskset`), stopped by pid.
final class CPUHog {
    private var processes: [Process] = []

    init(cores: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        for core in 0..<cores {
            let hog = Process()
            hog.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            hog.arguments = ["-c", String(core), "/bin/sh", "-c", "while :; do :; done"]
            try hog.run()
            processes.append(hog)
        }
    }

    var pids: [Int32] { processes.map(\.processIdentifier) }

    func stop() {
        for hog in processes where hog.isRunning { kill(hog.processIdentifier, SIGKILL) }
        for hog in processes { hog.waitUntilExit() }
        processes = []
    }

    deinit { stop() }
}

/// Every float a computation produced, by name, as bit patterns.
struct BitRecord: Equatable {
    var values: [String: [UInt32]] = [:]

    mutating func add(_ name: String, _ floats: [Float]) { values[name] = floats.map(\.bitPattern) }
    mutating func add(_ name: String, _ doubles: [Double]) {
        values[name] = doubles.flatMap {
            [UInt32(truncatingIfNeeded: $0.bitPattern >> 32), UInt32(truncatingIfNeeded: $0.bitPattern)]
        }
    }

    /// The first name whose bits differ (or that only one side has), for the failure message.
    func firstDifference(from other: BitRecord) -> String? {
        for name in Set(values.keys).union(other.values.keys).sorted() where values[name] != other.values[name] {
            let mine = values[name] ?? []
            let theirs = other.values[name] ?? []
            let index = Array(zip(mine, theirs)).firstIndex { $0 != $1 } ?? min(mine.count, theirs.count)
            return "\(name) at element \(index) of \(max(mine.count, theirs.count))"
        }
        return nil
    }
}

@Suite(.serialized) struct DeterminismTests {
    /// One training forward/backward of each backbone at 32×32, batch 8, formula weights.
    static func backbonePasses() throws -> BitRecord {
        var record = BitRecord()
        for name in ["mobilefacenet", "ir18"] {
            let net = try Backbone.make(name: name, embeddingSize: 128, inputSize: 32, seed: 0)
            loadFormulaWeights(net)
            let x = formulaInput([8, 32, 32, 3])
            record.add("\(name).embedding", net.forward(input: x, training: true).values)
            net.zeroGrad()
            let dInput = try #require(net.backward(formulaLossWeights([8, 128]), inputGradient: true))
            record.add("\(name).dinput", dInput.values)
            for p in net.parameters { record.add("\(name).grad.\(p.name)", p.grad.values) }
            record.add("\(name).eval", net.forward(input: x, training: false).values)
        }
        return record
    }

    /// 20 FFC trainer steps on the shared synthetic database: every loss, then every tensor
    /// of the final checkpoint and the loaders' state in it.
    static func trainerSteps() throws -> BitRecord {
        let run = try TrainerFixture.run(TrainerFixture.config("determinism", steps: 20))
        var record = BitRecord()
        let losses = try TrainerFixture.losses(run)
        record.add("losses", losses.keys.sorted().map { losses[$0]! })
        let store = CheckpointStore(directory: run.directory.checkpointsPath, keep: 1)
        let last = try #require(store.list().last)
        let file = try SafeTensorsFile.read(path: last.path)
        for (name, tensor) in file.tensors {
            record.values["checkpoint." + name] = tensor.bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt8.self)) }
                .map(UInt32.init)
        }
        for key in [TrainingRun.identityLoaderKey, TrainingRun.instanceLoaderKey, TrainingRun.learningRateFactorKey] {
            record.values["metadata." + key] = Array((file.metadata[key] ?? "").utf8).map(UInt32.init)
        }
        return record
    }

    @Test func resultsAreBitIdenticalWithEveryCoreBusy() throws {
        let quiet = try Self.backbonePasses()
        let quietTrainer = try Self.trainerSteps()
        let hog = try CPUHog()
        defer { hog.stop() }
        let busy = try Self.backbonePasses()
        let busyTrainer = try Self.trainerSteps()
        hog.stop()
        #expect(quiet.values.count > 50 && quietTrainer.values.count > 20)
        // Compared by first difference, not ==: a failing == would print both records whole.
        let backboneDifference = busy.firstDifference(from: quiet)
        #expect(backboneDifference == nil, "backbones under load differ: \(backboneDifference ?? "")")
        let trainerDifference = busyTrainer.firstDifference(from: quietTrainer)
        #expect(trainerDifference == nil, "trainer under load differs: \(trainerDifference ?? "")")
    }

    @Test func hogProcessesRunAndStopByPid() throws {
        let hog = try CPUHog(cores: 1)
        let pid = try #require(hog.pids.first)
        #expect(kill(pid, 0) == 0, "the hog runs")
        hog.stop()
        #expect(kill(pid, 0) != 0, "the hog is gone after stop")
    }

    @Test func tuningSizesParseAndComeFromTheEnvironmentFirst() {
        #expect(EngineTuning.parseBytes("1M") == 1 << 20)
        #expect(EngineTuning.parseBytes("1.25M") == 1_310_720)
        #expect(EngineTuning.parseBytes("2048K") == 2 << 20)
        #expect(EngineTuning.parseBytes("1048576") == 1 << 20)
        #expect(EngineTuning.parseBytes("-1M") == nil)
        #expect(EngineTuning.parseBytes("lots") == nil)
        let env = EngineTuning.fromEnvironment(["FFC_L2_BYTES": "1.25M", "FFC_IM2COL_BYTES": "8M"])
        #expect(env.l2Bytes == 1_310_720 && env.l2Source == "FFC_L2_BYTES")
        #expect(env.workerChunkFloats == 1_310_720 * 3 / 16)
        #expect(env.im2colFloats == 2 << 20)
        let machine = EngineTuning.fromEnvironment([:])
        #expect(machine.l2Bytes >= 64 << 10 && machine.l2Source != "FFC_L2_BYTES")
    }
}

@Suite struct OpenBLASCoreChoiceTests {
    @Test func slowerKernelsThanTheCPURunsAreReplaced() {
        let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"]
        let avx2: Set<String> = ["avx2", "fma"]
        #expect(BLAS.suggestedCoreType(detected: "Prescott", flags: avx512) == "SkylakeX")
        #expect(BLAS.suggestedCoreType(detected: "Prescott", flags: avx2) == "Haswell")
        #expect(BLAS.suggestedCoreType(detected: "Prescott", flags: ["sse2"]) == nil)
        #expect(BLAS.suggestedCoreType(detected: "Haswell", flags: avx512) == "SkylakeX")
        #expect(BLAS.suggestedCoreType(detected: "Zen", flags: avx512) == "SkylakeX")
        #expect(BLAS.suggestedCoreType(detected: "Zen", flags: avx2) == nil)
        #expect(BLAS.suggestedCoreType(detected: "SkylakeX", flags: avx512) == nil)
        #expect(BLAS.suggestedCoreType(detected: "Haswell", flags: avx512.subtracting(["avx512bw"])) == nil)
    }
}
