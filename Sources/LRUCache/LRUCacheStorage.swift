// LRUCacheStorage: the flat slot records and the key table (LRUKeyTable) behind LRUCache.
//
// Laid out so one operation touches few cache lines: each slot is one 16-byte record (key,
// recency links, last-touch time), and a key's table entry sits in one 64-byte group.
// Free slots are chained through their records' `next`.

/// One slot: (16 bytes) the key it holds, its neighbours in recency order, its last touch.
struct LRUSlotRecord {
    /// Key held, -1 when free.
    var key: Int32
    /// The next more recent slot, -1 for the most recent (or when free).
    var prev: Int32
    /// The next less recent slot, -1 for the least recent; when free, the next free slot.
    var next: Int32
    /// Time of the last get/tryGet of the key, truncated to 32 bits (ages wrap past 2³¹); 0 when free.
    var touch: UInt32

    static let free = LRUSlotRecord(key: -1, prev: -1, next: -1, touch: 0)
}

/// Owner of the buffers for one capacity. `LRUCache` keeps copies of the pointers for speed and
/// writes through them only after making sure it holds the sole reference (copy-on-write),
/// which is why sharing across threads is safe.
final class LRUCacheStorage: @unchecked Sendable {
    let capacity: Int
    /// (capacity) one record per slot.
    let records: UnsafeMutablePointer<LRUSlotRecord>
    let keys: LRUKeyTable
    /// (journalCapacity) undo records of journaled operations, oldest first; grows by doubling.
    private(set) var journal: UnsafeMutablePointer<LRUJournalEntry>
    private(set) var journalCapacity: Int
    /// (LRUCache.pendingEvictionAgeLimit) ages of evictions not yet taken, oldest first.
    let pendingAges: UnsafeMutablePointer<Int>

    /// Buffers for `capacity` slots, all records free and unchained, the table empty.
    init(capacity: Int, journalCapacity: Int = 1024) {
        self.capacity = capacity
        self.journalCapacity = journalCapacity
        journal = .allocate(capacity: journalCapacity)
        pendingAges = .allocate(capacity: LRUCache.pendingEvictionAgeLimit)
        records = .allocate(capacity: capacity)
        records.initialize(repeating: .free, count: capacity)
        keys = LRUKeyTable.allocate(capacity: capacity)
    }

    /// A deep copy, for copy-on-write, of everything but the unused ends of journal and ages.
    func copy(journalCount: Int, pendingAgeCount: Int) -> LRUCacheStorage {
        let other = LRUCacheStorage(capacity: capacity, journalCapacity: journalCapacity)
        other.records.update(from: records, count: capacity)
        other.keys.groups.copyMemory(from: keys.groups, byteCount: keys.byteCount)
        other.journal.update(from: journal, count: journalCount)
        other.pendingAges.update(from: pendingAges, count: pendingAgeCount)
        return other
    }

    /// Doubles the journal, keeping its first `count` entries.
    /// - Complexity: O(count), amortised O(1) per journaled operation.
    func growJournal(keeping count: Int) {
        let grown = UnsafeMutablePointer<LRUJournalEntry>.allocate(capacity: journalCapacity * 2)
        grown.moveInitialize(from: journal, count: count)
        journal.deallocate()
        journal = grown
        journalCapacity *= 2
    }

    deinit {
        records.deallocate()
        keys.groups.deallocate()
        journal.deallocate()
        pendingAges.deallocate()
    }

    /// Bytes held by the buffers.
    var byteCount: Int {
        capacity * MemoryLayout<LRUSlotRecord>.stride + keys.byteCount
            + journalCapacity * MemoryLayout<LRUJournalEntry>.stride
            + LRUCache.pendingEvictionAgeLimit * MemoryLayout<Int>.stride
    }
}
