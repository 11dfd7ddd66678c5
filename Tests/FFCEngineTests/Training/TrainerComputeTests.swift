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
