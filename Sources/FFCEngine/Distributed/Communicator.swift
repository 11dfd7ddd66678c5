// Distributed: the seam data-parallel training goes through — rank and size, broadcast from
// a root, sum all-reduce in a fixed order, all-gather of variable-length parts, barrier.
// `SingleProcessCommunicator` is the default (no MPI at run time); `MPICommunicator` is the
// only code that calls MPI. `Communicator.world` picks one: MPI when the process was started
// by Open MPI's mpirun (OMPI_COMM_WORLD_SIZE is set), else the single process.
//
// Determinism: every all-reduce sums the ranks' contributions in rank order 0, 1, …, R−1 on
// every rank, so its result is the same bits on all ranks and does not depend on timing.
// A started all-reduce (`startAllReduceSum`) runs behind the collectives asked for before it
// and ahead of those asked for after it, so every rank issues the same collectives in the
// same order whichever thread asked.
import Foundation
import Synchronization

/// Seconds and bytes spent in collectives since the last `takeTimes()`.
public struct CommunicationTimes: Sendable, Equatable, Codable {
    public var allReduceSeconds = 0.0
    public var allGatherSeconds = 0.0
    public var broadcastSeconds = 0.0
    /// Of `allReduceSeconds`, what the calling thread spent blocked: blocking all-reduces
    /// (with any queueing behind started ones) and `wait` on started ones. The rest ran hidden
    /// behind the caller's work.
    public var allReduceWaitSeconds = 0.0
    /// Payload bytes this rank contributed (all-reduce buffers, all-gather parts, broadcasts).
    public var bytes = 0
    public init() {}
    public var totalSeconds: Double { allReduceSeconds + allGatherSeconds + broadcastSeconds }
}

/// A group of cooperating processes. Every rank must make the same calls in the same order.
public protocol Communicator: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// Host name of this rank (for logs and the bottleneck line).
    var hostName: String { get }
    /// Replaces `buffer` on every rank with the root's bytes (same length everywhere).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int)
    /// Sums `buffer` over the ranks, in rank order; every rank gets the same bits.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>)
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>)
    /// Starts `allReduceSum(buffer)` and returns at once; `completion` runs after the sum on
    /// the communicator's thread. `buffer` belongs to the communicator until `wait` returns.
    func startAllReduceSum(
        _ buffer: UnsafeMutableBufferPointer<Float>, completion: @escaping @Sendable () -> Void
    ) -> PendingAllReduce
    /// Blocks until `pending`'s sum and completion ran.
    func wait(_ pending: PendingAllReduce)
    /// Every rank's bytes, in rank order (the parts may differ in length).
    func allGather(_ part: UnsafeRawBufferPointer) -> [[UInt8]]
    func barrier()
    /// Ends every rank (a rank that stops alone would leave the others waiting forever).
    func abort(code: Int32) -> Never
    /// Collective time and bytes since the previous call; resets them.
    func takeTimes() -> CommunicationTimes
}

/// The default: one process, every collective the identity.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var hostName: String { ProcessInfo.processInfo.hostName }
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    public func startAllReduceSum(
        _ buffer: UnsafeMutableBufferPointer<Float>, completion: @escaping @Sendable () -> Void
    ) -> PendingAllReduce {
        completion()
        let pending = PendingAllReduce()
        pending.finish()
        return pending
    }
    public func wait(_ pending: PendingAllReduce) { pending.waitUntilFinished() }
    public func allGather(_ part: UnsafeRawBufferPointer) -> [[UInt8]] { [Array(part)] }
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
    public func takeTimes() -> CommunicationTimes { CommunicationTimes() }
}

/// A started all-reduce: finished once its sum and completion ran.
public final class PendingAllReduce: Sendable {
    private let finished = DispatchSemaphore(value: 0)
    public init() {}
    /// Called once, by the thread that ran the sum.
    public func finish() { finished.signal() }
    /// Returns once `finish` was called; only one thread waits, once.
    public func waitUntilFinished() { finished.wait() }
}

extension Communicator {
    public var isLeader: Bool { rank == 0 }

    /// Rank 0's floats on every rank.
    public func broadcast(_ values: inout [Float], root: Int = 0) {
        values.withUnsafeMutableBytes { broadcast($0, root: root) }
    }

    /// Rank 0's bytes on every rank, whatever their length elsewhere.
    public func broadcast(bytes: [UInt8], root: Int = 0) -> [UInt8] {
        var length = Int64(bytes.count)
        withUnsafeMutableBytes(of: &length) { broadcast($0, root: root) }
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length))
        out.withUnsafeMutableBytes { broadcast($0, root: root) }
        return out
    }

    /// The ranks' mean of `values`, summed in rank order then divided by R.
    public func allReduceAverage(_ values: inout [Float]) {
        guard size > 1 else { return }
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
        let scale = 1 / Float(size)
        for i in values.indices { values[i] *= scale }
    }

    public func allReduceSum(_ values: inout [Double]) {
        guard size > 1 else { return }
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
    }

    /// Every rank's rows concatenated in rank order (row counts may differ).
    public func allGather<T: BitwiseCopyable>(_ values: [T]) -> [T] {
        guard size > 1 else { return values }
        let parts = values.withUnsafeBytes { allGather($0) }
        var out: [T] = []
        out.reserveCapacity(parts.reduce(0) { $0 + $1.count } / MemoryLayout<T>.stride)
        for part in parts {
            part.withUnsafeBytes { out.append(contentsOf: $0.bindMemory(to: T.self)) }
        }
        return out
    }
}

/// The communicator this process runs with, made once.
public enum World {
    /// Whether Open MPI's launcher started this process (it sets OMPI_COMM_WORLD_SIZE in every
    /// rank's environment); a plain `ffc` never initialises MPI.
    public static var launchedByMPI: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    private static let shared: Mutex<(any Communicator)?> = Mutex(nil)

    /// MPI under mpirun, the single process otherwise.
    public static var communicator: any Communicator {
        shared.withLock { current in
            if let current { return current }
            let made: any Communicator = launchedByMPI ? MPICommunicator() : SingleProcessCommunicator()
            current = made
            return made
        }
    }
}
