// Control: the lock-published latest snapshot. The trainer publishes after every step; the
// console (10 Hz), the control socket and tests read. History and events are bounded windows;
// counters of everything ever appended let a remote reader ask only for what it has not seen.
import Foundation
import Synchronization

/// What changed since a reader's last look: scalars as of now, plus only the new step records
/// and events (in `snapshot.history` / `snapshot.events`).
public struct SnapshotDelta: Sendable, Equatable, Codable {
    public var snapshot: MetricsSnapshot
    /// Step records and events appended since the run started (not only those in the window).
    public var recordsTotal: Int
    public var eventsTotal: Int

    public init(snapshot: MetricsSnapshot, recordsTotal: Int, eventsTotal: Int) {
        self.snapshot = snapshot
        self.recordsTotal = recordsTotal
        self.eventsTotal = eventsTotal
    }
}

public final class MetricsHub: Sendable {
    private struct State {
        var snapshot = MetricsSnapshot()
        var recordsTotal = 0
        var eventsTotal = 0
    }

    public let historyLimit: Int
    public let eventLimit: Int
    private let state = Mutex(State())

    public init(historyLimit: Int = 4096, eventLimit: Int = 256) {
        precondition(historyLimit > 0 && eventLimit > 0)
        self.historyLimit = historyLimit
        self.eventLimit = eventLimit
    }

    /// Changes the scalar fields (step, paused, ETA …). History and events go through `append`.
    public func publish(_ body: (inout MetricsSnapshot) -> Void) {
        state.withLock { body(&$0.snapshot) }
    }

    /// - Complexity: amortised O(1); the window drops its oldest half when full.
    public func append(_ record: StepRecord) {
        state.withLock { s in
            s.snapshot.history.append(record)
            if s.snapshot.history.count > historyLimit {
                s.snapshot.history.removeFirst(s.snapshot.history.count - historyLimit / 2)
            }
            s.snapshot.step = record.step
            s.snapshot.epoch = record.epoch
            s.recordsTotal += 1
        }
    }

    public func append(_ event: EventRecord) {
        state.withLock { s in
            s.snapshot.events.append(event)
            if s.snapshot.events.count > eventLimit {
                s.snapshot.events.removeFirst(s.snapshot.events.count - eventLimit)
            }
            s.eventsTotal += 1
        }
    }

    /// Seeds the windows with history read from `metrics.jsonl` (resume, attach).
    public func load(history: [StepRecord], events: [EventRecord]) {
        state.withLock { s in
            s.snapshot.history = Array(history.suffix(historyLimit))
            s.snapshot.events = Array(events.suffix(eventLimit))
            s.recordsTotal = history.count
            s.eventsTotal = events.count
            if let last = history.last {
                s.snapshot.step = last.step
                s.snapshot.epoch = last.epoch
            }
        }
    }

    public func snapshot() -> MetricsSnapshot { state.withLock { $0.snapshot } }

    /// The snapshot with only the records and events appended after the given totals.
    public func delta(sinceRecords: Int, sinceEvents: Int) -> SnapshotDelta {
        state.withLock { s in
            var snap = s.snapshot
            let newRecords = max(0, min(s.recordsTotal - sinceRecords, snap.history.count))
            let newEvents = max(0, min(s.eventsTotal - sinceEvents, snap.events.count))
            snap.history = Array(snap.history.suffix(newRecords))
            snap.events = Array(snap.events.suffix(newEvents))
            return SnapshotDelta(snapshot: snap, recordsTotal: s.recordsTotal, eventsTotal: s.eventsTotal)
        }
    }
}
