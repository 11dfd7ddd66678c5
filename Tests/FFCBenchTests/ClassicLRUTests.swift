// ClassicLRU, the yardstick of `ffc bench lru`, against a plain model: a dictionary of slots,
// an array of keys in recency order, and whole-state snapshots for the journal.

import FFCEngine
import Testing

@testable import FFCBench

/// The obvious LRU: most recent key first, the smallest free slot for an insert, the last key
/// evicted; `tryGet` journals a snapshot, `get`, `commit` and `resize` drop the journal.
struct ModelLRU {
    struct State {
        var capacity: Int
        var order: [Int] = []
        var slots: [Int: Int] = [:]
        var hits = 0
        var inserts = 0
        var evictions = 0
    }

    var state: State
    var journal: [State] = []

    init(capacity: Int) { state = State(capacity: capacity) }

    var count: Int { state.order.count }

    func view(_ key: Int) -> Int? { state.slots[key] }

    mutating func get(_ key: Int) -> Int {
        journal = []
        return access(key)
    }

    mutating func tryGet(_ key: Int) -> Int {
        journal.append(state)
        return access(key)
    }

    mutating func rollback(_ steps: Int) {
        for _ in 0..<min(steps, journal.count) { state = journal.removeLast() }
    }

    mutating func commit() { journal = [] }

    private mutating func access(_ key: Int) -> Int {
        if let slot = state.slots[key] {
            state.order.removeAll { $0 == key }
            state.order.insert(key, at: 0)
            state.hits += 1
            return slot
        }
        state.inserts += 1
        let used = Set(state.slots.values)
        let slot: Int
        if let free = (0..<state.capacity).first(where: { !used.contains($0) }) {
            slot = free
        } else {
            let victim = state.order.removeLast()
            slot = state.slots.removeValue(forKey: victim)!
            state.evictions += 1
        }
        state.slots[key] = slot
        state.order.insert(key, at: 0)
        return slot
    }

    /// Evicts least recent down to the new capacity, then moves every slot past it, smallest
    /// first, into the smallest free slot.
    mutating func resize(capacity: Int) -> [(old: Int, new: Int)] {
        journal = []
        guard capacity != state.capacity else { return [] }
        while state.order.count > capacity {
            state.slots[state.order.removeLast()] = nil
            state.evictions += 1
        }
        var moves: [(old: Int, new: Int)] = []
        for (key, slot) in state.slots.sorted(by: { $0.value < $1.value }) where slot >= capacity {
            let used = Set(state.slots.values)
            let hole = (0..<capacity).first { !used.contains($0) }!
            state.slots[key] = hole
            moves.append((old: slot, new: hole))
        }
        state.capacity = capacity
        return moves
    }
}

@Suite("ClassicLRU against a dictionary + list model")
struct ClassicLRUTests {
    /// One seeded random run of `operations` operations, compared after each.
    func check(seed: UInt64, operations: Int) {
        var rng = SeededRandom(seed: seed)
        let maxCapacity = Int.random(in: 1...16, using: &rng)
        let capacity = Int.random(in: 1...maxCapacity, using: &rng)
        let keySpace = Int.random(in: 1...(3 * maxCapacity), using: &rng)
        let cache = ClassicLRU(capacity: capacity)
        var model = ModelLRU(capacity: capacity)
        for index in 0..<operations {
            let roll = Int.random(in: 0..<100, using: &rng)
            let key = Int.random(in: 0..<keySpace, using: &rng)
            let what: String
            switch roll {
            case 0..<35:
                what = "get(\(key))"
                #expect(cache.get(key) == model.get(key), "seed \(seed) op \(index): \(what)")
            case 35..<70:
                what = "tryGet(\(key))"
                #expect(cache.tryGet(key) == model.tryGet(key), "seed \(seed) op \(index): \(what)")
            case 70..<85:
                let steps = Int.random(in: 0...4, using: &rng)
                what = "rollback(\(steps))"
                cache.rollback(steps)
                model.rollback(steps)
            case 85..<90:
                what = "commit"
                cache.commit()
                model.commit()
            default:
                let size = Int.random(in: 1...maxCapacity, using: &rng)
                what = "resize(\(size))"
                let ours = cache.resize(capacity: size)
                let theirs = model.resize(capacity: size)
                #expect(
                    ours.map { [$0.old, $0.new] } == theirs.map { [$0.old, $0.new] },
                    "seed \(seed) op \(index): \(what)")
            }
            let context = "seed \(seed) op \(index) after \(what)"
            #expect(cache.count == model.count, "\(context)")
            #expect(cache.capacity == model.state.capacity, "\(context)")
            #expect(cache.hits == model.state.hits, "\(context)")
            #expect(cache.inserts == model.state.inserts, "\(context)")
            #expect(cache.evictions == model.state.evictions, "\(context)")
            for k in 0..<keySpace where cache.view(k) != model.view(k) {
                Issue.record(
                    "\(context): key \(k) in slot \(String(describing: cache.view(k))), model \(String(describing: model.view(k)))"
                )
            }
            if cache.count != model.count { return }
        }
    }

    @Test("random get/tryGet/rollback/commit/resize sequences", arguments: 0..<40)
    func randomSequences(seed: Int) {
        check(seed: UInt64(seed) &* 0x9E37_79B9 &+ 17, operations: 400)
    }

    @Test func evictsLeastRecentlyUsed() {
        let cache = ClassicLRU(capacity: 2)
        #expect(cache.get(10) == 0)
        #expect(cache.get(20) == 1)
        #expect(cache.get(10) == 0)  // 20 is now least recent
        #expect(cache.get(30) == 1)  // evicts 20
        #expect(cache.view(20) == nil)
        #expect(cache.view(10) == 0)
        #expect((cache.hits, cache.inserts, cache.evictions) == (1, 3, 1))
    }

    @Test func rollbackRestoresEvictedKeyAndCounters() {
        let cache = ClassicLRU(capacity: 2)
        _ = cache.get(1)
        _ = cache.get(2)
        #expect(cache.tryGet(3) == 0)  // evicts 1
        #expect(cache.tryGet(2) == 1)
        cache.rollback(2)
        #expect(cache.view(1) == 0)
        #expect(cache.view(3) == nil)
        #expect((cache.hits, cache.inserts, cache.evictions) == (0, 2, 0))
        #expect(cache.get(4) == 0)  // 1 is least recent again
    }

    @Test func getDropsTheJournal() {
        let cache = ClassicLRU(capacity: 4)
        _ = cache.tryGet(1)
        _ = cache.get(2)
        cache.rollback(5)
        #expect(cache.count == 2)
    }
}
