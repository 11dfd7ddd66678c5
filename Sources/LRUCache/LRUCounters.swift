// LRUCounters: running totals the console shows for the class pool's LRU.

/// Totals since the cache was created or restored.
///
/// A rolled-back journaled operation is reverted here too: a pass that is undone leaves no trace
/// in `hits`, `inserts`, `evictions` or `evictionAgeSum`; only `rolledBack` remembers it.
public struct LRUCounters: Sendable, Equatable {
    /// `get`/`tryGet` calls that found their key.
    public var hits = 0
    /// `get`/`tryGet` calls that did not find their key and placed it (into a free slot or by eviction).
    public var inserts = 0
    /// Keys pushed out as least recent, by a miss on a full cache or by a shrinking `resize`.
    public var evictions = 0
    /// Sum of the ages of all evicted keys (in steps when the caller passes `step`, else in operations).
    public var evictionAgeSum = 0
    /// Journaled operations undone by `rollback` (never reverted).
    public var rolledBack = 0

    public init() {}

    /// Every eviction records an age, so this equals `evictions`.
    public var evictionAgeCount: Int { evictions }

    /// Mean age of the evicted keys, or nil before the first eviction.
    public var meanEvictionAge: Double? {
        evictions == 0 ? nil : Double(evictionAgeSum) / Double(evictions)
    }
}
