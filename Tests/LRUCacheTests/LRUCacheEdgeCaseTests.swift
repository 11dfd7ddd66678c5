// LRUCacheEdgeCaseTests: small hand-checked cases for the behaviour the class pool relies on.

import Testing

@testable import LRUCache

@Suite("LRUCache edge cases")
struct LRUCacheEdgeCaseTests {
    private func pairs(_ cache: LRUCache) -> [[Int]] {
        cache.exportState().map { [$0.key, $0.slot] }
    }

    @Test func capacityOneEvictsOnEveryNewKey() throws {
        var cache = try LRUCache(capacity: 1)
        #expect(cache.get(7) == 0)
        #expect(cache.get(7) == 0)
        #expect(cache.get(9) == 0)
        #expect(!cache.contains(7))
        #expect(cache.view(9) == 0)
        #expect(
            cache.counters.hits == 1 && cache.counters.inserts == 2 && cache.counters.evictions == 1)
        _ = cache.tryGet(11)
        cache.rollback(1)
        #expect(pairs(cache) == [[9, 0]])
        cache._checkInvariants()
    }

    @Test func fullCacheEvictsLeastRecentAndReusesItsSlot() throws {
        var cache = try LRUCache(capacity: 3)
        #expect([10, 11, 12].map { cache.get($0) } == [0, 1, 2])
        #expect(cache.get(10) == 0)
        #expect(cache.get(13) == 1)
        #expect(!cache.contains(11))
        #expect(pairs(cache) == [[13, 1], [10, 0], [12, 2]])
        #expect(cache.key(atSlot: 1) == 13)
        #expect(cache.recency.map(\.key) == [13, 10, 12])
    }

    @Test func batchReportsSlotsAndHitsAndRollsBackAsSingleCalls() throws {
        var cache = try LRUCache(capacity: 2)
        var slots: [Int] = []
        var found: [Bool] = []
        cache.get([5, 6], slots: &slots, found: &found)
        #expect(slots == [0, 1] && found == [false, false])
        // 7 evicts 5, the repeated 7 hits, 5 comes back by evicting 6.
        cache.tryGet([7, 7, 5], step: 4, slots: &slots, found: &found)
        #expect(slots == [0, 0, 1] && found == [false, true, false])
        #expect(cache.journalCount == 3)
        cache.rollback(3)
        #expect(pairs(cache) == [[6, 1], [5, 0]])
        cache.get([], slots: &slots, found: &found)
        #expect(slots.isEmpty && found.isEmpty)
        cache._checkInvariants()
    }

    @Test func viewDoesNotTouchRecency() throws {
        var cache = try LRUCache(capacity: 2)
        _ = cache.get(1)
        _ = cache.get(2)
        #expect(cache.view(1) == 0)
        #expect(cache.get(3) == 0)
        #expect(cache.view(1) == nil)
        #expect(cache.view(-4) == nil)
    }

    @Test func rollbackRestoresEvictedKeysExactly() throws {
        var cache = try LRUCache(capacity: 3)
        for key in [1, 2, 3, 1] { _ = cache.get(key, step: key) }
        let before = pairs(cache)
        let countersBefore = cache.counters
        for key in [4, 5, 1, 6, 7, 4, 8] { _ = cache.tryGet(key, step: 20) }
        #expect(cache.counters.evictions > 3)
        cache.rollback(7)
        #expect(pairs(cache) == before)
        #expect(cache.counters.hits == countersBefore.hits)
        #expect(cache.counters.inserts == countersBefore.inserts)
        #expect(cache.counters.evictions == 0 && cache.counters.evictionAgeSum == 0)
        #expect(cache.counters.rolledBack == 7)
        #expect(cache.takeEvictionAges().isEmpty)
        cache._checkInvariants()
        // The restored touch times give the same ages as if the pass never happened.
        _ = cache.get(9, step: 30)
        #expect(cache.takeEvictionAges() == [30 - 2])
    }

    @Test func rollbackOfMoreThanJournaledUndoesWhatThereIs() throws {
        var cache = try LRUCache(capacity: 4)
        _ = cache.get(1)
        for key in [2, 3, 1] { _ = cache.tryGet(key) }
        #expect(cache.journalCount == 3)
        cache.rollback(100)
        #expect(pairs(cache) == [[1, 0]])
        #expect(cache.journalCount == 0)
        #expect(cache.counters.rolledBack == 3)
        cache.rollback(5)
        #expect(cache.counters.rolledBack == 3)
        #expect(cache.get(5) == 1)
    }

    @Test func getAndCommitDropTheJournal() throws {
        var cache = try LRUCache(capacity: 4)
        _ = cache.tryGet(1)
        _ = cache.tryGet(2)
        cache.commit()
        #expect(cache.journalCount == 0)
        _ = cache.tryGet(3)
        _ = cache.get(4)
        #expect(cache.journalCount == 0)
        cache.rollback(3)
        #expect(pairs(cache) == [[4, 3], [3, 2], [2, 1], [1, 0]])
    }

    @Test func resizeToSameSizeChangesNothing() throws {
        var cache = try LRUCache(capacity: 3)
        for key in [5, 6, 7] { _ = cache.get(key) }
        let moves = try cache.resize(capacity: 3)
        #expect(moves.isEmpty)
        #expect(pairs(cache) == [[7, 2], [6, 1], [5, 0]])
    }

    @Test func resizeRefusesZeroAndNegative() throws {
        var cache = try LRUCache(capacity: 3)
        #expect(throws: LRUCacheError.invalidCapacity(0)) { try cache.resize(capacity: 0) }
        #expect(throws: LRUCacheError.invalidCapacity(-5)) { try cache.resize(capacity: -5) }
        #expect(throws: LRUCacheError.invalidCapacity(0)) { try LRUCache(capacity: 0) }
        #expect(cache.capacity == 3)
    }

    @Test func shrinkEvictsLeastRecentAndCompactsSurvivors() throws {
        var cache = try LRUCache(capacity: 4)
        for key in [0, 1, 2, 3] { _ = cache.get(100 + key, step: key) }
        let moves = try cache.resize(capacity: 2, step: 10)
        #expect(moves.map { [$0.old, $0.new] } == [[2, 0], [3, 1]])
        #expect(pairs(cache) == [[103, 1], [102, 0]])
        #expect(cache.takeEvictionAges() == [10, 9])
        #expect(cache.counters.evictions == 2)
        cache._checkInvariants()
    }

    @Test func growAddsFreeSlotsAfterTheOldOnes() throws {
        var cache = try LRUCache(capacity: 2)
        _ = cache.get(1)
        _ = cache.get(2)
        #expect(try cache.resize(capacity: 4).isEmpty)
        #expect(cache.get(3) == 2)
        #expect(cache.get(1) == 0)
        #expect(cache.counters.evictions == 0)
        cache._checkInvariants()
    }

    @Test func restoreRebuildsAnIdenticalCache() throws {
        var cache = try LRUCache(capacity: 5)
        for key in [4, 8, 15, 16, 4, 23, 42, 8] { _ = cache.get(key) }
        var restored = try LRUCache(capacity: 5, restoring: cache.exportState())
        #expect(pairs(restored) == pairs(cache))
        restored._checkInvariants()
        #expect(restored.get(99) == cache.get(99))
        #expect(pairs(restored) == pairs(cache))
        // Free slots are handed out smallest first after a restore too.
        var sparse = try LRUCache(capacity: 4, restoring: [(key: 1, slot: 3), (key: 2, slot: 1)])
        #expect(sparse.get(3) == 0)
        #expect(sparse.get(4) == 2)
    }

    @Test func restoreRefusesInconsistentInput() {
        #expect(throws: LRUCacheError.tooManyEntries(count: 3, capacity: 2)) {
            try LRUCache(
                capacity: 2, restoring: [(key: 1, slot: 0), (key: 2, slot: 1), (key: 3, slot: 0)])
        }
        #expect(throws: LRUCacheError.duplicateKey(key: 1, index: 1)) {
            try LRUCache(capacity: 3, restoring: [(key: 1, slot: 0), (key: 1, slot: 1)])
        }
        #expect(throws: LRUCacheError.duplicateSlot(slot: 0, index: 1)) {
            try LRUCache(capacity: 3, restoring: [(key: 1, slot: 0), (key: 2, slot: 0)])
        }
        #expect(throws: LRUCacheError.slotOutOfRange(slot: 3, capacity: 3, index: 0)) {
            try LRUCache(capacity: 3, restoring: [(key: 1, slot: 3)])
        }
        #expect(throws: LRUCacheError.slotOutOfRange(slot: -1, capacity: 3, index: 0)) {
            try LRUCache(capacity: 3, restoring: [(key: 1, slot: -1)])
        }
        #expect(throws: LRUCacheError.keyOutOfRange(key: -2, index: 0)) {
            try LRUCache(capacity: 3, restoring: [(key: -2, slot: 0)])
        }
        #expect(throws: LRUCacheError.invalidCapacity(0)) {
            try LRUCache(capacity: 0, restoring: [])
        }
    }

    @Test func evictionAgesUseTheCallersSteps() throws {
        var cache = try LRUCache(capacity: 1)
        _ = cache.get(1, step: 10)
        _ = cache.get(2, step: 25)
        _ = cache.get(3, step: 26)
        #expect(cache.takeEvictionAges() == [15, 1])
        #expect(cache.takeEvictionAges().isEmpty)
        #expect(cache.counters.meanEvictionAge == 8)
        var counted = try LRUCache(capacity: 1)
        for key in [1, 1, 1, 2] { _ = counted.get(key) }
        #expect(counted.takeEvictionAges() == [1])
    }

    @Test func pendingEvictionAgesAreBounded() throws {
        var cache = try LRUCache(capacity: 1)
        let evictions = LRUCache.pendingEvictionAgeLimit + 10
        for key in 0...evictions { _ = cache.get(key) }
        #expect(cache.takeEvictionAges().count == LRUCache.pendingEvictionAgeLimit)
        #expect(cache.counters.evictions == evictions)
    }

    @Test func memoryAtTenMillionIsAtMostFortyBytesPerEntry() throws {
        let cache = try LRUCache(capacity: 10_000_000)
        #expect(cache.bytesPerEntry <= 40)
        #expect(cache.bytesPerEntry >= 24)
    }
}
