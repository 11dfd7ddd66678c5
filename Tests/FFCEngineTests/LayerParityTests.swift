// Every layer against PyTorch: outputs, input gradients, parameter gradients and running
// statistics from tools/reference/engine_reference.py (layers.safetensors), computed in
// float64 from the same float32 inputs. Each result must be within its `<key>.f32bound`, the
// float32 error bound of that layer's computation (tools/reference/f32bound.py; see
// BackboneParityTests): ~2e-7 for an exact layer (ReLU), up to ~2e-6 for a 5×5 convolution.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct LayerParityTests {
    static let cases: [(String, @Sendable () -> any Layer, Bool)] = [
        ("conv3x3s2", { Conv2D(3, 5, kernel: 3, stride: 2, padding: 1) }, true),
        ("conv1x1", { Conv2D(4, 6, kernel: 1) }, true),
        ("conv1x1s2", { Conv2D(4, 6, kernel: 1, stride: 2) }, true),
        ("conv5x5", { Conv2D(3, 4, kernel: 5, padding: 2) }, true),
        ("dw3x3s2", { DepthwiseConv2D(12, kernel: 3, stride: 2, padding: 1) }, true),
        ("dw7", { DepthwiseConv2D(16, kernel: 7) }, true),
        ("bn2d", { BatchNorm(5) }, true),
        ("bn2d_eval", { BatchNorm(5) }, false),
        ("bn1d", { BatchNorm(6) }, true),
        ("prelu", { PReLU(5) }, true),
        ("linear", { Linear(7, 5) }, true),
        ("relu", { ReLU() }, true),
        ("l2norm", { L2Normalize() }, true),
        // Batch norm then PReLU: Sequential runs the pair as one fused pass.
        ("bn2d_prelu", { Sequential([("bn", BatchNorm(11)), ("prelu", PReLU(11))]) }, true),
        ("bn2d_prelu_eval", { Sequential([("bn", BatchNorm(11)), ("prelu", PReLU(11))]) }, false),
    ]

    @Test(arguments: cases.map(\.0))
    func layerMatchesPyTorch(name: String) throws {
        let file = try engineFixture("layers")
        let entry = try #require(Self.cases.first { $0.0 == name })
        let layer = entry.1()
        for p in layer.parameters {
            let stored = try file.require("\(name).p.\(p.name)")
            #expect(stored.shape == p.value.shape, "\(name).\(p.name) shape")
            p.value.copy(from: Tensor(shape: p.value.shape, values: stored.floats))
        }
        for b in layer.buffers {
            b.tensor.copy(from: Tensor(shape: b.tensor.shape, values: try file.require("\(name).b.\(b.name)").floats))
        }
        let xStored = try file.require("\(name).x")
        let x = Tensor(shape: xStored.shape, values: xStored.floats)
        let y = layer.forward(x, training: entry.2)
        func bound(_ key: String) throws -> Double { Double(try file.require("\(name).\(key).f32bound").floats[0]) }
        expectClose("\(name) y", y.values, try file.require("\(name).y"), tolerance: try bound("y"))
        let dyStored = try file.require("\(name).dy")
        let dx = layer.backward(Tensor(shape: dyStored.shape, values: dyStored.floats))
        expectClose("\(name) dx", dx.values, try file.require("\(name).dx"), tolerance: try bound("dx"))
        for p in layer.parameters {
            expectClose(
                "\(name) d\(p.name)", p.grad.values, try file.require("\(name).g.\(p.name)"),
                tolerance: try bound("g.\(p.name)"))
        }
        for b in layer.buffers {
            expectClose(
                "\(name) \(b.name)", b.tensor.values, try file.require("\(name).after.\(b.name)"),
                tolerance: try bound("after.\(b.name)"))
        }
    }
}
