// Head: the two-pass step's bookkeeping — pair probes always hit the pool, the first pass
// leaves no trace, and resizing between steps keeps every invariant.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct FFCStepTests {
    /// x = [pair firsts ‖ instance half 1], y = [pair seconds ‖ instance half 2].
    func batch(pairs: [Int], instances: [Int], d: Int, seed: UInt64) -> HeadBatch {
        let half = instances.count / 2
        let lx = pairs + instances[..<half]
        let ly = pairs + instances[half...]
        return HeadBatch(
            probeX: unitRows(lx.count, d, seed: seed), probeY: unitRows(ly.count, d, seed: seed + 1),
            labelsX: lx,
            labelsY: ly, galleryX: unitRows(lx.count, d, seed: seed + 2),
            galleryY: unitRows(ly.count, d, seed: seed + 3),
            pairRows: pairs.count, step: Int(seed))
    }

    @Test func pairProbesAlwaysHitAndUnseenInstancesAreOutliers() throws {
        let head = FFCHead(
            pool: try ClassPool(capacity: 32, featureDim: 8, seed: 1), loss: MarginLoss())
        let out = head.forwardBackward(
            batch(pairs: [1, 2, 3, 4], instances: [10, 11, 12, 13], d: 8, seed: 1))
        let r = out.record
        #expect(r.hitRatePair == 1)
        #expect(r.hitRateInstance == 0)
        #expect(r.lossOutlier > 0)
        // Pass 1 (rolled back) wrote y; pass 2 kept x: pairs and the first instance half.
        #expect(Set(head.pool.lru.recencyOrder().map(\.key)) == [1, 2, 3, 4, 10, 11])
        #expect(r.inserts == 6 && r.evictions == 0)
    }

    @Test func resizingBetweenStepsKeepsInvariants() throws {
        let head = FFCHead(
            pool: try ClassPool(capacity: 16, featureDim: 8, seed: 2, identityCount: 64),
            loss: MarginLoss(type: .sv))
        var rng = SeededRandom(seed: 3)
        for step in 1...12 {
            let pairs = (0..<4).map { _ in Int(rng.next() % 64) }
            let instances = (0..<4).map { _ in Int(rng.next() % 64) }
            let capacity = head.pool.capacity
            let out = head.forwardBackward(
                batch(pairs: pairs, instances: instances, d: 8, seed: UInt64(step)))
            #expect(out.loss.isFinite)
            // Pairs always hit unless the pool is smaller than one gallery batch (6 rows here).
            if capacity >= 6 { #expect(out.record.hitRatePair == 1) }
            if step == 4 { try head.pool.resize(capacity: 5) }
            if step == 8 { try head.pool.resize(capacity: 40) }
            head.pool._checkInvariants()
            head.pool.lru._checkInvariants()
        }
        #expect(head.pool.capacity == 40)
    }
}
