// ChannelLanes: the building blocks of the Swift per-channel kernels (ReLU, residual add;
// batch norm, PReLU and depthwise convolution, the hot ones, are C kernels in
// CChannelKernels that pick AVX2 at run time, and follow the same scheme). In NHWC a row of
// C contiguous floats holds one value per channel, so per-channel work runs eight channels
// per SIMD step; a row's last step, when C is not a multiple of 8, loads and stores only the
// channels that are there. Kernels walk their floats with `forEachLaneGroup`, which passes
// the width of full groups as the constant 8, so their loads and stores compile to vector
// instructions with no per-step width test (a variable width made the compiler keep the
// partial-lane paths inline, spilling registers in every loop). The engine is compiled for
// the baseline x86-64, so a SIMD8 step here is two SSE instructions: enough for these
// memory-bound loops. Per-channel sums over all rows go through `ChannelSums`, which lets
// workers split the rows.
import Foundation

typealias Lanes = SIMD8<Float>

/// Eight floats from `p`, or the first `count` of them (the other lanes 0) when `count` < 8.
@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>, _ count: Int) -> Lanes {
    if count >= 8 { return UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
    var v = Lanes(repeating: 0)
    for i in 0..<count { v[i] = p[i] }
    return v
}

/// Stores eight lanes at `p`, or only the first `count` when `count` < 8.
@inline(__always)
func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count >= 8 {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
        return
    }
    for i in 0..<count { p[i] = v[i] }
}

/// Calls `body(offset, width)` on the eight-float groups of `count` contiguous floats,
/// workers splitting the groups; width is the constant 8 except for a partial last group.
@inline(__always)
func forEachLaneGroup(count: Int, _ body: (_ offset: Int, _ width: Int) -> Void) {
    Parallel.forRanges((count + 7) / 8, costPerItem: 8) { range in
        for i in range {
            if 8 * i + 8 <= count { body(8 * i, 8) } else { body(8 * i, count - 8 * i) }
        }
    }
}

/// `sums` per-channel sums over the rows of (rows, C) data, accumulated by several workers
/// at once. Each worker adds blocks of at most `blockRows` rows into its own float block
/// (vectorised across channels), which is then added to its double totals, so sums over
/// hundreds of thousands of rows keep float precision; `total` adds the workers' totals.
/// Buffers grow with the worker count and are reused across calls.
final class ChannelSums {
    let channels: Int
    let sums: Int
    static let blockRows = 64

    private var workerCapacity = 0
    private var workerCount = 0
    private var blocks = UnsafeMutablePointer<Float>.allocate(capacity: 1)  // (workers, sums, C)
    private var totals = UnsafeMutablePointer<Double>.allocate(capacity: 1)  // (workers, sums, C)

    init(channels: Int, sums: Int) {
        self.channels = channels
        self.sums = sums
    }

    deinit {
        blocks.deallocate()
        totals.deallocate()
    }

    /// Splits 0..<rows across workers and calls `body(rows, block)` on consecutive pieces
    /// of at most `blockRows` rows; `body` adds sum k of channel ch into block[k·C + ch].
    /// - Complexity: O(rows · C · sums) in `body`, plus O(workers · sums · C) here.
    func accumulate(rows: Int, costPerRow: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let workers = Parallel.workers(rows, costPerItem: costPerRow)
        let stride = sums * channels
        if workers > workerCapacity {
            blocks.deallocate()
            totals.deallocate()
            blocks = .allocate(capacity: workers * stride)
            totals = .allocate(capacity: workers * stride)
            workerCapacity = workers
        }
        workerCount = workers
        blocks.update(repeating: 0, count: workers * stride)
        totals.update(repeating: 0, count: workers * stride)
        let (blocks, totals) = (blocks, totals)
        Parallel.forRanges(rows, workers: workers) { worker, range in
            let block = blocks + worker * stride
            let total = totals + worker * stride
            var first = range.lowerBound
            while first < range.upperBound {
                let last = min(first + ChannelSums.blockRows, range.upperBound)
                body(first..<last, block)
                for i in 0..<stride {
                    total[i] += Double(block[i])
                    block[i] = 0
                }
                first = last
            }
        }
    }

    /// Sum `k` of channel `ch` over every row of the last `accumulate`.
    func total(_ k: Int, _ ch: Int) -> Double {
        var s = 0.0
        for w in 0..<workerCount { s += totals[(w * sums + k) * channels + ch] }
        return s
    }
}
