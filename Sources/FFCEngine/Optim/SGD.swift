// Optim: stochastic gradient descent and the learning-rate schedules around it.
//
// SGD follows torch.optim.SGD exactly (dampening 0): g ← ∇ + wd·θ; v ← μ·v + g;
// g ← g + μ·v with Nesterov, else g ← v; θ ← θ − lr·g. Like PyTorch, weight decay applies
// to every parameter it is given — batch-norm and PReLU included; pass
// `decayNormAndSlope: false` to leave those out (a common face-recognition choice).
import Foundation

public final class SGD {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public let decayNormAndSlope: Bool
    /// Momentum buffers by parameter name, created on the first step.
    public private(set) var velocity: [String: Tensor] = [:]

    public init(
        learningRate: Float, momentum: Float = 0.9, nesterov: Bool = true, weightDecay: Float = 5e-4,
        decayNormAndSlope: Bool = true
    ) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.decayNormAndSlope = decayNormAndSlope
    }

    /// One update of every parameter from its accumulated gradient. Returns the global
    /// gradient norm √Σ∇² before weight decay, the number a run log shows.
    @discardableResult
    public func step(_ parameters: [NamedParameter]) -> Double {
        var squares = 0.0
        for p in parameters {
            squares += p.grad.sumOfSquares
            let role = p.parameter.role
            let decays = decayNormAndSlope || (role == .weight || role == .bias)
            let wd = decays ? weightDecay : 0
            let v: Tensor
            if let existing = velocity[p.name] {
                v = existing
            } else {
                v = Tensor(shape: p.value.shape)
                velocity[p.name] = v
            }
            update(
                theta: p.value.pointer, grad: UnsafePointer(p.grad.pointer), velocity: v.pointer, count: p.value.count,
                weightDecay: wd)
        }
        return squares.squareRoot()
    }

    /// θ ← θ − lr·g for one parameter, one pass over its memory, split across the workers;
    /// the momentum and Nesterov branches are outside the loops so each loop vectorises.
    private func update(
        theta: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, velocity buf: UnsafeMutablePointer<Float>,
        count: Int, weightDecay wd: Float
    ) {
        let (mu, lr, nesterov) = (momentum, learningRate, nesterov)
        Parallel.forRanges(count, costPerItem: 4) { range in
            if mu == 0 {
                for i in range { theta[i] -= lr * (grad[i] + wd * theta[i]) }
            } else if nesterov {
                for i in range {
                    let g = grad[i] + wd * theta[i]
                    let v = mu * buf[i] + g
                    buf[i] = v
                    theta[i] -= lr * (g + mu * v)
                }
            } else {
                for i in range {
                    let g = grad[i] + wd * theta[i]
                    let v = mu * buf[i] + g
                    buf[i] = v
                    theta[i] -= lr * v
                }
            }
        }
    }

    @discardableResult
    public func step(_ net: Backbone) -> Double { step(net.parameters) }

    /// Momentum buffers as `momentum.<parameter name>` tensors for a checkpoint.
    public func stateDict() -> [String: NamedTensor] {
        Dictionary(
            uniqueKeysWithValues: velocity.map {
                ("momentum." + $0.key, NamedTensor(floats: $0.value.values, shape: $0.value.shape))
            })
    }

    /// Restores momentum buffers written by `stateDict`; other keys are ignored.
    public func load(_ dict: [String: NamedTensor]) {
        velocity = [:]
        for (key, tensor) in dict where key.hasPrefix("momentum.") {
            velocity[String(key.dropFirst("momentum.".count))] = Tensor(shape: tensor.shape, values: tensor.floats)
        }
    }
}
