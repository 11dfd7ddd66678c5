// Training: the run's learning rate, held in one place. Warm-up epochs ramp linearly to the
// base rate; then the configured decay (multi-step, cosine, or ReduceLROnPlateau on each
// epoch's mean loss); a live `set LR` multiplies whatever the decay gives from then on, so
// later decays still apply. SGD takes the rate from here at every step.
import Foundation

struct LearningRatePolicy {
    enum Decay {
        case schedule(LearningRateSchedule)
        case plateau(PlateauSchedule)
    }

    private(set) var decay: Decay
    /// Multiplies the decayed rate after a live `set LR` (1 until then).
    var factor: Float = 1

    init(config: TrainingConfig, stepsPerEpoch: Int) {
        let base = Float(config.lr)
        let warmupSteps = config.warmup * stepsPerEpoch
        switch config.scheduler {
        case .plateau:
            decay = .plateau(PlateauSchedule(config: config, stepsPerEpoch: stepsPerEpoch))
        case .cosine:
            decay = .schedule(
                .cosine(
                    base: base, totalSteps: config.epochs * stepsPerEpoch, minimum: Float(config.lrMin),
                    warmupSteps: warmupSteps))
        default:
            decay = .schedule(
                .multiStep(
                    base: base, milestones: config.milestones.map { $0 * stepsPerEpoch },
                    gamma: Float(config.gammas.first ?? 0.1), warmupSteps: warmupSteps))
        }
    }

    /// The warm-up and decay's rate at `step` (0-based), before a live factor.
    func scheduledRate(step: Int) -> Float {
        switch decay {
        case .schedule(let schedule): schedule.rate(step: step)
        case .plateau(let plateau): plateau.rate(step: step)
        }
    }

    /// The rate SGD uses at `step`.
    func rate(step: Int) -> Float { scheduledRate(step: step) * factor }

    /// A live `set LR`: from `step` on the rate is `rate`, later decays applying to it.
    mutating func override(rate: Float, at step: Int) throws(LearningRateRefusal) {
        guard rate > 0, rate.isFinite, rate <= 10 else { throw .outOfRange }
        let scheduled = scheduledRate(step: step)
        guard scheduled > 0 else { throw .scheduleIsZero }
        factor = rate / scheduled
    }

    /// Counts a finished step's loss; ReduceLROnPlateau's (old, new) rates when the epoch that
    /// step ends lowered them.
    mutating func record(loss: Double, completedSteps: Int) -> (from: Float, to: Float)? {
        guard case .plateau(var plateau) = decay else { return nil }
        defer { decay = .plateau(plateau) }
        return plateau.record(loss: loss, completedSteps: completedSteps)
    }

    var plateau: PlateauSchedule? {
        if case .plateau(let p) = decay { return p }
        return nil
    }

    mutating func restorePlateau(history: [Float], epochLossSum: Double, epochLossCount: Int) {
        guard case .plateau(var plateau) = decay else { return }
        plateau.restore(history: history, epochLossSum: epochLossSum, epochLossCount: epochLossCount)
        decay = .plateau(plateau)
    }
}

enum LearningRateRefusal: Error, CustomStringConvertible {
    case outOfRange, scheduleIsZero
    var description: String {
        switch self {
        case .outOfRange: "LR must be in (0, 10]"
        case .scheduleIsZero: "the schedule's rate is 0 at this step"
        }
    }
}
