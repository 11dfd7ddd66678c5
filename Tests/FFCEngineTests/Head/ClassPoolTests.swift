// Head: class pool write semantics, journaled rollback, resize, checkpoint state, inspection.
import Foundation
import Testing

@testable import FFCEngine

/// Distinct unit-ish rows: row i is (i+1, 0, …) pattern so tests can tell writes apart.
func marker(_ values: [Float], d: Int) -> [Float] {
    values.flatMap { v in [v] + [Float](repeating: 0, count: d - 1) }
}

func rowOf(_ bank: [Float], _ slot: Int, d: Int) -> [Float] {
    Array(bank[slot * d..<(slot + 1) * d])
}

@Suite struct ClassPoolTests {
    let d = 4

    @Test func newIdentityGoesToBankZeroAndRepeatsAlternateBanks() throws {
        var pool = try ClassPool(capacity: 4, featureDim: d, seed: 3)
        let summary = pool.write(
            features: marker([1, 2, 3, 4], d: d), labels: [7, 7, 7, 8], step: 1, journaled: false)
        let s7 = try #require(pool.lru.view(7))
        // 7: new → bank 0 (1), pos 1; again → bank 1 (2), pos 0; again → bank 0 (3, last write wins), pos 1.
        #expect(rowOf(pool.bank0, s7, d: d)[0] == 3)
        #expect(rowOf(pool.bank1, s7, d: d)[0] == 2)
        #expect(pool.position[s7] == 1)
        #expect(pool.writes[s7] == 3)
        #expect(summary.dualSlots == [s7])
        #expect(summary.inserts == 2 && summary.hits == 2 && summary.slotsWritten == 2)
        let s8 = try #require(pool.lru.view(8))
        #expect(rowOf(pool.bank0, s8, d: d)[0] == 4 && pool.position[s8] == 1)
        pool._checkInvariants()
    }

    @Test func rollbackRestoresEvictionsRowsPositionsAndRecency() throws {
        var pool = try ClassPool(capacity: 3, featureDim: d, seed: 5)
        _ = pool.write(
            features: marker([1, 2, 3, 4], d: d), labels: [1, 2, 3, 1], step: 1, journaled: false)
        let before = pool.exportState()
        let order = pool.lru.recencyOrder().map(\.key)
        let summary = pool.write(
            features: marker([5, 6, 7, 8, 9], d: d), labels: [4, 5, 1, 4, 6], step: 4, journaled: true)
        #expect(summary.evictions == 3)
        // 4 evicts 2 and 5 evicts 3 (3 steps old each); 6 evicts 5, written this step.
        #expect(summary.evictionAgeSum == 6)
        #expect(pool.hasOpenJournal)
        pool.rollback()
        #expect(!pool.hasOpenJournal)
        #expect(pool.exportState() == before)
        #expect(pool.lru.recencyOrder().map(\.key) == order)
        pool._checkInvariants()
    }

    @Test func shrinkKeepsMostRecentIdentitiesWithTheirRows() throws {
        var pool = try ClassPool(capacity: 6, featureDim: d, seed: 9, identityCount: 100)
        _ = pool.write(
            features: marker([10, 11, 12, 13, 14, 15], d: d), labels: [0, 1, 2, 3, 4, 5], step: 1,
            journaled: false)
        _ = pool.write(features: marker([20, 21], d: d), labels: [5, 1], step: 2, journaled: false)
        try pool.resize(capacity: 3)
        #expect(pool.capacity == 3)
        #expect(pool.lru.recencyOrder().map(\.key) == [1, 5, 4])
        for (key, bank0, bank1) in [(1, Float(11), Float(21)), (5, 15, 20), (4, 14, -1)] {
            let s = try #require(pool.lru.view(key))
            #expect(rowOf(pool.bank0, s, d: d)[0] == bank0)
            if bank1 >= 0 { #expect(rowOf(pool.bank1, s, d: d)[0] == bank1) }
        }
        try pool.resize(capacity: 8)
        #expect(pool.capacity == 8 && pool.occupancy == 3)
        for s in 3..<8 {
            let row = rowOf(pool.bank0, s, d: d)
            #expect(abs(row.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5, "grown slot \(s) is a unit vector")
        }
        pool._checkInvariants()
    }

    @Test func impossibleSizesAreRefusedWithTheReason() throws {
        var pool = try ClassPool(
            capacity: 4, featureDim: d, seed: 1, identityCount: 10,
            memoryBudgetBytes: 8 * ClassPool.bytesPerSlot(featureDim: d, probeRows: 0))
        #expect(throws: ClassPoolError.invalidSize(requested: 0, reason: "must be positive")) {
            try pool.resize(capacity: 0)
        }
        #expect(
            throws: ClassPoolError.invalidSize(
                requested: 11, reason: "larger than the 10 identities in the training set")
        ) {
            try pool.resize(capacity: 11)
        }
        do {
            try pool.resize(capacity: 9)
            Issue.record("a pool above the memory budget was accepted")
        } catch let ClassPoolError.invalidSize(requested, reason) {
            #expect(requested == 9 && reason.contains("above the budget"))
        }
        #expect(pool.capacity == 4)
    }

    @Test func exportedStateRestoresAnIdenticalPool() throws {
        var pool = try ClassPool(capacity: 5, featureDim: d, seed: 2)
        _ = pool.write(
            features: marker([1, 2, 3, 4], d: d), labels: [9, 8, 9, 7], step: 3, journaled: false)
        var file = SafeTensorsFile()
        file.tensors = pool.exportState()
        let back = try ClassPool(restoring: try SafeTensorsFile.decode(file.encode()))
        #expect(back.exportState() == pool.exportState())
        #expect(back.lru.recencyOrder().map(\.key) == pool.lru.recencyOrder().map(\.key))
    }

    @Test func inspectorSortsAndFindsNearestIdentity() throws {
        var pool = try ClassPool(capacity: 4, featureDim: 2, seed: 4)
        let rows: [Float] = [1, 0, 0.8, 0.6, 0, 1, -1, 0]
        _ = pool.write(features: rows, labels: [10, 11, 12, 13], step: 1, journaled: false)
        _ = pool.write(features: [0, 1], labels: [10], step: 5, journaled: false)
        let recent = pool.inspect(sort: .recency, offset: 0, limit: 10, step: 6)
        #expect(recent.map(\.identity) == [10, 13, 12, 11])
        #expect(recent[0].ageSteps == 1 && recent[0].writes == 2 && recent[0].positionBit == 0)
        #expect(abs(recent[0].bankCosine) < 1e-6)
        #expect(recent[0].nearestIdentity == 11)
        let byWrites = pool.inspect(sort: .writes, offset: 0, limit: 1, step: 6)
        #expect(byWrites.map(\.identity) == [10])
        let byAge = pool.inspect(sort: .age, offset: 1, limit: 2, step: 6)
        #expect(byAge.map(\.identity) == [12, 11])
        let drift = pool.inspect(sort: .drift, offset: 0, limit: 1, step: 6)
        #expect(drift.first?.identity == 10)
        let one = try #require(pool.lookup(identity: 12, step: 6))
        #expect(
            one.recencyRank == 2 && one.nearestIdentity == 11 && abs(one.nearestCosine - 0.6) < 1e-6)
        #expect(pool.lookup(identity: 99, step: 6) == nil)
    }
}
