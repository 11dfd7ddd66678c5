// Head: the FFC step against the PyTorch reference (tools/reference/head_reference.py) and a
// finite-difference check of the analytic backward.
import Foundation
import Testing

@testable import FFCEngine

/// Loads one reference case into a pool and head exactly as the reference starts.
struct HeadFixture {
    let file: SafeTensorsFile
    let head: FFCHead
    let q: Int
    let d: Int

    init(_ name: String) throws {
        let url = Bundle.module.url(forResource: "Fixtures/head/\(name)", withExtension: "safetensors")!
        file = try SafeTensorsFile.read(path: url.path)
        let bank = try file.require("in.bank")
        q = bank.shape[1]
        d = bank.shape[2]
        var pool = try ClassPool(capacity: q, featureDim: d, seed: 1)
        let b = bank.floats
        pool.bank0 = Array(b[0..<(q * d)])
        pool.bank1 = Array(b[(q * d)...])
        let position = try file.require("in.position").ints.map { UInt8($0) }
        for key in try file.require("in.lru_keys").ints { _ = pool.lru.get(Int(key)) }
        pool.position = position
        for s in 0..<q where pool.lru.key(atSlot: s) != nil {
            pool.writes[s] = position[s] == 1 ? 1 : 2
        }
        pool._checkInvariants()
        let config = try file.require("in.config").ints
        let sm = try file.require("in.scale_margin").floats
        head = FFCHead(
            pool: pool,
            loss: MarginLoss(type: MarginType.allCases[Int(config[2])], scale: sm[0], margin: sm[1]))
    }

    func floats(_ name: String) throws -> [Float] { try file.require(name).floats }
    func labels(_ name: String) throws -> [Int] { try file.require(name).ints.map { Int($0) } }

    func step() throws -> FFCStepResult {
        let config = try file.require("in.config").ints
        return head.ffcStep(
            probeX: try floats("in.probe_x"), galleryY: try floats("in.gallery_y"),
            labelsX: try labels("in.labels_x"),
            labelsY: try labels("in.labels_y"), probeY: try floats("in.probe_y"),
            galleryX: try floats("in.gallery_x"),
            step: Int(config[1]), pairRows: Int(config[0]))
    }
}

@Suite struct FFCHeadReferenceTests {
    static let cases = ["repeated", "outliers", "evictions"].flatMap { c in
        ["AM", "Arc", "SV"].map { "\(c)_\($0)" }
    }

    @Test(arguments: cases)
    func stepMatchesPyTorchReference(_ name: String) throws {
        let fixture = try HeadFixture(name)
        let result = try fixture.step()
        // The reference is float64; each bound is that step's float32 error bound (see
        // tools/reference/head_reference.py and f32bound.py): ~3e-7 of the loss, ~1e-6 of the
        // gradient's norm.
        let expectedLoss = try fixture.floats("out.loss")
        let lossBound = try fixture.floats("out.loss.f32bound")
        let loss = [
            result.pass1.lossMargin, result.pass1.lossOutlier, result.pass2.lossMargin,
            result.pass2.lossOutlier,
        ]
        for i in loss.indices {
            #expect(
                abs(Double(loss[i]) - Double(expectedLoss[i])) <= Double(lossBound[i]),
                "\(name) loss part \(i): \(loss[i]) vs \(expectedLoss[i]) ± \(lossBound[i])")
        }
        for (side, got) in [("x", result.gradProbeX), ("y", result.gradProbeY)] {
            let error = relativeError(got, try fixture.floats("out.grad_\(side)"))
            let bound = Double(try fixture.floats("out.grad_\(side).f32bound")[0])
            #expect(error <= bound, "\(name) grad \(side): relative error \(error) > \(bound)")
        }
        let pool = fixture.head.pool
        #expect(
            pool.bank0 + pool.bank1 == (try fixture.floats("out.bank")), "\(name) banks after the step")
        #expect(
            pool.position.map { Int($0) } == (try fixture.labels("out.position")), "\(name) positions")
        let order = pool.lru.recencyOrder()
        #expect(order.map(\.key) == (try fixture.labels("out.lru_keys")), "\(name) LRU order")
        #expect(order.map(\.slot) == (try fixture.labels("out.lru_slots")), "\(name) LRU slots")
        #expect(result.evictions == (try fixture.labels("out.evictions"))[0], "\(name) evictions")
        #expect(!pool.hasOpenJournal)
    }

    /// Central differences of the pass loss wrt each probe coordinate against the analytic
    /// gradient (double-checked in Float with a step large enough to dodge rounding).
    @Test(arguments: ["outliers_AM", "repeated_Arc", "evictions_SV"])
    func backwardMatchesFiniteDifferences(_ name: String) throws {
        let fixture = try HeadFixture(name)
        let probe = try fixture.floats("in.probe_x")
        let labels = try fixture.labels("in.labels_x")
        let gallery = try fixture.floats("in.gallery_y")
        let galleryLabels = try fixture.labels("in.labels_y")
        let head = fixture.head
        func loss(_ p: [Float]) -> Double {
            head.rollbackPass(
                probe: p, probeLabels: labels, gallery: gallery, galleryLabels: galleryLabels, step: 1, pairRows: 0
            ).loss
        }
        let analytic = head.rollbackPass(
            probe: probe, probeLabels: labels, gallery: gallery, galleryLabels: galleryLabels, step: 1, pairRows: 0
        ).gradProbe
        let h: Float = 1e-3
        var worst: Double = 0
        for i in stride(from: 0, to: probe.count, by: 3) {
            var plus = probe
            var minus = probe
            plus[i] += h
            minus[i] -= h
            let numeric = (loss(plus) - loss(minus)) / Double(2 * h)
            worst = max(worst, abs(numeric - Double(analytic[i])) / max(abs(numeric), 0.05))
        }
        #expect(worst < 2e-2, "\(name): worst relative difference \(worst)")
    }
}
