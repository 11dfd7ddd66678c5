import Foundation
import Testing

@testable import FFCEngine

/// ReduceLROnPlateau from the original's optimiser config file, through the trainer's schedule.
@Suite struct PlateauScheduleTests {
    static let file = """
        {"scheduler": ["str", "ReduceLROnPlateau"], "LR": ["float", "0.1"], "patience": ["int", "1"],
         "gammas": ["float", [0.5]], "LR_min": ["float", "0.02"], "warmup": ["int", "1"],
         "epochs": ["int", "20"], "milestones": ["int", []]}
        """

    static func config() throws -> TrainingConfig {
        var c = TrainingConfig()
        try c.applyOptimConfig(json: file, path: "optim_config")
        return c
    }

    @Test func optimConfigFileSelectsThePlateauSchedule() throws {
        let c = try Self.config()
        #expect(c.scheduler == .plateau)
        #expect(c.patience == 1)
        #expect(c.gammas == [0.5])
        #expect(c.lrMin == 0.02)
        try c.validate()
        let summary = c.summaryLines(identities: 10, images: 100).joined(separator: "\n")
        #expect(summary.contains("ReduceLROnPlateau on each epoch's mean loss, patience 1, factor 0.5, LR_min 0.02"))
    }

    /// Epochs of 4 steps; warm-up ramps over epoch 0, then the rate halves after two epochs
    /// without improvement (patience 1), and never goes below LR_min (0.0125 is clamped to 0.02).
    @Test func rateFallsAfterPatienceEpochsWithoutImprovementAndStopsAtTheMinimum() throws {
        var schedule = PlateauSchedule(config: try Self.config(), stepsPerEpoch: 4)
        #expect(schedule.rate(step: 0) == 0.025)
        #expect(schedule.rate(step: 3) == 0.1)
        var step = 0
        var reductions: [(Int, Float, Float)] = []
        // Mean epoch losses 5, 4, 4, 4, 4, 4, 4, 4 (constant within each epoch).
        for epochLoss in [5.0, 4, 4, 4, 4, 4, 4, 4] {
            for _ in 0..<4 {
                step += 1
                if let r = schedule.record(loss: epochLoss, completedSteps: step) {
                    reductions.append((step, r.from, r.to))
                }
            }
        }
        #expect(reductions.map(\.0) == [16, 24, 32])
        #expect(reductions.map(\.2) == [0.05, 0.025, 0.02])
        for _ in 0..<12 {
            step += 1
            #expect(schedule.record(loss: 4, completedSteps: step) == nil)
        }
        #expect(schedule.rate(step: step) == 0.02)
        #expect(schedule.history.count == 11)
    }

    @Test func restoringFromTheHistoryGivesTheSameRates() throws {
        var whole = PlateauSchedule(config: try Self.config(), stepsPerEpoch: 3)
        let losses = (1...40).map { 3 + sin(Double($0)) * 0.5 + (Double($0 % 7) == 0 ? .nan : 0) }
        for (i, loss) in losses.prefix(20).enumerated() { _ = whole.record(loss: loss, completedSteps: i + 1) }
        var resumed = PlateauSchedule(config: try Self.config(), stepsPerEpoch: 3)
        resumed.restore(history: whole.history, epochLossSum: whole.epochLossSum, epochLossCount: whole.epochLossCount)
        for (i, loss) in losses.enumerated().dropFirst(20) {
            let a = whole.record(loss: loss, completedSteps: i + 1)
            let b = resumed.record(loss: loss, completedSteps: i + 1)
            #expect(a?.to == b?.to)
            #expect(whole.rate(step: i + 1) == resumed.rate(step: i + 1))
        }
        #expect(whole.history == resumed.history)
    }

    /// The trainer accepts the schedule, and a run stopped mid-epoch keeps its state: the
    /// fixture's epoch is 30 steps, so a stop at 31 comes after one observed epoch and one
    /// step of the next; resumed, steps 32–33 have the rates of an uninterrupted run. (Loss
    /// equality after resume is `TrainingRunTests`' job; here other suites running in parallel
    /// may change the process-wide BLAS thread count, which reorders float sums.)
    @Test func trainerRunsWithThePlateauScheduleAndResumesExactly() throws {
        func config(_ name: String, steps: Int) throws -> TrainingConfig {
            var c = TrainerFixture.config(name, steps: steps)
            try c.applyOptimConfig(json: Self.file, path: "optim_config")
            c.patience = 0
            return c
        }
        let whole = try TrainerFixture.run(config("plateau-whole", steps: 33))
        let wholeSteps = try MetricsStreamContents.read(path: whole.directory.metricsPath).steps
        let firstPart = try TrainerFixture.run(config("plateau-part", steps: 31))
        let saved = try CheckpointStore.load(
            path: CheckpointStore(directory: firstPart.directory.checkpointsPath, keep: 1).list().last!.path)
        let state = try JSONDecoder().decode(
            TrainingRun.PlateauState.self, from: Data(saved.file.metadata[TrainingRun.plateauKey]!.utf8))
        #expect(state.history.count == 1)
        #expect(state.epochLossCount == 1)
        var rest = firstPart.config
        rest.maxSteps = 33
        let resumed = try TrainerFixture.run(rest, resume: "latest")
        let resumedSteps = try MetricsStreamContents.read(path: resumed.directory.metricsPath).steps
        #expect(wholeSteps.count == 33)
        let wholeByStep = Dictionary(wholeSteps.map { ($0.step, $0.lr) }, uniquingKeysWith: { _, b in b })
        #expect(resumedSteps.filter { $0.step > 31 }.count == 2)
        for r in resumedSteps where r.step > 31 {
            #expect(wholeByStep[r.step] == r.lr, "step \(r.step)")
        }
        #expect(wholeSteps.first { $0.step == 1 }?.lr == Double(Float(0.1) / 30))
        #expect(wholeSteps.first { $0.step == 31 }?.lr == Double(Float(0.1)))
    }
}
