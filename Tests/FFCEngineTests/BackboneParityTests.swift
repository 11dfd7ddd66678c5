// mobilefacenet and ir18 against PyTorch: one training forward/backward of 8 images at
// 32×32 (both take any multiple of 16; small keeps the debug-build test fast) with formula
// weights (backbones.safetensors), then an eval forward. r50 the same with 4 images at 64×64
// (it takes any multiple of 32) and chirped formula weights (r50.safetensors).
//
// Tolerance: the references are PyTorch in float64 on the same float32 inputs and weights.
// Each tensor's `<key>.f32bound` is the float32 error bound of that step, derived in
// tools/reference/f32bound.py: every accumulation of n terms errs with variance at most
// u²/3·(n+1)·(Σt²/2 + y²/3) (u = 2⁻²⁴, one independent rounding per term, partial sums
// walking to the result y in whatever order the kernels add), propagated through the rest of
// the step by running it 16 times in float64 with that noise injected; the bound is 4 × the
// root mean square relative error of those runs, plus 4u. It holds for any summation order,
// blocking or thread split, so it must hold on every CPU and tuning. (Measured: PyTorch's own
// float32 run, `<key>.f32error`, is 7–60× inside it.)
import Foundation
import Testing

@testable import FFCEngine

@Suite struct BackboneParityTests {
    @Test(arguments: ["mobilefacenet", "ir18", "r50"])
    func backboneMatchesPyTorch(name: String) throws {
        let file = try engineFixture(name == "r50" ? "r50" : "backbones")
        func bound(_ key: String) throws -> Double {
            Double(try file.require(key + ".f32bound").floats[0])
        }
        let (batch, side) = name == "r50" ? (4, 64) : (8, 32)
        let net = try Backbone.make(name: name, embeddingSize: 512, inputSize: side, seed: 0)
        loadFormulaWeights(net, chirp: name == "r50")
        let x = formulaInput([batch, side, side, 3])
        let embedding = net.forward(input: x, training: true)
        expectClose(
            "\(name) embedding", embedding.values, try file.require("\(name).embedding"),
            tolerance: try bound("\(name).embedding"))
        let r = formulaLossWeights(embedding.shape)
        var loss = 0.0
        for i in 0..<embedding.count { loss += Double(embedding[i]) * Double(r[i]) }
        expectClose(
            "\(name) loss", [Float(loss)], try file.require("\(name).loss"), tolerance: try bound("\(name).loss"))
        net.zeroGrad()
        let dInput = try #require(net.backward(r, inputGradient: true))
        expectClose(
            "\(name) dinput", dInput.values, try file.require("\(name).dinput"), tolerance: try bound("\(name).dinput"))
        let byName = Dictionary(uniqueKeysWithValues: net.parameters.map { ($0.name, $0) })
        for (key, stored) in file.tensors
        where key.hasPrefix("\(name).grad.") && !key.hasSuffix(".f32error") && !key.hasSuffix(".f32bound") {
            let param = try #require(byName[String(key.dropFirst("\(name).grad.".count))], "no parameter for \(key)")
            #expect(param.grad.shape == stored.shape, "\(key) shape")
            expectClose(key, param.grad.values, stored, tolerance: try bound(key))
        }
        let norms = byName.keys.sorted().map { Float(byName[$0]!.grad.sumOfSquares.squareRoot()) }
        expectClose(
            "\(name) per-parameter gradient norms", norms, try file.require("\(name).gradnorms"),
            tolerance: try bound("\(name).gradnorms"))
        let buffers = Dictionary(uniqueKeysWithValues: net.buffers.map { ($0.name, $0.tensor) })
        for (key, stored) in file.tensors
        where key.hasPrefix("\(name).running.") && !key.hasSuffix(".f32error") && !key.hasSuffix(".f32bound") {
            let buffer = try #require(buffers[String(key.dropFirst("\(name).running.".count))], "no buffer for \(key)")
            expectClose(key, buffer.values, stored, tolerance: try bound(key))
        }
        let evalEmbedding = net.forward(input: x, training: false)
        expectClose(
            "\(name) eval embedding", evalEmbedding.values, try file.require("\(name).embedding_eval"),
            tolerance: try bound("\(name).embedding_eval"))
    }

    /// r50 at its own 224×224 input has the parameters PyTorch's model has (the 2048×7×7 FC).
    @Test func r50ParameterCountMatchesPyTorchAt224() throws {
        let file = try engineFixture("r50")
        let stated = try #require(file.metadata["parameters_224"].flatMap { Int($0) })
        #expect(Backbone.defaultInputSize(name: "r50") == 224)
        // The layers alone (no seeded initialisation of 75 M weights: seconds in a debug build).
        let network = try Backbone.resnet(name: "r50", blocks: [3, 4, 6, 3], embeddingSize: 512, inputSize: 224)
        #expect(network.parameters.reduce(0) { $0 + $1.parameter.value.count } == stated)
        #expect(throws: BackboneError.self) { try Backbone.make(name: "r50", inputSize: 112) }
    }
}
