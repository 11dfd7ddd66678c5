// LRUCacheError: what a caller did wrong when building, resizing or restoring an LRUCache.

/// A refused capacity or restore input, carrying the offending value and where it was found.
public enum LRUCacheError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Capacity must be in `1...LRUCache.maximumCapacity`.
    case invalidCapacity(Int)
    /// Restore input has more entries than the capacity allows.
    case tooManyEntries(count: Int, capacity: Int)
    /// Restore input entry `index` has a key outside `LRUCache.keyRange`.
    case keyOutOfRange(key: Int, index: Int)
    /// Restore input entry `index` has a slot outside `0..<capacity`.
    case slotOutOfRange(slot: Int, capacity: Int, index: Int)
    /// Restore input entry `index` repeats a key an earlier entry already holds.
    case duplicateKey(key: Int, index: Int)
    /// Restore input entry `index` repeats a slot an earlier entry already holds.
    case duplicateSlot(slot: Int, index: Int)

    public var description: String {
        switch self {
        case .invalidCapacity(let capacity):
            "LRU capacity \(capacity) is outside 1...\(LRUCache.maximumCapacity)"
        case .tooManyEntries(let count, let capacity):
            "LRU restore has \(count) entries but capacity is \(capacity)"
        case .keyOutOfRange(let key, let index):
            "LRU restore entry \(index): key \(key) is outside \(LRUCache.keyRange)"
        case .slotOutOfRange(let slot, let capacity, let index):
            "LRU restore entry \(index): slot \(slot) is outside 0..<\(capacity)"
        case .duplicateKey(let key, let index):
            "LRU restore entry \(index): key \(key) appears twice"
        case .duplicateSlot(let slot, let index):
            "LRU restore entry \(index): slot \(slot) appears twice"
        }
    }
}
