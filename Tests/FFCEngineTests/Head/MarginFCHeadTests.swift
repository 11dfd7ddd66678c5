// Head: the full-FC and Partial-FC baselines — gradient wrt features, training lowers the
// loss, Partial FC touches only sampled rows and always keeps the positives.
import Foundation
import Testing

@testable import FFCEngine

func unitRows(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
    var rng = SeededRandom(seed: seed)
    var out = [Float]()
    for _ in 0..<n {
        let row = (0..<d).map { _ in rng.unit() - 0.5 }
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        out += row.map { $0 / norm }
    }
    return out
}

@Suite struct MarginFCHeadTests {
    @Test func featureGradientMatchesFiniteDifferences() throws {
        let d = 6
        let head = MarginFCHead(
            identities: 9, featureDim: d, loss: MarginLoss(type: .arc, scale: 16, margin: 0.3), seed: 1)
        let x = unitRows(3, d, seed: 2)
        let y = unitRows(3, d, seed: 3)
        let batch = HeadBatch(
            probeX: x, probeY: y, labelsX: [0, 4, 8], labelsY: [0, 4, 2], pairRows: 2, step: 0)
        let out = head.forwardBackward(batch)
        let h: Float = 1e-3
        for i in 0..<x.count {
            var plus = batch
            var minus = batch
            plus.probeX[i] += h
            minus.probeX[i] -= h
            let numeric =
                (head.forwardBackward(plus).loss - head.forwardBackward(minus).loss) / Double(2 * h)
            #expect(
                abs(numeric - Double(out.gradProbeX[i])) < 2e-2 * max(abs(numeric), 0.05), "coordinate \(i)"
            )
        }
    }

    @Test func sgdOnWeightsLowersTheLoss() throws {
        let head = MarginFCHead(identities: 20, featureDim: 8, loss: MarginLoss(), seed: 5)
        let batch = HeadBatch(
            probeX: unitRows(4, 8, seed: 6), probeY: unitRows(4, 8, seed: 7), labelsX: [1, 2, 3, 4],
            labelsY: [5, 6, 7, 8],
            pairRows: 2, step: 0)
        let first = head.forwardBackward(batch).loss
        for _ in 0..<30 {
            _ = head.forwardBackward(batch)
            head.update(learningRate: 0.5)
        }
        #expect(head.forwardBackward(batch).loss < first * 0.5)
        #expect(head.name == "fc")
    }

    @Test func partialFCUpdatesOnlySampledRowsIncludingPositives() throws {
        let d = 4
        let head = MarginFCHead(
            identities: 100, featureDim: d, loss: MarginLoss(), sampleRate: 0.1, seed: 8)
        let before = head.weights
        let batch = HeadBatch(
            probeX: unitRows(2, d, seed: 1), probeY: unitRows(2, d, seed: 2), labelsX: [3, 97],
            labelsY: [50, 3], pairRows: 1,
            step: 0)
        _ = head.forwardBackward(batch)
        head.update(learningRate: 0.1)
        let changed = (0..<100).filter {
            head.weights[$0 * d..<($0 + 1) * d] != before[$0 * d..<($0 + 1) * d]
        }
        // ⌈0.1·100⌉ = 10 rows are used; a sampled row whose softmax share underflows may not move.
        #expect(changed.count <= 10)
        #expect(Set([3, 50, 97]).isSubset(of: Set(changed)))
        #expect(head.name == "pfc")
    }
}

@Suite struct HeadStateTests {
    @Test func restoredHeadsContinueIdentically() throws {
        let batch = HeadBatch(
            probeX: unitRows(2, 4, seed: 1), probeY: unitRows(2, 4, seed: 2), labelsX: [1, 7],
            labelsY: [1, 9],
            galleryX: unitRows(2, 4, seed: 3), galleryY: unitRows(2, 4, seed: 4), pairRows: 1, step: 1)
        let heads: [(ClassificationHead, ClassificationHead)] = [
            (
                MarginFCHead(identities: 12, featureDim: 4, loss: MarginLoss(), sampleRate: 0.5, seed: 1),
                MarginFCHead(identities: 12, featureDim: 4, loss: MarginLoss(), sampleRate: 0.5, seed: 99)
            ),
            (
                FFCHead(pool: try ClassPool(capacity: 6, featureDim: 4, seed: 1), loss: MarginLoss()),
                FFCHead(pool: try ClassPool(capacity: 3, featureDim: 4, seed: 2), loss: MarginLoss())
            ),
        ]
        for (original, copy) in heads {
            _ = original.forwardBackward(batch)
            original.update(learningRate: 0.1)
            var file = SafeTensorsFile()
            file.tensors = original.exportState()
            try copy.restoreState(from: try SafeTensorsFile.decode(file.encode()))
            var next = batch
            next.step = 2
            let a = original.forwardBackward(next)
            let b = copy.forwardBackward(next)
            #expect(
                a.loss == b.loss && a.gradProbeX == b.gradProbeX, "\(original.name) resumes identically")
        }
    }
}
