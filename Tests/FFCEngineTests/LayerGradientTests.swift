// Finite-difference gradient checks for every layer: input gradient and every parameter.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct LayerGradientTests {
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0), (1, 2, 0), (5, 2, 2)])
    func conv2DMatchesFiniteDifferences(kernel: Int, stride: Int, padding: Int) {
        let conv = Conv2D(3, 4, kernel: kernel, stride: stride, padding: padding)
        randomizeParameters(conv, seed: 1)
        checkGradients(conv, input: randomTensor([2, 6, 5, 3], seed: 2))
    }

    @Test func conv2DInSmallChunksMatchesFiniteDifferences() {
        let conv = Conv2D(2, 3, kernel: 3, stride: 1, padding: 1)
        conv.colsBudget = 1  // one image per chunk
        randomizeParameters(conv, seed: 3)
        checkGradients(conv, input: randomTensor([3, 4, 4, 2], seed: 4))
    }

    /// Strided dX adds L2-sized chunks of patch gradients into dX, zeroing input rows as
    /// chunks first reach them: 3-line chunks of 4-line images cross image boundaries, 1-line
    /// chunks split every image, and all must give the one-chunk result.
    @Test(arguments: [(3, 2, 1), (1, 2, 0), (5, 2, 2), (2, 3, 0)])
    func stridedConv2DInputGradientDoesNotDependOnChunks(kernel: Int, stride: Int, padding: Int) {
        let input = randomTensor([3, 7, 7, 3], seed: 11)
        func inputGradient(linesPerChunk: Int?) -> Tensor {
            let conv = Conv2D(3, 4, kernel: kernel, stride: stride, padding: padding)
            randomizeParameters(conv, seed: 12)
            let y = conv.forward(input, training: true)
            if let linesPerChunk { conv.colsBudget = linesPerChunk * y.shape[2] * kernel * kernel * 3 }
            return conv.backward(randomTensor(y.shape, seed: 13)).clone()
        }
        let whole = inputGradient(linesPerChunk: nil)
        for lines in [1, 3] {
            let chunked = inputGradient(linesPerChunk: lines)
            let worst = (0..<whole.count).map { abs(whole[$0] - chunked[$0]) }.max() ?? 0
            #expect(worst <= 1e-5, "\(lines)-line chunks differ by \(worst)")
        }
        let conv = Conv2D(3, 4, kernel: kernel, stride: stride, padding: padding)
        conv.colsBudget = 3 * ((7 + 2 * padding - kernel) / stride + 1) * kernel * kernel * 3
        randomizeParameters(conv, seed: 12)
        checkGradients(conv, input: input)
    }

    @Test(arguments: [(3, 1, 1), (3, 2, 1), (4, 1, 0)])
    func depthwiseConv2DMatchesFiniteDifferences(kernel: Int, stride: Int, padding: Int) {
        // 11 channels: one 8-lane SIMD step plus a scalar tail.
        let conv = DepthwiseConv2D(11, kernel: kernel, stride: stride, padding: padding)
        randomizeParameters(conv, seed: 5)
        checkGradients(conv, input: randomTensor([2, 4, 4, 11], seed: 6))
    }

    /// 3×3 over a non-square input with paddings 0, 1, 2: windows cut by every border, by
    /// none, and dX column taps found once per call for strides 1 and 2.
    @Test(arguments: [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1)])
    func depthwise3x3OnBordersAndInteriorMatchesFiniteDifferences(stride: Int, padding: Int) {
        let conv = DepthwiseConv2D(11, kernel: 3, stride: stride, padding: padding)
        randomizeParameters(conv, seed: 7)
        checkGradients(conv, input: randomTensor([2, 6, 5, 11], seed: 8))
    }

    @Test func batchNorm2DInTrainingMatchesFiniteDifferences() {
        let bn = BatchNorm(5)
        randomizeParameters(bn, seed: 7)
        checkGradients(bn, input: randomTensor([2, 3, 3, 5], seed: 8))
    }

    @Test func batchNorm1DInTrainingMatchesFiniteDifferences() {
        let bn = BatchNorm(6)
        randomizeParameters(bn, seed: 9)
        checkGradients(bn, input: randomTensor([4, 6], seed: 10))
    }

    @Test func batchNormInEvalMatchesFiniteDifferences() {
        let bn = BatchNorm(5)
        randomizeParameters(bn, seed: 11)
        for c in 0..<5 {
            bn.runningMean[c] = Float(c) * 0.1
            bn.runningVariance[c] = 0.5 + Float(c) * 0.2
        }
        checkGradients(bn, input: randomTensor([2, 2, 2, 5], seed: 12), training: false)
    }

    @Test func preluMatchesFiniteDifferences() {
        let prelu = PReLU(5)
        randomizeParameters(prelu, seed: 13)
        checkGradients(prelu, input: randomTensor([2, 3, 2, 5], seed: 14, awayFromZero: true))
    }

    @Test(arguments: [true, false])
    func fusedBatchNormPReLUMatchesFiniteDifferences(training: Bool) {
        // Sequential runs the pair as one fused step; 11 channels: a SIMD step plus a tail.
        // The PReLU's kink must stay out of the finite-difference step: the second image is
        // the first negated (batch mean 0), β = 0 and running mean 0, so every normalised
        // value is at least ~0.08 from zero, more than a step of h moves it.
        let (bn, prelu) = (BatchNorm(11), PReLU(11))
        let pair = Sequential([("bn", bn), ("prelu", prelu)])
        randomizeParameters(pair, seed: 28)
        bn.shift.value.zero()
        for c in 0..<11 { bn.runningVariance[c] = 0.5 + Float(c) * 0.1 }
        let x = randomTensor([2, 3, 3, 11], seed: 29, awayFromZero: true)
        let half = x.count / 2
        for i in 0..<half { x[half + i] = -x[i] }
        checkGradients(pair, input: x, training: training)
    }

    @Test func fusedBatchNormPReLUEqualsTheTwoLayersRunApart() {
        let (bn, prelu) = (BatchNorm(11), PReLU(11))
        let pair = Sequential([("bn", bn), ("prelu", prelu)])
        randomizeParameters(pair, seed: 30)
        let x = randomTensor([3, 4, 5, 11], seed: 31)
        let dy = randomTensor([3, 4, 5, 11], seed: 32)
        let fusedY = pair.forward(x, training: true).clone()
        let fusedDx = pair.backward(dy).clone()
        let fusedGrads = pair.parameters.map { $0.grad.clone() }
        for p in pair.parameters { p.grad.zero() }
        let apartY = prelu.forward(bn.forward(x, training: true), training: true)
        let apartDx = bn.backward(prelu.backward(dy))
        #expect(relativeError(fusedY.values, apartY.values) < 1e-6)
        #expect(relativeError(fusedDx.values, apartDx.values) < 1e-5)
        for (fused, p) in zip(fusedGrads, pair.parameters) {
            #expect(relativeError(fused.values, p.grad.values) < 1e-5, "d\(p.name)")
        }
    }

    @Test func reluMatchesFiniteDifferences() {
        checkGradients(ReLU(), input: randomTensor([2, 3, 2, 4], seed: 15, awayFromZero: true))
    }

    @Test func linearWithAndWithoutBiasMatchesFiniteDifferences() {
        for bias in [true, false] {
            let linear = Linear(7, 5, bias: bias)
            randomizeParameters(linear, seed: 16)
            checkGradients(linear, input: randomTensor([3, 7], seed: 17))
        }
    }

    @Test func flattenThenLinearMatchesFiniteDifferences() {
        let net = Sequential([("flatten", Flatten()), ("fc", Linear(2 * 2 * 3, 4))])
        randomizeParameters(net, seed: 18)
        checkGradients(net, input: randomTensor([2, 2, 2, 3], seed: 19))
    }

    @Test func residualWithProjectionMatchesFiniteDifferences() {
        let block = Residual(
            body: Sequential([
                ("bn1", BatchNorm(3)), ("conv1", Conv2D(3, 4, kernel: 3, padding: 1)),
                ("prelu", PReLU(4)), ("conv2", Conv2D(4, 4, kernel: 3, stride: 2, padding: 1)),
            ]),
            shortcut: Sequential([("0", Conv2D(3, 4, kernel: 1, stride: 2)), ("1", BatchNorm(4))]))
        randomizeParameters(block, seed: 20)
        checkGradients(block, input: randomTensor([2, 4, 4, 3], seed: 21), tolerance: 2e-2)
    }

    @Test func identityResidualMatchesFiniteDifferences() {
        let block = Residual(body: Sequential([("conv", Conv2D(3, 3, kernel: 3, padding: 1))]))
        randomizeParameters(block, seed: 22)
        checkGradients(block, input: randomTensor([1, 3, 3, 3], seed: 23))
    }

    @Test func l2NormalizeMatchesFiniteDifferences() {
        checkGradients(L2Normalize(), input: randomTensor([3, 6], seed: 24), h: 1e-3, absolute: 1e-3)
    }

    @Test func dropoutScalesKeptValuesAndRoutesGradientsThroughTheMask() {
        let dropout = Dropout(0.25, seed: 7)
        let x = randomTensor([64, 32], seed: 25, awayFromZero: true)
        let y = dropout.forward(x, training: true).clone()
        let dy = randomTensor([64, 32], seed: 26)
        let dx = dropout.backward(dy)
        var dropped = 0
        for i in 0..<x.count {
            let mask = y[i] / x[i]
            #expect(abs(mask) < 1e-6 || abs(mask - 1 / 0.75) < 1e-5)
            #expect(abs(dx[i] - dy[i] * mask) < 1e-5)
            if abs(mask) < 1e-6 { dropped += 1 }
        }
        #expect(abs(Double(dropped) / Double(x.count) - 0.25) < 0.04)
        #expect(dropout.forward(x, training: false) === x)
    }

    @Test func tinyBackboneMatchesFiniteDifferencesEndToEnd() throws {
        let net = try Backbone.make(name: "tiny", embeddingSize: 8, inputSize: 32, seed: 3)
        // Slopes of 1 make PReLU smooth: with 0.25, a finite-difference step moves some of
        // the few values in the 2×2 last stage across the kink and the difference quotient,
        // not the gradient, is off by up to 20%. Each PReLU is checked with kinks above.
        for p in net.parameters where p.parameter.role == .preluSlope { p.value.fill(1) }
        checkGradients(
            net.network, input: randomTensor([8, 32, 32, 3], seed: 27), h: 1e-3, tolerance: 3e-2, absolute: 5e-3,
            samples: 6)
    }
}
