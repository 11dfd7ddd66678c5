// BackboneBenchmark: images per second of a backbone's training step (forward, backward of
// Σ embedding·R, SGD with momentum, Nesterov and weight decay) or eval forward, the GFLOP/s
// its dense convolutions reach (in total and per convolution), and the resident memory
// early and late in the run — what `ffc bench engine` reports next to PyTorch.
import FFCEngine
import Foundation

public struct BackboneBenchmark: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case train, infer }

    /// One dense convolution's time per step, forward and backward.
    public struct ConvolutionProfile: Sendable {
        public let path: String
        public let summary: String
        public let forwardSeconds: Double
        public let backwardSeconds: Double
        /// Multiply-adds per step, forward plus backward.
        public let multiplyAdds: Double
        public var gflops: Double { 2 * multiplyAdds / max(forwardSeconds + backwardSeconds, 1e-12) / 1e9 }
    }

    public struct Result: Sendable {
        public let imagesPerSecond: Double
        /// Median seconds of one step.
        public let stepSeconds: Double
        /// Throughput of the dense convolutions alone (2 flops per multiply-add) while timed.
        public let convolutionGFLOPs: Double
        /// Share of the step's time spent in dense convolutions.
        public let convolutionTimeShare: Double
        /// Per-convolution means over the timed steps, in network order.
        public let convolutions: [ConvolutionProfile]
        /// Resident set size after a tenth of the timed steps and after the last one.
        public let residentBytesEarly: Int
        public let residentBytesLate: Int
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
        var generator = SeededRandom(seed: 1)
        let x = Tensor(shape: [batch, inputSize, inputSize, 3])
        for i in 0..<x.count { x[i] = generator.uniform(-1, 1) }
        let r = Tensor(shape: [batch, 512])
        for i in 0..<r.count { r[i] = generator.uniform(-1, 1) }
        let sgd = SGD(learningRate: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4)
        let convolutions = net.network.walk().compactMap { entry in (entry.layer as? Conv2D).map { (entry.path, $0) } }
        func step() {
            switch mode {
            case .train:
                if let profile {
                    profile.time("zero gradients", backward: true) { net.zeroGrad() }
                } else {
                    net.zeroGrad()
                }
                _ = net.forward(input: x, training: true)
                net.backward(r)
                if let profile { profile.time("SGD step", backward: true) { sgd.step(net) } } else { sgd.step(net) }
            case .infer:
                _ = net.forward(input: x, training: false)
            }
        }
        step()
        net.network.attach(profile)
        let steps = max(1, runs)
        var seconds: [Double] = []
        var forward = [Double](repeating: 0, count: convolutions.count)
        var backward = forward
        var multiplyAdds = forward
        var residentEarly = 0
        for index in 0..<steps {
            for (_, conv) in convolutions { conv.resetProfile() }
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            for (i, (_, conv)) in convolutions.enumerated() {
                forward[i] += conv.profileForwardSeconds
                backward[i] += conv.profileBackwardSeconds
                multiplyAdds[i] += conv.profileMultiplyAdds
            }
            if index == (steps - 1) / 10 { residentEarly = ResidentMemory.bytes() }
        }
        let median = Harness.median(seconds)
        let profiles = convolutions.enumerated().map { i, entry in
            ConvolutionProfile(
                path: entry.0, summary: entry.1.summary, forwardSeconds: forward[i] / Double(steps),
                backwardSeconds: backward[i] / Double(steps), multiplyAdds: multiplyAdds[i] / Double(steps))
        }
        let convSeconds = forward.reduce(0, +) + backward.reduce(0, +)
        return Result(
            imagesPerSecond: Double(batch) / median,
            stepSeconds: median,
            convolutionGFLOPs: 2 * multiplyAdds.reduce(0, +) / max(convSeconds, 1e-9) / 1e9,
            convolutionTimeShare: convSeconds / seconds.reduce(0, +),
            convolutions: profiles,
            residentBytesEarly: residentEarly,
            residentBytesLate: ResidentMemory.bytes())
    }
}
