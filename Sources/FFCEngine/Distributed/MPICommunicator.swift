// Distributed: the Communicator over Open MPI (the only file that calls MPI). An all-reduce
// is a reduce-scatter by all-to-all — rank c receives every rank's chunk c and sums the R
// chunks in rank order — then an all-gather of the summed chunks: the bandwidth of a ring
// all-reduce (2·(R−1)/R of the buffer per rank), with a summation order fixed by rank
// numbers instead of by the library's algorithm choice, so every rank holds the same bits.
//
// Threads: MPI is initialised MPI_THREAD_SERIALIZED, and every MPI call runs on one serial
// queue, `lane`: a blocking collective runs there synchronously (on the caller's thread when
// nothing is queued), a started all-reduce asynchronously. The queue gives both properties
// the ranks need — never two threads inside MPI, and collectives in the order they were
// asked for on every rank. A started all-reduce progresses while its thread blocks in MPI;
// MPI_Iallreduce would not do here: Open MPI moves a non-blocking collective on only inside
// MPI calls (no progress thread over vader or tcp), so it would advance at layer boundaries
// alone, and the rank-order sum between its two phases would still need a thread.
import CMPI
import Foundation
import Synchronization

public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let hostName: String
    private let times = Mutex(CommunicationTimes())
    /// Where every MPI call after MPI_Init runs (see the file header).
    private let lane = DispatchQueue(label: "ffc.mpi.collectives")

    /// Initialises MPI (serialised threading: the trainer's queue may hop threads, never
    /// two at once) and registers MPI_Finalize for process exit.
    init() {
        var provided: Int32 = 0
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        MPI_Init_thread(&argc, &argv, ffc_mpi_thread_serialized(), &provided)
        _ = ffc_mpi_register_finalize()
        var r: Int32 = 0
        var s: Int32 = 0
        MPI_Comm_rank(ffc_mpi_comm_world(), &r)
        MPI_Comm_size(ffc_mpi_comm_world(), &s)
        rank = Int(r)
        size = Int(s)
        var name = [CChar](repeating: 0, count: Int(ffc_mpi_max_processor_name()) + 1)
        var length: Int32 = 0
        MPI_Get_processor_name(&name, &length)
        hostName = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs `body` on the lane, behind everything queued, and blocks until it returned; adds
    /// its time to `kind` (all-reduces: the wait from the call on to `allReduceWaitSeconds`).
    private func timed(_ kind: WritableKeyPath<CommunicationTimes, Double>, bytes: Int, _ body: () -> Void) {
        let called = DispatchTime.now().uptimeNanoseconds
        lane.sync { ran(kind, bytes: bytes, body) }
        guard kind == \.allReduceSeconds else { return }
        let waited = Double(DispatchTime.now().uptimeNanoseconds - called) * 1e-9
        times.withLock { $0.allReduceWaitSeconds += waited }
    }

    /// `body` on the current thread (the lane), its time added to `kind`.
    private func ran(_ kind: WritableKeyPath<CommunicationTimes, Double>, bytes: Int, _ body: () -> Void) {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        times.withLock {
            $0[keyPath: kind] += seconds
            $0.bytes += bytes
        }
    }

    public func takeTimes() -> CommunicationTimes {
        times.withLock { t in
            defer { t = CommunicationTimes() }
            return t
        }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {
        guard buffer.count > 0 else { return }
        timed(\.broadcastSeconds, bytes: buffer.count) {
            check(
                MPI_Bcast(buffer.baseAddress, Int32(buffer.count), ffc_mpi_byte(), Int32(root), ffc_mpi_comm_world()),
                "MPI_Bcast")
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard buffer.count > 0 else { return }
        timed(\.allReduceSeconds, bytes: buffer.count * 4) { orderedSum(buffer) }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        guard buffer.count > 0 else { return }
        timed(\.allReduceSeconds, bytes: buffer.count * 8) { orderedSum(buffer) }
    }

    public func startAllReduceSum(
        _ buffer: UnsafeMutableBufferPointer<Float>, completion: @escaping @Sendable () -> Void
    ) -> PendingAllReduce {
        let pending = PendingAllReduce()
        let floats = LentFloats(buffer: buffer)
        lane.async {
            self.ran(\.allReduceSeconds, bytes: floats.buffer.count * 4) { self.orderedSum(floats.buffer) }
            completion()
            pending.finish()
        }
        return pending
    }

    public func wait(_ pending: PendingAllReduce) {
        let called = DispatchTime.now().uptimeNanoseconds
        pending.waitUntilFinished()
        let waited = Double(DispatchTime.now().uptimeNanoseconds - called) * 1e-9
        times.withLock { $0.allReduceWaitSeconds += waited }
    }

    /// Chunk c of n elements: [c·n/R, (c+1)·n/R).
    private func chunk(_ c: Int, of n: Int) -> Range<Int> { (c * n / size)..<((c + 1) * n / size) }

    /// The all-reduce itself; runs on the lane.
    private func orderedSum<T: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>) {
        let n = buffer.count
        guard n > 0, size > 1 else { return }
        let stride = MemoryLayout<T>.stride
        let mine = chunk(rank, of: n)
        // Reduce-scatter: rank c gets every rank's chunk c, rank q's at q·|chunk c|.
        var sendCounts = [Int32](repeating: 0, count: size)
        var sendOffsets = [Int32](repeating: 0, count: size)
        for c in 0..<size {
            let r = chunk(c, of: n)
            sendCounts[c] = Int32(r.count * stride)
            sendOffsets[c] = Int32(r.lowerBound * stride)
        }
        let receiveCounts = [Int32](repeating: Int32(mine.count * stride), count: size)
        let receiveOffsets = (0..<size).map { Int32($0 * mine.count * stride) }
        var parts = [T](repeating: 0, count: mine.count * size)
        parts.withUnsafeMutableBytes { received in
            check(
                MPI_Alltoallv(
                    buffer.baseAddress, sendCounts, sendOffsets, ffc_mpi_byte(), received.baseAddress,
                    receiveCounts, receiveOffsets, ffc_mpi_byte(), ffc_mpi_comm_world()), "MPI_Alltoallv")
        }
        // Rank order: out = part₀, then out += part_q for q = 1…R−1, element by element.
        let out = buffer.baseAddress! + mine.lowerBound
        parts.withUnsafeBufferPointer { p in
            let base = p.baseAddress!
            out.update(from: base, count: mine.count)
            for q in 1..<size {
                let part = base + q * mine.count
                for i in 0..<mine.count { out[i] += part[i] }
            }
        }
        // All-gather the summed chunks in place.
        check(
            MPI_Allgatherv(
                ffc_mpi_in_place(), 0, ffc_mpi_byte(), buffer.baseAddress, sendCounts, sendOffsets,
                ffc_mpi_byte(), ffc_mpi_comm_world()), "MPI_Allgatherv")
    }

    public func allGather(_ part: UnsafeRawBufferPointer) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        timed(\.allGatherSeconds, bytes: part.count) {
            var length = Int64(part.count)
            var lengths = [Int64](repeating: 0, count: size)
            check(
                MPI_Allgather(&length, 1, ffc_mpi_int64(), &lengths, 1, ffc_mpi_int64(), ffc_mpi_comm_world()),
                "MPI_Allgather")
            let counts = lengths.map { Int32($0) }
            var offsets = [Int32](repeating: 0, count: size)
            for q in 1..<size { offsets[q] = offsets[q - 1] + counts[q - 1] }
            let total = Int(lengths.reduce(0, +))
            var all = [UInt8](repeating: 0, count: max(total, 1))
            all.withUnsafeMutableBytes { out in
                check(
                    MPI_Allgatherv(
                        part.baseAddress, Int32(part.count), ffc_mpi_byte(), out.baseAddress, counts, offsets,
                        ffc_mpi_byte(), ffc_mpi_comm_world()), "MPI_Allgatherv")
            }
            parts = (0..<size).map { q in Array(all[Int(offsets[q])..<(Int(offsets[q]) + Int(counts[q]))]) }
        }
        return parts
    }

    public func barrier() { lane.sync { check(MPI_Barrier(ffc_mpi_comm_world()), "MPI_Barrier") } }

    public func abort(code: Int32) -> Never {
        MPI_Abort(ffc_mpi_comm_world(), code)
        exit(code)
    }

    /// A buffer handed to the lane by a caller that leaves it alone until `wait`.
    private struct LentFloats: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Float>
    }

    /// MPI's default handler aborts the job on error; this catches a handler that returns.
    private func check(_ code: Int32, _ call: String) {
        guard code != 0 else { return }
        FileHandle.standardError.write(Data("rank \(rank): \(call) failed with MPI error \(code)\n".utf8))
        abort(code: 70)
    }
}
