// ClassicLRU: the baseline `ffc bench lru` compares LRUCache against — the textbook design the
// original C++ FFC uses: a hash map from key to a node of a doubly linked list, one node
// allocated per inserted key, and a history of journaled operations that rollback replays backwards.

/// A classic LRU with the same observable behaviour as `LRUCache` (smallest free slot first,
/// evict least recent, journal dropped by `get` and `resize`), built from a `Dictionary` and
/// heap-allocated list nodes.
final class ClassicLRU {
    final class Node {
        let key: Int
        var slot: Int
        var lastTouch: Int
        var prev: Node?
        var next: Node?

        init(key: Int, slot: Int, lastTouch: Int) {
            self.key = key
            self.slot = slot
            self.lastTouch = lastTouch
        }
    }

    /// What one journaled operation did.
    enum Record {
        /// `node` was hit and moved to the front from behind `previous` (nil: it was in front).
        case hit(node: Node, previous: Node?, previousTouch: Int)
        /// `node` was inserted into a free slot.
        case insert(node: Node)
        /// `node` replaced the evicted `victim` in its slot.
        case evict(node: Node, victim: Node)
    }

    private(set) var capacity: Int
    private var nodes: [Int: Node] = [:]
    /// Most recent.
    private var head: Node?
    /// Least recent.
    private var tail: Node?
    /// Free slots, smallest last.
    private var freeSlots: [Int]
    private var history: [Record] = []
    private var clock = 0
    private(set) var hits = 0
    private(set) var inserts = 0
    private(set) var evictions = 0

    init(capacity: Int) {
        self.capacity = capacity
        freeSlots = Array((0..<capacity).reversed())
    }

    deinit {
        // Break the prev/next reference cycles so the nodes are freed.
        var node = head
        while let current = node {
            node = current.next
            current.prev = nil
            current.next = nil
        }
    }

    var count: Int { nodes.count }

    func get(_ key: Int, step: Int? = nil) -> Int {
        if !history.isEmpty { history.removeAll(keepingCapacity: true) }
        return access(key, step: step, journaled: false)
    }

    func tryGet(_ key: Int, step: Int? = nil) -> Int {
        access(key, step: step, journaled: true)
    }

    func view(_ key: Int) -> Int? {
        nodes[key]?.slot
    }

    private func access(_ key: Int, step: Int?, journaled: Bool) -> Int {
        clock += 1
        let time = step ?? clock
        if let node = nodes[key] {
            if journaled {
                history.append(.hit(node: node, previous: node.prev, previousTouch: node.lastTouch))
            }
            node.lastTouch = time
            unlink(node)
            pushFront(node)
            hits += 1
            return node.slot
        }
        inserts += 1
        if let slot = freeSlots.popLast() {
            let node = Node(key: key, slot: slot, lastTouch: time)
            nodes[key] = node
            pushFront(node)
            if journaled { history.append(.insert(node: node)) }
            return slot
        }
        let victim = tail!
        unlink(victim)
        nodes[victim.key] = nil
        evictions += 1
        let node = Node(key: key, slot: victim.slot, lastTouch: time)
        nodes[key] = node
        pushFront(node)
        if journaled { history.append(.evict(node: node, victim: victim)) }
        return node.slot
    }

    func rollback(_ steps: Int) {
        for _ in 0..<min(steps, history.count) {
            clock -= 1
            switch history.removeLast() {
            case .hit(let node, let previous, let previousTouch):
                hits -= 1
                node.lastTouch = previousTouch
                if let previous {
                    unlink(node)
                    insert(node, after: previous)
                }
            case .insert(let node):
                inserts -= 1
                unlink(node)
                nodes[node.key] = nil
                freeSlots.append(node.slot)
            case .evict(let node, let victim):
                inserts -= 1
                evictions -= 1
                unlink(node)
                nodes[node.key] = nil
                nodes[victim.key] = victim
                pushBack(victim)
            }
        }
    }

    func commit() {
        history.removeAll(keepingCapacity: true)
    }

    /// Shrinks or grows like `LRUCache.resize`, returning the same slot moves.
    func resize(capacity newCapacity: Int) -> [(old: Int, new: Int)] {
        history.removeAll()
        guard newCapacity != capacity else { return [] }
        while nodes.count > newCapacity, let victim = tail {
            unlink(victim)
            nodes[victim.key] = nil
            evictions += 1
        }
        var held = [Bool](repeating: false, count: max(capacity, newCapacity))
        var movers: [Node] = []
        for node in nodes.values {
            held[node.slot] = true
            if node.slot >= newCapacity { movers.append(node) }
        }
        movers.sort { $0.slot < $1.slot }
        var moves: [(old: Int, new: Int)] = []
        var hole = 0
        for node in movers {
            while held[hole] { hole += 1 }
            moves.append((old: node.slot, new: hole))
            held[hole] = true
            node.slot = hole
        }
        capacity = newCapacity
        freeSlots = (0..<newCapacity).reversed().filter { !held[$0] }
        return moves
    }

    private func unlink(_ node: Node) {
        if let prev = node.prev { prev.next = node.next } else { head = node.next }
        if let next = node.next { next.prev = node.prev } else { tail = node.prev }
        node.prev = nil
        node.next = nil
    }

    private func pushFront(_ node: Node) {
        node.next = head
        head?.prev = node
        head = node
        if tail == nil { tail = node }
    }

    private func pushBack(_ node: Node) {
        node.prev = tail
        tail?.next = node
        tail = node
        if head == nil { head = node }
    }

    private func insert(_ node: Node, after anchor: Node) {
        node.prev = anchor
        node.next = anchor.next
        if let next = anchor.next { next.prev = node } else { tail = node }
        anchor.next = node
    }
}
