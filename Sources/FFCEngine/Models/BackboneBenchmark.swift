// BackboneBenchmark: images per second of a backbone's training step (forward, backward of
// Σ embedding·R, SGD with momentum, Nesterov and weight decay) or eval forward, and the
// GFLOP/s its dense convolutions reach — what `ffc bench engine` reports next to PyTorch.
import Foundation

public struct BackboneBenchmark: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case train, infer }

    public struct Result: Sendable {
        public let imagesPerSecond: Double
        /// Throughput of the dense convolutions alone (2 flops per multiply-add) while timed.
        public let convolutionGFLOPs: Double
        /// Share of the step's time spent in dense convolutions.
        public let convolutionTimeShare: Double
    }

    public let model: String
    public let mode: Mode
    public let batch: Int
    public let inputSize: Int

    public init(model: String, mode: Mode, batch: Int, inputSize: Int = 112) {
        self.model = model
        self.mode = mode
        self.batch = batch
        self.inputSize = inputSize
    }

    /// One warm-up step, then `runs` timed steps; throughput from the median step time.
    /// With `profile`, the timed steps' layer times (plus "zero gradients" and "SGD step")
    /// are summed into it.
    public func run(runs: Int, profile: LayerProfile? = nil) throws -> Result {
        let net = try Backbone.make(name: model, embeddingSize: 512, inputSize: inputSize, seed: 0)
        var generator = SeededGenerator(seed: 1)
        let x = Tensor(shape: [batch, inputSize, inputSize, 3])
        for i in 0..<x.count { x[i] = generator.uniform(-1, 1) }
        let r = Tensor(shape: [batch, 512])
        for i in 0..<r.count { r[i] = generator.uniform(-1, 1) }
        let sgd = SGD(learningRate: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4)
        let convolutions = net.convolutions
        func step() {
            switch mode {
            case .train:
                if let profile { profile.time("zero gradients", backward: true) { net.zeroGrad() } } else { net.zeroGrad() }
                _ = net.forward(input: x, training: true)
                net.backward(r)
                if let profile { profile.time("SGD step", backward: true) { sgd.step(net) } } else { sgd.step(net) }
            case .infer:
                _ = net.forward(input: x, training: false)
            }
        }
        step()
        net.network.attach(profile)
        var seconds: [Double] = []
        var convSeconds = 0.0
        var convMultiplyAdds = 0.0
        for _ in 0..<max(1, runs) {
            for c in convolutions { c.resetProfile() }
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            convSeconds += convolutions.reduce(0) { $0 + $1.profileSeconds }
            convMultiplyAdds += convolutions.reduce(0) { $0 + $1.profileMultiplyAdds }
        }
        let median = seconds.sorted()[seconds.count / 2]
        return Result(
            imagesPerSecond: Double(batch) / median,
            convolutionGFLOPs: 2 * convMultiplyAdds / max(convSeconds, 1e-9) / 1e9,
            convolutionTimeShare: convSeconds / seconds.reduce(0, +))
    }
}
