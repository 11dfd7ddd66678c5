// Control: what a console needs from a run, whether the trainer is in this process or behind
// the run's control socket (`RemoteSource`). The console renders snapshots and sends commands;
// it owns no training state.
import Foundation

/// One of an identity's images as the control socket carries it (the pool inspector's picture).
public struct SampleImage: Sendable, Equatable, Codable {
    public var width: Int
    public var height: Int
    /// Row-major RGB, 3 bytes per pixel, `width × height × 3` long.
    public var rgb: [UInt8]

    public init(width: Int, height: Int, rgb: [UInt8]) {
        precondition(rgb.count == width * height * 3, "rgb holds \(rgb.count) bytes, not \(width)×\(height)×3")
        self.width = width
        self.height = height
        self.rgb = rgb
    }
}

public protocol ConsoleSource: AnyObject, Sendable {
    /// The latest published state. Cheap: called at ~10 Hz by the UI thread.
    func snapshot() -> MetricsSnapshot
    /// Queues a command; it applies between steps and its outcome (applied or refused with the
    /// reason) appears as an event in later snapshots.
    func send(_ command: TrainerCommand)
    /// One page of pool slots ordered by `sort` (the most recent, oldest, most written or most
    /// drifted first).
    func inspect(sort: PoolSortKey, offset: Int, limit: Int) -> [PoolSlotInfo]
    /// The slot of one identity, or nil when it is not in the pool.
    func lookup(identity: Int) -> PoolSlotInfo?
    /// One of the identity's images as packed RGB (height, width, 3), or nil when none can be read.
    func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])?
}
