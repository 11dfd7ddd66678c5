// Shared helpers for the engine tests: deterministic tensors and a central-difference
// gradient check of a layer's input and parameter gradients against the loss Σ y·R.
import Foundation
import Testing

@testable import FFCEngine

/// Values in [−1, 1) from a seed; `awayFromZero` keeps |v| ≥ 0.1 so ReLU/PReLU kinks
/// stay out of the finite-difference step.
func randomTensor(_ shape: [Int], seed: UInt64, awayFromZero: Bool = false) -> Tensor {
    var g = SeededRandom(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count {
        var v = g.uniform(-1, 1)
        if awayFromZero { v = v < 0 ? v - 0.1 : v + 0.1 }
        t[i] = v
    }
    return t
}

/// Fills every parameter of `layer` with seeded values (γ near 1, slopes near 0.25).
func randomizeParameters(_ layer: any Layer, seed: UInt64) {
    var g = SeededRandom(seed: seed)
    for p in layer.parameters {
        for i in 0..<p.value.count {
            switch p.parameter.role {
            case .normScale: p.value[i] = g.uniform(0.5, 1.5)
            case .preluSlope: p.value[i] = g.uniform(0.1, 0.4)
            default: p.value[i] = g.uniform(-0.5, 0.5)
            }
        }
    }
}

/// Compares analytical gradients of L = Σ y·R (R seeded) with central differences of
/// step `h`, at up to `samples` positions of the input and of every parameter.
/// Passes when |numeric − analytic| ≤ tolerance·(|numeric| + |analytic|) + absolute.
func checkGradients(
    _ layer: any Layer, input: Tensor, training: Bool = true, h: Float = 1e-2,
    tolerance: Float = 1e-2, absolute: Float = 2e-3, samples: Int = 24,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    func loss(_ y: Tensor, _ r: Tensor) -> Double {
        var s = 0.0
        for i in 0..<y.count { s += Double(y[i]) * Double(r[i]) }
        return s
    }
    for p in layer.parameters { p.grad.zero() }
    let y = layer.forward(input, training: training)
    let r = randomTensor(y.shape, seed: 99)
    let dx = layer.backward(r).clone()
    let analyticParams = layer.parameters.map { ($0.name, $0.value, $0.grad.clone()) }
    let targets = [("input", input, dx)] + analyticParams
    for (name, tensor, analytic) in targets {
        let stride = max(1, tensor.count / samples)
        var worst: (index: Int, numeric: Float, analytic: Float)? = nil
        for i in Swift.stride(from: 0, to: tensor.count, by: stride) {
            let saved = tensor[i]
            tensor[i] = saved + h
            let plus = loss(layer.forward(input, training: training), r)
            tensor[i] = saved - h
            let minus = loss(layer.forward(input, training: training), r)
            tensor[i] = saved
            let numeric = Float((plus - minus) / Double(2 * h))
            let error = abs(numeric - analytic[i])
            if error > tolerance * (abs(numeric) + abs(analytic[i])) + absolute, worst == nil {
                worst = (i, numeric, analytic[i])
            }
        }
        #expect(
            worst == nil,
            "\(layer.summary) d\(name)[\(worst?.index ?? -1)]: numeric \(worst?.numeric ?? 0) vs analytic \(worst?.analytic ?? 0)",
            sourceLocation: sourceLocation)
    }
}
