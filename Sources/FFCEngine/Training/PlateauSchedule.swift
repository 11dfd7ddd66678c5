// Training: the ReduceLROnPlateau schedule of a run (`scheduler` = "ReduceLROnPlateau" in the
// original's optimiser config). The watched metric is each epoch's mean training loss (lower
// is better), observed once at the end of every epoch; the rate is multiplied by `gammas[0]`
// (0.1 when none) after `patience` epochs without a relative improvement of 1e-4, never
// below `LR_min`. Warm-up epochs ramp linearly to the base rate first, as the other schedules
// do. Its checkpoint state is the list of observed epoch means plus the running sum of the
// current epoch: replaying the list rebuilds the scheduler exactly.
import Foundation

struct PlateauSchedule {
    let base: Float
    let warmupSteps: Int
    let stepsPerEpoch: Int
    private let fresh: ReduceOnPlateau
    private(set) var reducer: ReduceOnPlateau
    /// Mean training loss of every finished epoch, in order.
    private(set) var history: [Float] = []
    /// Finite losses of the current epoch: their sum and count.
    private(set) var epochLossSum: Double = 0
    private(set) var epochLossCount = 0

    init(config: TrainingConfig, stepsPerEpoch: Int) {
        base = Float(config.lr)
        warmupSteps = config.warmup * stepsPerEpoch
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        fresh = ReduceOnPlateau(
            base: Float(config.lr), factor: Float(config.gammas.first ?? 0.1), patience: config.patience,
            minimum: Float(config.lrMin))
        reducer = fresh
    }

    /// The rate for `step` (0-based): the warm-up ramp, then the plateau-reduced rate.
    func rate(step: Int) -> Float {
        LearningRateSchedule.warmUp(base: base, step: step, warmupSteps: warmupSteps) ?? reducer.rate
    }

    /// Counts the loss of step `completedSteps` (1-based); at an epoch's end observes the
    /// epoch's mean and returns the (old, new) rates when that lowered the rate. O(1) per step.
    mutating func record(loss: Double, completedSteps: Int) -> (from: Float, to: Float)? {
        if loss.isFinite {
            epochLossSum += loss
            epochLossCount += 1
        }
        guard completedSteps % stepsPerEpoch == 0, epochLossCount > 0 else { return nil }
        let mean = Float(epochLossSum / Double(epochLossCount))
        epochLossSum = 0
        epochLossCount = 0
        history.append(mean)
        let before = reducer.rate
        let after = reducer.observe(mean)
        return after < before ? (before, after) : nil
    }

    /// Rebuilds the state a checkpoint saved: replays `history`, then the current epoch's sum.
    mutating func restore(history: [Float], epochLossSum: Double, epochLossCount: Int) {
        reducer = fresh
        for mean in history { reducer.observe(mean) }
        self.history = history
        self.epochLossSum = epochLossSum
        self.epochLossCount = epochLossCount
    }
}
