// Learning-rate schedules users know from PyTorch: multi-step decay after a linear warm-up,
// cosine annealing (with the same warm-up), and reduce-on-plateau.
import Foundation

/// A schedule that is a pure function of the step (0-based).
public enum LearningRateSchedule: Sendable, Equatable {
    /// base · γ^(milestones passed), after `warmupSteps` of linear ramp from base/warmup.
    case multiStep(base: Float, milestones: [Int], gamma: Float = 0.1, warmupSteps: Int = 0)
    /// Linear warm-up, then minimum + ½(base − minimum)(1 + cos(π·t/T)) over the rest.
    case cosine(base: Float, totalSteps: Int, minimum: Float = 0, warmupSteps: Int = 0)

    public func rate(step: Int) -> Float {
        switch self {
        case .multiStep(let base, let milestones, let gamma, let warmup):
            if let ramp = Self.warmUp(base: base, step: step, warmupSteps: warmup) { return ramp }
            let passed = milestones.filter { step >= $0 }.count
            return base * pow(gamma, Float(passed))
        case .cosine(let base, let total, let minimum, let warmup):
            if let ramp = Self.warmUp(base: base, step: step, warmupSteps: warmup) { return ramp }
            let span = max(1, total - warmup)
            let t = Float(min(step - warmup, span)) / Float(span)
            return minimum + 0.5 * (base - minimum) * (1 + cos(Float.pi * t))
        }
    }
}

/// torch.optim.lr_scheduler.ReduceLROnPlateau in "min" mode with a relative threshold:
/// after `patience` evaluations without a relative improvement of `threshold`, multiply
/// the rate by `factor` (not below `minimum`) and wait `cooldown` evaluations.
public struct ReduceOnPlateau: Sendable {
    public private(set) var rate: Float
    public let factor: Float
    public let patience: Int
    public let threshold: Float
    public let cooldown: Int
    public let minimum: Float
    public private(set) var best = Float.infinity
    public private(set) var badEvaluations = 0
    public private(set) var cooldownLeft = 0

    public init(
        base: Float, factor: Float = 0.1, patience: Int = 10, threshold: Float = 1e-4, cooldown: Int = 0,
        minimum: Float = 0
    ) {
        rate = base
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minimum = minimum
    }

    /// Feeds one evaluation of the watched metric (lower is better); returns the new rate.
    @discardableResult
    public mutating func observe(_ metric: Float) -> Float {
        if metric < best * (1 - threshold) {
            best = metric
            badEvaluations = 0
        } else {
            badEvaluations += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEvaluations = 0
        }
        if badEvaluations > patience {
            rate = max(rate * factor, minimum)
            cooldownLeft = cooldown
            badEvaluations = 0
        }
        return rate
    }
}

extension LearningRateSchedule {
    /// The linear warm-up every schedule starts with: base·(step+1)/warmupSteps during the
    /// first `warmupSteps` steps, nil after.
    public static func warmUp(base: Float, step: Int, warmupSteps: Int) -> Float? {
        step < warmupSteps ? base * Float(step + 1) / Float(warmupSteps) : nil
    }
}
