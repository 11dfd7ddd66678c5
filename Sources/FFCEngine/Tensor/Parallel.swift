// Parallel: splits the engine's own loops (depthwise convolution, batch norm, PReLU) across
// as many workers as OpenBLAS uses, so the non-GEMM layers scale with threads as well.
import Foundation

enum Parallel {
    /// Calls `body` on contiguous, disjoint sub-ranges covering 0..<count, concurrently when
    /// there are several threads and `count · costPerItem` is worth a thread hop (≥ 32k).
    static func forRanges(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let workers = min(BLAS.threads, count)
        if workers <= 1 || count * costPerItem < 32_768 {
            body(0..<count)
            return
        }
        // The ranges are disjoint and the call returns only after every worker finished,
        // so sharing the (non-Sendable) body and the buffers it captures is safe.
        withoutActuallyEscaping(body) { escaping in
            let shared = SharedBody(run: escaping)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                shared.run((count * w / workers)..<(count * (w + 1) / workers))
            }
        }
    }

    private struct SharedBody: @unchecked Sendable {
        let run: (Range<Int>) -> Void
    }
}
