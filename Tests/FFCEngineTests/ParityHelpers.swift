// PyTorch parity helpers: fixture loading, the per-tensor comparison every parity test uses
// (printing the first values as OK / NOT OK, llm.c style), and the deterministic weights
// tools/reference/engine_models.py computes on the Python side.
import Foundation
import Testing

@testable import FFCEngine

func engineFixture(_ name: String) throws -> SafeTensorsFile {
    let url = try #require(
        Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures/engine"),
        "missing fixture \(name); run tools/reference/engine_reference.py")
    return try SafeTensorsFile.read(path: url.path)
}

/// ‖a − b‖ / ‖b‖: one number per tensor, robust to individual near-zero entries.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    var diff = 0.0
    var norm = 0.0
    for (x, y) in zip(a, b) {
        diff += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return (diff / max(norm, 1e-30)).squareRoot()
}

/// Expects `actual` to match the fixture tensor within `tolerance` relative error; with
/// FFC_DEBUG ≥ 1 in the environment, prints the first values side by side.
func expectClose(
    _ label: String, _ actual: [Float], _ expected: NamedTensor, tolerance: Double = 1e-4,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let reference = expected.floats
    #expect(
        actual.count == reference.count, "\(label): \(actual.count) values, fixture has \(reference.count)",
        sourceLocation: sourceLocation)
    let error = relativeError(actual, reference)
    if (Int(ProcessInfo.processInfo.environment["FFC_DEBUG"] ?? "0") ?? 0) >= 1 || error > tolerance {
        let verdict = error <= tolerance ? "OK" : "NOT OK"
        let firsts = zip(actual, reference).prefix(4).map { String(format: "%.6f/%.6f", $0.0, $0.1) }
        print("\(verdict) \(label): relative error \(String(format: "%.2e", error)) [\(firsts.joined(separator: " "))]")
    }
    #expect(error <= tolerance, "\(label): relative error \(error) > \(tolerance)", sourceLocation: sourceLocation)
}

/// The weights engine_models.formula_value gives the k-th parameter in sorted name order,
/// element i of the engine's layout: sin(0.37·i + 1.3·k) scaled by role, plus the phase
/// 1e-4·i² when `chirp` (r50: it makes the weight matrices full rank; see formula_value).
func loadFormulaWeights(_ net: Backbone, chirp: Bool = false) {
    let byName = Dictionary(uniqueKeysWithValues: net.parameters.map { ($0.name, $0.parameter) })
    for (k, name) in byName.keys.sorted().enumerated() {
        let p = byName[name]!
        for i in 0..<p.value.count {
            let s = sin(0.37 * Double(i) + 1.3 * Double(k) + (chirp ? (1e-4 * Double(i)) * Double(i) : 0))
            let v: Double
            switch p.role {
            case .weight: v = s * (3.0 / Double(p.fanIn)).squareRoot()
            case .bias: v = 0.1 * s
            case .normScale: v = 1 + 0.1 * s
            case .normShift: v = 0.1 * s
            case .preluSlope: v = 0.25 + 0.05 * s
            }
            p.value[i] = Float(v)
        }
    }
}

/// x[j] = sin(0.0123·j) + 0.5·cos(0.037·j) over the flat NHWC index j.
func formulaInput(_ shape: [Int]) -> Tensor {
    let t = Tensor(shape: shape)
    for j in 0..<t.count { t[j] = Float(sin(0.0123 * Double(j)) + 0.5 * cos(0.037 * Double(j))) }
    return t
}

/// R[j] = cos(0.91·j): the loss is Σ embedding·R, so R is the embedding gradient.
func formulaLossWeights(_ shape: [Int]) -> Tensor {
    let t = Tensor(shape: shape)
    for j in 0..<t.count { t[j] = Float(cos(0.91 * Double(j))) }
    return t
}
