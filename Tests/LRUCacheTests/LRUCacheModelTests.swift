// LRUCacheModelTests: long random operation sequences checked against ReferenceLRU.

import FFCEngine
import Testing

@testable import LRUCache

@Suite("LRUCache against the reference model")
struct LRUCacheModelTests {
    /// One random run: capacity, key space and clock mode come from the seed.
    struct Run {
        var rng: SeededRandom
        var cache: LRUCache
        var model: ReferenceLRU
        let keyBase: Int
        let keySpan: Int
        let maxCapacity: Int
        let usesSteps: Bool
        var step = 0

        init(seed: UInt64) {
            rng = SeededRandom(seed: seed)
            maxCapacity = Int.random(in: 1...24, using: &rng)
            let capacity = Int.random(in: 1...maxCapacity, using: &rng)
            cache = try! LRUCache(capacity: capacity)
            model = ReferenceLRU(capacity: capacity)
            keySpan = Int.random(in: 1...(3 * maxCapacity), using: &rng)
            keyBase = [0, 1 << 20, Int(Int32.max) - keySpan + 1][Int.random(in: 0..<3, using: &rng)]
            usesSteps = Bool.random(using: &rng)
        }

        mutating func randomKey() -> Int {
            keyBase + Int.random(in: 0..<keySpan, using: &rng)
        }

        mutating func nextStep() -> Int? {
            guard usesSteps else { return nil }
            step += Int.random(in: 0...2, using: &rng)
            return step
        }

        /// Applies one random operation to both and checks the results agree.
        mutating func applyRandomOperation() throws {
            let roll = Int.random(in: 0..<110, using: &rng)
            switch roll {
            case 0..<34:
                let key = randomKey()
                let step = nextStep()
                #expect(cache.get(key, step: step) == model.access(key, step: step, journaled: false))
            case 34..<68:
                let key = randomKey()
                let step = nextStep()
                #expect(cache.tryGet(key, step: step) == model.access(key, step: step, journaled: true))
            case 68..<78:
                let steps = Int.random(in: 0...(model.journal.count + 3), using: &rng)
                cache.rollback(steps)
                model.rollback(steps)
            case 78..<82:
                cache.commit()
                model.commit()
            case 82..<85:
                let capacity = Int.random(in: 1...maxCapacity, using: &rng)
                let step = nextStep()
                let moves = try cache.resize(capacity: capacity, step: step)
                let expected = model.resize(capacity: capacity, step: step)
                #expect(moves.map(\.old) == expected.map(\.old) && moves.map(\.new) == expected.map(\.new))
            case 85..<91:
                let key = randomKey()
                #expect(cache.view(key) == model.view(key))
                #expect(cache.contains(key) == (model.view(key) != nil))
            case 91..<94:
                let pairs = cache.exportState()
                let lastTouch = step
                cache = try LRUCache(capacity: cache.capacity, restoring: pairs, lastTouch: lastTouch)
                model = ReferenceLRU(
                    capacity: model.state.capacity, restoring: model.pairs, lastTouch: lastTouch)
            case 94..<97:
                #expect(cache.takeEvictionAges() == model.takeEvictionAges())
            case 100..<110:
                // A batch must equal the single-key calls in order, hits included.
                let keys = (0..<Int.random(in: 0...12, using: &rng)).map { _ in randomKey() }
                let step = nextStep()
                let journaled = roll >= 105
                let copy = cache
                let before = copy.exportState()
                var slots = [7]
                var found = [true, false]
                if journaled {
                    cache.tryGet(keys, step: step, slots: &slots, found: &found)
                } else {
                    cache.get(keys, step: step, slots: &slots, found: &found)
                }
                var expectedSlots: [Int] = []
                var expectedFound: [Bool] = []
                for key in keys {
                    expectedFound.append(model.view(key) != nil)
                    expectedSlots.append(model.access(key, step: step, journaled: journaled))
                }
                #expect(slots == expectedSlots)
                #expect(found == expectedFound)
                #expect(copy.exportState().elementsEqual(before, by: ==))
            default:
                // A copy must not see later changes to the original (copy-on-write).
                let copy = cache
                let before = copy.exportState()
                _ = cache.tryGet(randomKey())
                cache.rollback(1)
                #expect(copy.exportState().elementsEqual(before, by: ==))
                _ = model.access(0, step: nil, journaled: true)
                model.rollback(1)
            }
        }

        /// Compares everything observable; `thorough` also probes every key and slot.
        func expectSameState(thorough: Bool) {
            #expect(cache.capacity == model.state.capacity)
            #expect(cache.count == model.state.entries.count)
            #expect(cache.exportState().elementsEqual(model.pairs, by: ==))
            #expect(cache.counters == model.state.counters)
            #expect(cache.journalCount == model.journal.count)
            #expect(cache.clock == model.state.clock)
            #expect(cache.pendingEvictionAges == model.state.pendingAges)
            guard thorough else { return }
            cache._checkInvariants()
            for key in keyBase..<(keyBase + keySpan) {
                #expect(cache.view(key) == model.view(key))
            }
            for slot in -1...cache.capacity {
                #expect(cache.key(atSlot: slot) == model.key(atSlot: slot))
            }
        }
    }

    @Test("random get/tryGet/rollback/commit/resize/view/restore match the model", arguments: 0..<8)
    func randomOperationsMatchModel(seed: UInt64) throws {
        var run = Run(seed: 0xF2C_0000 + seed)
        for operation in 0..<15_000 {
            try run.applyRandomOperation()
            run.expectSameState(thorough: operation % 8 == 0)
        }
    }
}
