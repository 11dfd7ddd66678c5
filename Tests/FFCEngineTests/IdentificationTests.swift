import Foundation
import Testing

@testable import FFCEngine

@Suite struct IdentificationTests {
    private func load() throws -> (probes: [Float], pl: [Int], gallery: [Float], gl: [Int], distractors: NPYFile) {
        (
            try NPYArray.read(path: EvalFixture.path("identify_probes.npy")).floats(),
            try NPYArray.read(path: EvalFixture.path("identify_probe_labels.npy")).ints().map(Int.init),
            try NPYArray.read(path: EvalFixture.path("identify_gallery.npy")).floats(),
            try NPYArray.read(path: EvalFixture.path("identify_gallery_labels.npy")).ints().map(Int.init),
            try NPYFile(path: EvalFixture.path("identify_distractors.npy"))
        )
    }

    /// Block sizes that split the gallery, straddle gallery and distractors, and hold all at once.
    @Test(arguments: [37, 512, 4096])
    func matchesTheNumpyReferenceExactly(blockRows: Int) throws {
        let f = try load()
        let r = try Identification.evaluate(
            probes: f.probes, probeLabels: f.pl, gallery: f.gallery, galleryLabels: f.gl,
            distractors: f.distractors, dim: 32, normalize: false, blockRows: blockRows)
        let e = try EvalFixture.json("identify_expected.json")
        #expect(r.rank1 == e["rank1"] as! Double)
        #expect(r.genuineCount == e["genuine_count"] as! Int)
        #expect(r.impostorCount == e["impostor_count"] as! Int)
        let rows = e["tar_at_far"] as! [[String: Double]]
        #expect(r.tarAtFar.count == rows.count)
        for (got, want) in zip(r.tarAtFar, rows) {
            #expect(got.farTarget == want["far_target"]!)
            #expect(got.threshold == want["threshold"]!)
            #expect(abs(got.far - want["far"]!) < 1e-12)
            #expect(abs(got.tar - want["tar"]!) < 1e-12, "TAR@FAR \(got.farTarget)")
        }
    }

    @Test func streamingFromFileEqualsInMemory() throws {
        let f = try load()
        let all = try NPYArray.read(path: EvalFixture.path("identify_distractors.npy")).floats()
        let a = try Identification.evaluate(
            probes: f.probes, probeLabels: f.pl, gallery: f.gallery, galleryLabels: f.gl,
            distractors: InMemoryDistractors(all, dim: 32), dim: 32, blockRows: 300)
        let b = try Identification.evaluate(
            probes: f.probes, probeLabels: f.pl, gallery: f.gallery, galleryLabels: f.gl,
            distractors: f.distractors, dim: 32, blockRows: 1000)
        #expect(a.rank1 == b.rank1)
        #expect(a.tarAtFar == b.tarAtFar)
    }

    @Test func perfectGalleryWithoutDistractorsFindsEveryone() throws {
        let gallery: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        let r = try Identification.evaluate(
            probes: gallery, probeLabels: [0, 1, 2], gallery: gallery, galleryLabels: [0, 1, 2],
            distractors: InMemoryDistractors([], dim: 3), dim: 3)
        #expect(r.rank1 == 1)
        #expect(r.genuineCount == 3 && r.impostorCount == 6)
        #expect(r.tarAtFar.isEmpty, "6 impostor scores allow no FAR target (6 × 0.1 < 1)")
    }

    @Test func labelCountMismatchIsAnError() {
        #expect(throws: IdentificationError.labelCount(what: "gallery", labels: 1, rows: 2)) {
            _ = try Identification.evaluate(
                probes: [1, 0], probeLabels: [0], gallery: [1, 0, 0, 1], galleryLabels: [0],
                distractors: InMemoryDistractors([], dim: 2), dim: 2)
        }
    }
}
