// SGD steps and learning-rate schedules against torch.optim (optim.safetensors), whose
// references are float64 from the same float32 values.
//
// Bounds (u = 2⁻²⁴, the float32 unit roundoff): an SGD step is at most 8 float32 operations
// per element (weight decay, momentum, Nesterov, the update), each erring by at most u of a
// partial result no larger than twice the parameter here, so 3 steps stay within 3·8·2u =
// 48u of the exact values, plus u for the fixture's float32 storage: 49u ≈ 2.9e-6. A rate is
// a closed formula of at most 6 float32 operations on values no larger than the base rate,
// whose entries (≥ 0.001) weigh little in the ‖·‖ error: 6u + u storage, ≤ 8u ≈ 4.8e-7.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct OptimParityTests {
    static let u = Double(Float.ulpOfOne) / 2
    static let sgdBound = 49 * u
    static let rateBound = 8 * u

    @Test(arguments: [("nesterov", Float(0.1), true, Float(5e-4)), ("plain", Float(0.05), false, Float(1e-4))])
    func sgdStepsMatchPyTorch(name: String, lr: Float, nesterov: Bool, wd: Float) throws {
        let file = try engineFixture("optim")
        let p = Parameter(shape: [2, 3], role: .normScale)
        p.value.copy(from: Tensor(shape: [2, 3], values: try file.require("sgd.\(name).initial").floats))
        let sgd = SGD(learningRate: lr, momentum: 0.9, nesterov: nesterov, weightDecay: wd)
        for step in 0..<3 {
            p.grad.copy(from: Tensor(shape: [2, 3], values: try file.require("sgd.\(name).grad\(step)").floats))
            sgd.step([NamedParameter(name: "p", parameter: p)])
            expectClose(
                "sgd \(name) step \(step)", p.value.values, try file.require("sgd.\(name).after\(step)"),
                tolerance: Self.sgdBound)
        }
    }

    @Test func cosineAndMultiStepMatchPyTorch() throws {
        let file = try engineFixture("optim")
        let cosine = LearningRateSchedule.cosine(base: 0.1, totalSteps: 10, minimum: 0.001)
        expectClose(
            "cosine", (0..<11).map { cosine.rate(step: $0) }, try file.require("schedule.cosine"),
            tolerance: Self.rateBound)
        let multi = LearningRateSchedule.multiStep(base: 0.1, milestones: [3, 6], gamma: 0.1)
        expectClose(
            "multistep", (0..<8).map { multi.rate(step: $0) }, try file.require("schedule.multistep"),
            tolerance: Self.rateBound)
    }

    @Test func warmUpRampsLinearlyToTheBaseRate() {
        let schedule = LearningRateSchedule.multiStep(base: 0.1, milestones: [10], warmupSteps: 4)
        #expect((0..<5).map { schedule.rate(step: $0) } == [0.025, 0.05, 0.075, 0.1, 0.1])
        #expect(abs(schedule.rate(step: 10) - 0.01) < 1e-7)
    }

    @Test func reduceOnPlateauMatchesPyTorch() throws {
        let file = try engineFixture("optim")
        var plateau = ReduceOnPlateau(base: 0.1, factor: 0.5, patience: 2, cooldown: 1)
        let rates = try file.require("schedule.plateau.metrics").floats.map { plateau.observe($0) }
        expectClose("plateau", rates, try file.require("schedule.plateau.rates"), tolerance: Self.rateBound)
    }
}
