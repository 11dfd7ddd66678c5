// ReferenceLRU: the plain model the randomized LRUCache test compares against.
//
// Written for obviousness, not speed: an array of entries in recency order, linear searches,
// and a journal of whole-state snapshots, so it shares no idea with LRUCache's index links,
// hash table or per-operation undo records.

import LRUCache

struct ReferenceLRU {
    struct Entry: Equatable {
        var key: Int
        var slot: Int
        var touch: Int
    }

    /// Everything a rollback restores.
    struct State {
        var capacity: Int
        /// Most recent first.
        var entries: [Entry] = []
        var clock = 0
        var counters = LRUCounters()
        var pendingAges: [Int] = []
    }

    var state: State
    /// The state before each journaled operation, with the number of age takes made before it.
    var journal: [(state: State, takes: Int)] = []
    var takes = 0

    init(capacity: Int) {
        state = State(capacity: capacity)
    }

    init(capacity: Int, restoring pairs: [(key: Int, slot: Int)], lastTouch: Int) {
        state = State(capacity: capacity)
        state.entries = pairs.map { Entry(key: $0.key, slot: $0.slot, touch: lastTouch) }
    }

    var pairs: [(key: Int, slot: Int)] { state.entries.map { (key: $0.key, slot: $0.slot) } }

    func view(_ key: Int) -> Int? {
        state.entries.first { $0.key == key }?.slot
    }

    func key(atSlot slot: Int) -> Int? {
        state.entries.first { $0.slot == slot }?.key
    }

    mutating func access(_ key: Int, step: Int?, journaled: Bool) -> Int {
        if journaled { journal.append((state, takes)) } else { journal = [] }
        state.clock += 1
        let time = step ?? state.clock
        if let index = state.entries.firstIndex(where: { $0.key == key }) {
            var entry = state.entries.remove(at: index)
            entry.touch = time
            state.entries.insert(entry, at: 0)
            state.counters.hits += 1
            return entry.slot
        }
        state.counters.inserts += 1
        let slot: Int
        if state.entries.count < state.capacity {
            let used = Set(state.entries.map(\.slot))
            slot = (0..<state.capacity).first { !used.contains($0) }!
        } else {
            let victim = state.entries.removeLast()
            recordEviction(age: time - victim.touch)
            slot = victim.slot
        }
        state.entries.insert(Entry(key: key, slot: slot, touch: time), at: 0)
        return slot
    }

    mutating func recordEviction(age: Int) {
        state.counters.evictions += 1
        state.counters.evictionAgeSum += age
        if state.pendingAges.count < LRUCache.pendingEvictionAgeLimit { state.pendingAges.append(age) }
    }

    mutating func rollback(_ steps: Int) {
        let undone = min(steps, journal.count)
        guard undone > 0 else { return }
        let restored = journal[journal.count - undone]
        journal.removeLast(undone)
        let rolledBack = state.counters.rolledBack + undone
        state = restored.state
        state.counters.rolledBack = rolledBack
        // Ages already taken are gone; every age pending now came from an undone operation.
        if restored.takes != takes { state.pendingAges = [] }
    }

    mutating func commit() {
        journal = []
    }

    mutating func takeEvictionAges() -> [Int] {
        takes += 1
        defer { state.pendingAges = [] }
        return state.pendingAges
    }

    mutating func resize(capacity newCapacity: Int, step: Int?) -> [(old: Int, new: Int)] {
        journal = []
        guard newCapacity != state.capacity else { return [] }
        let time = step ?? state.clock
        while state.entries.count > newCapacity {
            let victim = state.entries.removeLast()
            recordEviction(age: time - victim.touch)
        }
        let used = Set(state.entries.map(\.slot))
        let holes = (0..<newCapacity).filter { !used.contains($0) }
        let movers = state.entries.map(\.slot).filter { $0 >= newCapacity }.sorted()
        let moves = zip(movers, holes).map { (old: $0, new: $1) }
        for (old, new) in moves {
            let index = state.entries.firstIndex { $0.slot == old }!
            state.entries[index].slot = new
        }
        state.capacity = newCapacity
        return moves
    }
}
