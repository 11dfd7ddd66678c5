// LRUCache: identity → slot map with journaled operations and rollback.
// Interim implementation on the `head` branch so the class pool builds and tests before the
// `lru` branch lands; the `lru` branch's LRUCache (same API) replaces this file on merge.

/// Why a cache could not be built or resized.
public enum LRUCacheError: Error, Equatable, CustomStringConvertible {
    case invalidCapacity(Int)
    case inconsistentState(reason: String)

    public var description: String {
        switch self {
        case .invalidCapacity(let c): return "LRU capacity must be positive, got \(c)"
        case .inconsistentState(let reason): return "LRU state is inconsistent: \(reason)"
        }
    }
}

/// Identity → slot map. Slots are `0..<capacity`; a miss takes the next free slot (lowest
/// first, starting from an empty cache) or evicts the least recent key and reuses its slot.
public struct LRUCache: Sendable {
    public struct Counters: Sendable, Equatable {
        public var hits = 0
        public var inserts = 0
        public var evictions = 0
        public var evictionAgeSum = 0
    }

    private enum JournalEntry: Sendable {
        case hit(key: Int)
        case insert(key: Int, slot: Int, evicted: Int?, evictedStamp: Int)
    }

    public private(set) var capacity: Int
    public private(set) var counters = Counters()
    private var slotOf: [Int: Int] = [:]
    private var keyAt: [Int?]
    /// Logical clock per slot; larger is more recent.
    private var stamp: [Int]
    private var clock = 0
    private var freeSlots: [Int]
    private var journal: [(JournalEntry, stampBefore: Int)] = []

    public init(capacity: Int) throws {
        guard capacity > 0 else { throw LRUCacheError.invalidCapacity(capacity) }
        self.capacity = capacity
        keyAt = Array(repeating: nil, count: capacity)
        stamp = Array(repeating: 0, count: capacity)
        freeSlots = Array((0..<capacity).reversed())
    }

    /// Rebuilds a cache from `exportState()` pairs (most recent first).
    public init(capacity: Int, restoring pairs: [(key: Int, slot: Int)]) throws {
        try self.init(capacity: capacity)
        guard pairs.count <= capacity else { throw LRUCacheError.inconsistentState(reason: "more keys than capacity") }
        var used = Set<Int>()
        for (i, p) in pairs.enumerated().reversed() {
            guard p.slot >= 0, p.slot < capacity, !used.contains(p.slot), slotOf[p.key] == nil else {
                throw LRUCacheError.inconsistentState(reason: "pair \(i) (key \(p.key), slot \(p.slot))")
            }
            used.insert(p.slot)
            clock += 1
            slotOf[p.key] = p.slot
            keyAt[p.slot] = p.key
            stamp[p.slot] = clock
        }
        freeSlots = (0..<capacity).reversed().filter { !used.contains($0) }
    }

    public var count: Int { slotOf.count }

    public func view(_ key: Int) -> Int? { slotOf[key] }
    public func contains(_ key: Int) -> Bool { slotOf[key] != nil }
    public func key(atSlot slot: Int) -> Int? { keyAt[slot] }

    /// Keys with their slots, most recent first. - Complexity: O(n log n)
    public func recencyOrder() -> [(key: Int, slot: Int)] {
        slotOf.map { (key: $0.key, slot: $0.value) }.sorted { stamp[$0.slot] > stamp[$1.slot] }
    }

    public func exportState() -> [(key: Int, slot: Int)] { recencyOrder() }

    public mutating func get(_ key: Int, step: Int? = nil) -> Int { access(key, journaled: false).slot }
    public mutating func tryGet(_ key: Int, step: Int? = nil) -> Int { access(key, journaled: true).slot }

    private mutating func access(_ key: Int, journaled: Bool) -> (slot: Int, hit: Bool) {
        clock += 1
        if let s = slotOf[key] {
            if journaled { journal.append((.hit(key: key), stampBefore: stamp[s])) }
            stamp[s] = clock
            counters.hits += 1
            return (s, true)
        }
        let s: Int
        var evicted: Int? = nil
        var evictedStamp = 0
        if let free = freeSlots.popLast() {
            s = free
        } else {
            s = stamp.indices.min { stamp[$0] < stamp[$1] }!
            evicted = keyAt[s]
            evictedStamp = stamp[s]
            slotOf[evicted!] = nil
            counters.evictions += 1
        }
        if journaled {
            journal.append((.insert(key: key, slot: s, evicted: evicted, evictedStamp: evictedStamp), stampBefore: stamp[s]))
        }
        slotOf[key] = s
        keyAt[s] = key
        stamp[s] = clock
        counters.inserts += 1
        return (s, false)
    }

    /// Undoes the last `steps` journaled operations, newest first.
    public mutating func rollback(_ steps: Int) {
        for _ in 0..<min(steps, journal.count) {
            let (entry, before) = journal.removeLast()
            switch entry {
            case .hit(let key):
                stamp[slotOf[key]!] = before
            case .insert(let key, let slot, let evicted, let evictedStamp):
                slotOf[key] = nil
                if let e = evicted {
                    slotOf[e] = slot
                    keyAt[slot] = e
                    stamp[slot] = evictedStamp
                } else {
                    keyAt[slot] = nil
                    stamp[slot] = before
                    freeSlots.append(slot)
                }
            }
        }
    }

    public mutating func commit() { journal.removeAll(keepingCapacity: true) }

    /// Shrinks (evicting least recent) or grows; returns moves compacting survivors below `capacity`.
    public mutating func resize(capacity newCapacity: Int) throws -> [(old: Int, new: Int)] {
        guard newCapacity > 0 else { throw LRUCacheError.invalidCapacity(newCapacity) }
        journal.removeAll()
        let order = recencyOrder()
        let survivors = Array(order.prefix(newCapacity))
        var moves: [(old: Int, new: Int)] = []
        var taken = Set(survivors.map(\.slot).filter { $0 < newCapacity })
        var nextFree = 0
        var rebuilt: [(key: Int, slot: Int)] = []
        for p in survivors {
            if p.slot < newCapacity {
                rebuilt.append(p)
                continue
            }
            while taken.contains(nextFree) { nextFree += 1 }
            taken.insert(nextFree)
            moves.append((old: p.slot, new: nextFree))
            rebuilt.append((key: p.key, slot: nextFree))
        }
        let saved = counters
        self = try LRUCache(capacity: newCapacity, restoring: rebuilt)
        counters = saved
        counters.evictions += order.count - survivors.count
        return moves
    }
}
