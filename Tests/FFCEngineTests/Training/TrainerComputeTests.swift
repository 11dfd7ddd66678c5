// The FFC step's compute: each pass forwards every probe image through the probe net once
// (x, then y, with x's kept state set aside), and the gallery net once, so a step's forward
// work is `multiplyAddsPerImage` × the configured images per net, exactly.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct TrainerComputeTests {
    @Test func eachStepForwardsEveryProbeImageOnce() throws {
        let config = TrainerFixture.config("once", steps: 3)
        defer { try? FileManager.default.removeItem(atPath: config.runDir) }
        let trainer = try Trainer(config: config, makeHead: Trainer.makeHead)
        defer { trainer.stopLoaders() }
        let gallery = try #require(trainer.gallery)
        for _ in 0..<3 {
            let (probeBefore, galleryBefore) = (trainer.probe.forwardedImages, gallery.net.forwardedImages)
            let step = try trainer.runStep()
            #expect(step.updated)
            // Counted, not timed: a second forward of x (the old re-run for its backward)
            // would make this 1.5× the configured count.
            #expect(trainer.probe.forwardedImages - probeBefore == config.probeImagesPerStep)
            #expect(gallery.net.forwardedImages - galleryBefore == config.probeImagesPerStep)
        }
    }
}

@Suite struct TrainerExecutedComputeTests {
    /// The multiply-adds the layers ran in a step, counted as they run, are the model's
    /// count × the images each net should forward (±5%, the bound; exact here), and
    /// the probe's backward is its forward twice (dW and dX) less the stem's dX.
    @Test func stepComputeMatchesModelCountTimesImages() throws {
        let config = TrainerFixture.config("compute", steps: 2)
        defer { try? FileManager.default.removeItem(atPath: config.runDir) }
        let trainer = try Trainer(config: config, makeHead: Trainer.makeHead)
        defer { trainer.stopLoaders() }
        let perImage = trainer.probe.multiplyAddsPerImage
        let stem = try #require(trainer.probe.network.walk().first { $0.layer.children.isEmpty }?.layer as? Conv2D)
        let side = trainer.probe.inputSize
        let stemPerImage = stem.multiplyAdds([1, side, side, 3])
        for _ in 0..<2 {
            _ = try trainer.runStep()
            let compute = trainer.lastStepCompute
            let images = config.probeImagesPerStep
            #expect(compute.probeImages == images && compute.galleryImages == images)
            #expect(abs(compute.forwardRatio - 1) <= 0.05)
            #expect(compute.probeForward == perImage * images)
            #expect(compute.galleryForward == perImage * images)
            #expect(compute.probeBackward == (2 * perImage - stemPerImage) * images)
        }
    }

    /// The counter sees a repeated forward: forwarding the same batch twice doubles it.
    @Test func counterCountsEveryForward() throws {
        let net = try Backbone.make(name: "tiny", embeddingSize: 16, inputSize: 32, seed: 1)
        let x = Tensor(shape: [2, 32, 32, 3])
        _ = net.forward(input: x, training: true, keepingActivations: false)
        #expect(net.executed.forward == 2 * net.multiplyAddsPerImage)
        _ = net.forward(input: x, training: true, keepingActivations: false)
        #expect(net.executed.forward == 4 * net.multiplyAddsPerImage)
    }
}
