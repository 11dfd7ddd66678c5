// The seam between the console and a run: the trainer in this process, or a socket client
// attached to a run elsewhere, implements it. The console owns no training state.
import FFCEngine

/// What the console reads and sends. Every method is called from the UI thread, about ten times a
/// second at most, and must return quickly (copy a published snapshot, enqueue a command).
public protocol ConsoleSource: AnyObject, Sendable {
    /// The latest published snapshot.
    func snapshot() -> MetricsSnapshot
    /// Enqueues a command; the trainer applies it between steps and logs an event
    /// (`.command` when applied, `.refused` with the reason when not).
    func send(_ command: TrainerCommand)
    /// Pool inspector rows `offset ..< offset + limit` in `sort` order.
    func inspect(sort: PoolSortKey, offset: Int, limit: Int) -> [PoolSlotInfo]
    /// The pool row of `identity`, or nil when it is not in the pool.
    func lookup(identity: Int) -> PoolSlotInfo?
    /// One of the identity's images as packed RGB (height, width, 3), or nil when none can be read.
    func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])?
}

/// How the console ended.
public enum ConsoleExit: Sendable, Equatable {
    /// The user chose to stop the run (or pressed Ctrl-C); the console already sent `.stop`.
    case stopRun
    /// The user detached (or the terminal hung up); the run goes on without a console.
    case detach
    /// The run had finished and the user closed the console.
    case finished
}
