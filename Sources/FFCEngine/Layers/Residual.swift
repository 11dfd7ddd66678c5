// Residual: y = body(x) + shortcut(x), the shortcut being identity or a projection
// (arcface_torch's `downsample`), optionally followed by a ReLU (torchvision's Bottleneck).
// The body's parameters keep their own names; the projection's live under `downsample.`, as
// in PyTorch's IBasicBlock.
import Foundation

public final class Residual: Layer {
    public let body: Sequential
    public let shortcut: Sequential?
    /// Applied to the sum (ResNet); nil for IResNet and MobileFaceNet blocks.
    public let activation: ReLU?

    /// Where the add's time goes, when attached (Sequential.attach).
    var profile: LayerProfile?

    public init(body: Sequential, shortcut: Sequential? = nil, activation: ReLU? = nil) {
        self.body = body
        self.shortcut = shortcut
        self.activation = activation
    }

    public var parameters: [NamedParameter] {
        body.parameters + (shortcut.map { prefixed("downsample", $0.parameters) } ?? [])
    }

    public var buffers: [NamedBuffer] {
        body.buffers + (shortcut.map { prefixed("downsample", $0.buffers) } ?? [])
    }

    public var children: [(name: String, layer: any Layer)] {
        body.layers + (shortcut.map { [(name: "downsample", layer: $0 as any Layer)] } ?? [])
            + (activation.map { [(name: "relu", layer: $0 as any Layer)] } ?? [])
    }

    public var summary: String { shortcut == nil ? "Residual (identity)" : "Residual (projection)" }
    public func outputShape(_ input: [Int]) -> [Int] { body.outputShape(input) }

    public func multiplyAdds(_ input: [Int]) -> Int {
        body.multiplyAdds(input) + (shortcut?.multiplyAdds(input) ?? 0)
    }

    public func takeSaved() -> SavedActivations? {
        [body.takeSaved(), shortcut?.takeSaved()] as [SavedActivations?]
    }

    public func restoreSaved(_ saved: SavedActivations?) {
        let parts = saved as? [SavedActivations?] ?? [nil, nil]
        body.restoreSaved(parts[0])
        shortcut?.restoreSaved(parts[1])
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        forward(x, training: training, keepingActivations: true)
    }

    /// See `Sequential.forward(_:training:keepingActivations:)`.
    func forward(_ x: Tensor, training: Bool, keepingActivations keep: Bool) -> Tensor {
        let main = body.forward(x, training: training, keepingActivations: keep)
        let side = shortcut?.forward(x, training: training, keepingActivations: keep) ?? x
        precondition(main.shape == side.shape, "residual body \(main.shape) vs shortcut \(side.shape)")
        let y = Tensor(pooled: main.shape)
        add(main, side, into: y, backward: false)
        guard let activation else { return y }
        return timed("ReLU", backward: false) { activation.forward(y, training: training) }
    }

    /// `body`, timed under `kind` when a profile is attached.
    private func timed(_ kind: String, backward: Bool, _ body: () -> Tensor) -> Tensor {
        guard let profile else { return body() }
        return profile.time(kind, backward: backward, body)
    }

    public func backward(_ dOutput: Tensor) -> Tensor {
        let dy = activation.map { relu in timed("ReLU", backward: true) { relu.backward(dOutput) } } ?? dOutput
        let mainGrad = body.backward(dy)
        let sideGrad = shortcut?.backward(dy) ?? dy
        let dx = Tensor(pooled: mainGrad.shape)
        add(mainGrad, sideGrad, into: dx, backward: true)
        return dx
    }

    /// out = a + b, eight floats per SIMD step, workers splitting the range.
    private func add(_ a: Tensor, _ b: Tensor, into out: Tensor, backward: Bool) {
        let (left, right, dst) = (UnsafePointer(a.pointer), UnsafePointer(b.pointer), out.pointer)
        func run() {
            forEachLaneGroup(count: out.count) { i, width in
                storeLanes(loadLanes(left + i, width) + loadLanes(right + i, width), dst + i, width)
            }
        }
        if let profile { profile.time("Residual add", backward: backward, run) } else { run() }
    }
}
