// Parallel: splits the engine's own loops (depthwise convolution, batch norm, PReLU,
// im2col) across as many workers as OpenBLAS uses, so the non-GEMM layers scale with
// threads as well. Reductions (per-channel sums) give each worker its own partial sums,
// indexed by the worker number `forRanges` passes, and add them up after the call.
import Foundation
import Synchronization

enum Parallel {
    /// Workers `forRanges` uses for `count` items: one when there is a single thread or
    /// `count · costPerItem` is not worth a thread hop (< 32k), else min(threads, count).
    static func workers(_ count: Int, costPerItem: Int = 1) -> Int {
        let workers = min(BLAS.threads, count)
        return workers <= 1 || count * costPerItem < 32_768 ? 1 : workers
    }

    /// Calls `body` on contiguous, disjoint sub-ranges covering 0..<count, concurrently
    /// when `workers(count, costPerItem:)` says so.
    static func forRanges(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        forRanges(count, workers: workers(count, costPerItem: costPerItem)) { _, range in body(range) }
    }

    /// Calls `body(worker, range)` for worker in 0..<workers on contiguous, disjoint
    /// sub-ranges covering 0..<count (some may be empty when count < workers).
    static func forRanges(_ count: Int, workers: Int, _ body: (Int, Range<Int>) -> Void) {
        if workers <= 1 {
            body(0, 0..<count)
            return
        }
        // The ranges are disjoint and the call returns only after every worker finished,
        // so sharing the (non-Sendable) body and the buffers it captures is safe.
        withoutActuallyEscaping(body) { escaping in
            let shared = SharedBody(run: escaping)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                shared.run(w, (count * w / workers)..<(count * (w + 1) / workers))
            }
        }
    }

    /// Calls `body(worker, range)` on the chunks 0..<perChunk, perChunk..<2·perChunk, … of
    /// 0..<count; each of `workers` threads claims the next unclaimed chunk when it finishes
    /// one, so the split follows how fast each core really runs. Chunks go to workers in no
    /// fixed order: only for bodies whose result does not depend on it.
    static func forChunks(_ count: Int, perChunk: Int, workers: Int, _ body: (Int, Range<Int>) -> Void) {
        let chunks = (count + perChunk - 1) / perChunk
        let next = ChunkCounter()
        forRanges(workers, workers: min(workers, chunks)) { worker, _ in
            while true {
                let chunk = next.value.add(1, ordering: .relaxed).oldValue
                guard chunk < chunks else { return }
                body(worker, (chunk * perChunk)..<min(count, (chunk + 1) * perChunk))
            }
        }
    }

    private final class ChunkCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    private struct SharedBody: @unchecked Sendable {
        let run: (Int, Range<Int>) -> Void
    }
}
