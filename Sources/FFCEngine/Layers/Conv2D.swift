// Conv2D: dense 2-D convolution over NHWC activations without bias (every backbone follows
// it with batch norm). 1×1 stride-1 convolutions are one GEMM over all N·H·W pixels; every
// other shape is im2col + GEMM over chunks of output rows. Small weights (Cout·K ≤ 300k
// floats: the 64- and 128-channel stages, every 1×1 of MobileFaceNet) run on each worker
// separately over its share of the rows — its own L2-sized patch chunk and single-threaded
// sgemm, so a skinny GEMM pays no thread hand-off and reads patches its own core just
// wrote; large weights run big chunks whose sgemm `BLAS` splits across the threads, where
// re-reading the weight per small chunk would cost more.
// Backward: dW by GEMM against the patches, accumulated with beta = 1; dX at stride 1 as a
// convolution of dY with the flipped kernel (one well-shaped GEMM), at other strides by GEMM
// into L2-sized patch-gradient chunks added straight into dX (col2im as a scatter-add). A
// network's first convolution skips dX (nobody needs the image's gradient) — the largest
// im2col of an IResNet backward.
//
// Scratch (the patch matrices) lives in a `ConvWorkspace` that `Backbone` shares between all
// its convolutions, since they run one after another: one buffer per net, not per layer.
//
// Weight (Cout, KH, KW, Cin) — channels-last like the activations, so a patch row times a
// weight row is the dot product. PyTorch's (Cout, Cin, KH, KW) maps by permute(0, 2, 3, 1).
import Foundation

/// Kernel, stride and zero padding of a square-kernel convolution, and its output size.
public struct ConvGeometry: Sendable {
    public let kernel: Int
    public let stride: Int
    public let padding: Int

    public func outputSize(_ input: Int) -> Int { (input + 2 * padding - kernel) / stride + 1 }
    public var label: String { "\(kernel)×\(kernel)" + (stride == 1 ? "" : "/\(stride)") }
}

/// The im2col scratch of convolutions that never run at the same time; grows to the largest
/// shape asked for and is then reused, so it costs one buffer per network.
public final class ConvWorkspace {
    var patches: [Tensor] = []  // per worker: (chunk rows, K)
    var weightGrads: [Tensor] = []  // per row group after the first: (Cout, KH, KW, Cin)
    var patchGrads: [Tensor] = []  // per worker: (chunk lines·OW, K) for strided dX
    var flippedWeight: Tensor?  // (Cin, KH, KW, Cout)

    public init() {}

    /// One buffer of at least `floats` per worker, reused across calls.
    func buffers(_ slots: inout [Tensor], workers: Int, floats: Int) -> [UnsafeMutablePointer<Float>] {
        for w in 0..<workers {
            if w == slots.count { slots.append(Tensor(shape: [floats])) }
            var slot: Tensor? = slots[w]
            slots[w] = Tensor.reuse(&slot, shape: [floats])
        }
        return slots.prefix(workers).map(\.pointer)
    }
}

public final class Conv2D: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let geometry: ConvGeometry
    public let weight: Parameter  // (Cout, KH, KW, Cin)
    /// False for a network's first convolution, whose input is the image: backward then
    /// computes only the weight gradient and returns the input-gradient buffer unfilled.
    public var computesInputGradient = true
    /// Where the patch matrices live; `Backbone` gives all its convolutions one.
    public var workspace = ConvWorkspace()
    /// Seconds spent in forward and in backward, and the multiply-adds done there, since the
    /// last `resetProfile()` — what `ffc bench engine` divides to get the share of sgemm peak.
    public private(set) var profileForwardSeconds = 0.0
    public private(set) var profileBackwardSeconds = 0.0
    public private(set) var profileMultiplyAdds = 0.0
    public var profileSeconds: Double { profileForwardSeconds + profileBackwardSeconds }

    private var input: Tensor?
    /// Floats one im2col chunk may hold on the OpenBLAS-threaded path (16 MiB by default:
    /// full-size GEMMs, flat memory); a worker's chunk is capped to stay in its L2. Both
    /// come from `EngineTuning`, since chunk sizes decide OpenBLAS's kernel paths.
    var colsBudget = EngineTuning.current.im2colFloats
    var workerChunkFloats = EngineTuning.current.workerChunkFloats
    /// Weights up to this many floats take the per-worker path.
    static let workerPathMaxWeight = 300_000

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        geometry = ConvGeometry(kernel: kernel, stride: stride, padding: padding)
        let fanIn = inChannels * kernel * kernel
        weight = Parameter(shape: [outChannels, kernel, kernel, inChannels], role: .weight, fanIn: fanIn)
    }

    public var parameters: [NamedParameter] { [NamedParameter(name: "weight", parameter: weight)] }
    public var summary: String { "Conv2D \(geometry.label) \(inChannels)→\(outChannels)" }

    public func outputShape(_ input: [Int]) -> [Int] {
        [input[0], geometry.outputSize(input[1]), geometry.outputSize(input[2]), outChannels]
    }

    public func multiplyAdds(_ input: [Int]) -> Int {
        let out = outputShape(input)
        return out[0] * out[1] * out[2] * outChannels * geometry.kernel * geometry.kernel * inChannels
    }

    public func resetProfile() {
        profileForwardSeconds = 0
        profileBackwardSeconds = 0
        profileMultiplyAdds = 0
    }

    private var isPointwise: Bool { geometry.kernel == 1 && geometry.stride == 1 && geometry.padding == 0 }
    private var patchSize: Int { geometry.kernel * geometry.kernel * inChannels }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[3] == inChannels, "\(summary) got input \(x.shape)")
        let start = DispatchTime.now().uptimeNanoseconds
        input = x
        let outShape = outputShape(x.shape)
        let y = Tensor(pooled: outShape)
        let (n, oh, ow) = (outShape[0], outShape[1], outShape[2])
        if isPointwise {
            // Workers claim L2-sized chunks of rows (disjoint outputs), so a slowed core does fewer.
            let rows = n * oh * ow
            let perChunk = workers > 1 ? max(1, workerChunkFloats / (inChannels + outChannels)) : rows
            eachRange(rows, perChunk: perChunk, workers: workers, claimed: true) { rows, _ in
                BLAS.sgemm(
                    transB: true, m: rows.count, n: outChannels, k: inChannels,
                    a: x.pointer + rows.lowerBound * inChannels, b: weight.value.pointer,
                    c: y.pointer + rows.lowerBound * outChannels, workers: gemmWorkers)
            }
        } else {
            let w = UnsafePointer(weight.value.pointer)
            let split = workers == 1
            eachChunk(lines: n * oh, floatsPerLine: ow * patchSize, claimed: true) { lines, patches, _ in
                im2col(x, geometry, lines: lines, into: patches, split: split)
                BLAS.sgemm(
                    transB: true, m: lines.count * ow, n: outChannels, k: patchSize,
                    a: patches, b: w, c: y.pointer + lines.lowerBound * ow * outChannels, workers: gemmWorkers)
            }
        }
        profileForwardSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        profileMultiplyAdds += Double(multiplyAdds(x.shape))
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let start = DispatchTime.now().uptimeNanoseconds
        let dx = Tensor(pooled: x.shape)
        input = nil
        let (n, oh, ow) = (dy.shape[0], dy.shape[1], dy.shape[2])
        if isPointwise {
            // dW (Cout, Cin) += dYᵀ · X ; dX = dY · W. On the worker path both GEMMs run on
            // the same L2-sized chunk of rows, so dY is read from memory once, not twice.
            let rows = n * oh * ow
            let perChunk = workers > 1 ? max(1, workerChunkFloats / (inChannels + outChannels)) : rows
            accumulatingWeightGradient { grads in
                eachGroupChunk(rows, groups: grads.count, perChunk: perChunk) { range, group, _ in
                    BLAS.sgemm(
                        transA: true, m: outChannels, n: inChannels, k: range.count,
                        a: dy.pointer + range.lowerBound * outChannels, b: x.pointer + range.lowerBound * inChannels,
                        beta: 1, c: grads[group], workers: gemmWorkers)
                    if computesInputGradient {
                        BLAS.sgemm(
                            m: range.count, n: inChannels, k: outChannels,
                            a: dy.pointer + range.lowerBound * outChannels, b: weight.value.pointer,
                            c: dx.pointer + range.lowerBound * inChannels, workers: gemmWorkers)
                    }
                }
            }
        } else {
            weightGradient(x, dy)
            if computesInputGradient {
                if geometry.stride == 1 && geometry.padding < geometry.kernel {
                    transposedInputGradient(dy, into: dx)
                } else {
                    scatteredInputGradient(dy, into: dx)
                }
            }
        }
        profileBackwardSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        profileMultiplyAdds += Double((computesInputGradient ? 2 : 1) * multiplyAdds(x.shape))
        return dx
    }

    public func takeSaved() -> SavedActivations? {
        defer { input = nil }
        return input
    }

    public func restoreSaved(_ saved: SavedActivations?) { input = saved as? Tensor }

    /// Workers for this layer's GEMMs: all of them when the weight is small (each then runs
    /// single-threaded sgemm), else one caller whose sgemm `BLAS` splits.
    private var workers: Int { weight.value.count <= Self.workerPathMaxWeight ? max(1, BLAS.threads) : 1 }
    /// What each of this layer's sgemm calls may split into: 1 on the worker path.
    private var gemmWorkers: Int? { workers > 1 ? 1 : nil }

    /// Calls `body(range, worker)` over 0..<count in chunks of at most `perChunk`: workers
    /// take contiguous shares, or with `claimed`
    /// take the next chunk as they finish one (for bodies whose result does not depend on
    /// which worker runs a chunk: a core slowed by another process then does fewer chunks
    /// instead of holding up the step).
    private func eachRange(
        _ count: Int, perChunk: Int, workers: Int, claimed: Bool = false,
        _ body: (_ range: Range<Int>, _ worker: Int) -> Void
    ) {
        func run(_ range: Range<Int>, _ worker: Int) {
            var start = range.lowerBound
            while start < range.upperBound {
                let end = min(start + max(1, perChunk), range.upperBound)
                body(start..<end, worker)
                start = end
            }
        }
        if workers == 1 {
            run(0..<count, 0)
        } else if claimed {
            Parallel.forChunks(count, perChunk: max(1, perChunk), workers: workers) { w, range in body(range, w) }
        } else {
            // Each worker's sgemm runs single-threaded on its own core, over data its cache holds.
            Parallel.forRanges(count, workers: workers) { w, range in run(range, w) }
        }
    }

    /// `eachRange` over output lines with a per-worker scratch buffer for the chunk's
    /// `floatsPerLine`-float lines, capped to a worker's L2 when there are several. Claimed
    /// chunks are also cut to at most a quarter of a worker's share, so a small input still
    /// gives every worker chunks to claim.
    private func eachChunk(
        lines: Int, floatsPerLine: Int, workers: Int? = nil, claimed: Bool = false,
        _ body: (_ lines: Range<Int>, _ patches: UnsafeMutablePointer<Float>, _ worker: Int) -> Void
    ) {
        let workers = workers ?? self.workers
        let budget = workers > 1 ? min(colsBudget, workerChunkFloats) : colsBudget
        let fitting = max(1, min(lines, budget / floatsPerLine))
        let shareQuarter = (lines + 4 * workers - 1) / (4 * workers)
        let perChunk = claimed && workers > 1 ? max(1, min(fitting, shareQuarter)) : fitting
        let buffers = workspace.buffers(&workspace.patches, workers: workers, floats: perChunk * floatsPerLine)
        eachRange(lines, perChunk: perChunk, workers: workers, claimed: claimed) { range, worker in
            body(range, buffers[worker], worker)
        }
    }

    /// Runs `body` with one dW accumulator per group of rows (one group for a single caller
    /// whose sgemm BLAS splits, four per worker on the worker path) — the gradient itself for
    /// the first, zeroed scratch for the others — and adds the scratch into the gradient in
    /// group order after. Workers claim whole groups, so a core slowed by another process
    /// runs fewer of them, while the sums do not depend on which worker ran which group.
    private func accumulatingWeightGradient(_ body: (_ grads: [UnsafeMutablePointer<Float>]) -> Void) {
        let count = weight.grad.count
        let groups = workers > 1 ? 4 * workers : 1
        let grads =
            [weight.grad.pointer] + workspace.buffers(&workspace.weightGrads, workers: groups - 1, floats: count)
        for g in grads.dropFirst() { g.update(repeating: 0, count: count) }
        body(grads)
        let total = weight.grad.pointer
        for g in grads.dropFirst() {
            for i in 0..<count { total[i] += g[i] }
        }
    }

    /// Cuts 0..<count into `groups` fixed contiguous groups, which the workers claim one at a
    /// time, and calls `body(range, group, worker)` on chunks of at most `perChunk` items of
    /// each group, in order.
    private func eachGroupChunk(
        _ count: Int, groups: Int, perChunk: Int,
        _ body: (_ range: Range<Int>, _ group: Int, _ worker: Int) -> Void
    ) {
        func run(group: Int, worker: Int) {
            var start = count * group / groups
            let end = count * (group + 1) / groups
            while start < end {
                let stop = min(start + max(1, perChunk), end)
                body(start..<stop, group, worker)
                start = stop
            }
        }
        let workers = min(self.workers, groups)
        if workers == 1 {
            for group in 0..<groups { run(group: group, worker: 0) }
        } else {
            Parallel.forChunks(groups, perChunk: 1, workers: workers) { worker, claimed in
                run(group: claimed.lowerBound, worker: worker)
            }
        }
    }

    /// dW (Cout, K) += dYᵀ · patches, one GEMM per chunk with beta = 1.
    private func weightGradient(_ x: Tensor, _ dy: Tensor) {
        let (lines, ow) = (dy.shape[0] * dy.shape[1], dy.shape[2])
        let floatsPerLine = ow * patchSize
        let workers = self.workers
        let budget = workers > 1 ? min(colsBudget, workerChunkFloats) : colsBudget
        let perChunk = max(1, min(lines, budget / floatsPerLine))
        let buffers = workspace.buffers(&workspace.patches, workers: workers, floats: perChunk * floatsPerLine)
        accumulatingWeightGradient { grads in
            eachGroupChunk(lines, groups: grads.count, perChunk: perChunk) { range, group, worker in
                im2col(x, geometry, lines: range, into: buffers[worker], split: workers == 1)
                BLAS.sgemm(
                    transA: true, m: outChannels, n: patchSize, k: range.count * ow,
                    a: dy.pointer + range.lowerBound * ow * outChannels, b: buffers[worker], beta: 1,
                    c: grads[group], workers: gemmWorkers)
            }
        }
    }

    /// Stride 1: dX is the convolution of dY (padded by K−1−P) with the flipped, transposed
    /// kernel — one GEMM with K = KH·KW·Cout per chunk and no scatter-add back into dX.
    private func transposedInputGradient(_ dy: Tensor, into dx: Tensor) {
        let k = geometry.kernel
        let flipped = Tensor.reuse(&workspace.flippedWeight, shape: [inChannels, k, k, outChannels])
        flipKernel(into: flipped.pointer)
        let transposed = ConvGeometry(kernel: k, stride: 1, padding: k - 1 - geometry.padding)
        let (h, w) = (dx.shape[1], dx.shape[2])
        let rowLength = k * k * outChannels
        let split = workers == 1
        eachChunk(lines: dx.shape[0] * h, floatsPerLine: w * rowLength, claimed: true) { lines, patches, _ in
            im2col(dy, transposed, lines: lines, into: patches, split: split)
            BLAS.sgemm(
                transB: true, m: lines.count * w, n: inChannels, k: rowLength,
                a: patches, b: flipped.pointer, c: dx.pointer + lines.lowerBound * w * inChannels, workers: gemmWorkers)
        }
    }

    /// flipped (Cin, KH, KW, Cout)[ci, KH−1−ky, KW−1−kx, co] = W (Cout, KH, KW, Cin)[co, ky, kx, ci]:
    /// per kernel tap a Cout×Cin transpose, done in 16×16 tiles so both sides stream whole
    /// cache lines (a plain scatter with stride Cout misses the cache on every write).
    private func flipKernel(into flipped: UnsafeMutablePointer<Float>) {
        let (k, cout, cin) = (geometry.kernel, outChannels, inChannels)
        let taps = k * k
        let w = UnsafePointer(weight.value.pointer)
        let tile = 16
        for tap in 0..<taps {
            let from = w + tap * cin  // row co at from + co · taps · cin
            let to = flipped + (taps - 1 - tap) * cout  // row ci at to + ci · taps · cout
            for co0 in stride(from: 0, to: cout, by: tile) {
                let co1 = min(co0 + tile, cout)
                for ci0 in stride(from: 0, to: cin, by: tile) {
                    let ci1 = min(ci0 + tile, cin)
                    for ci in ci0..<ci1 {
                        let row = to + ci * taps * cout
                        for co in co0..<co1 { row[co] = from[co * taps * cin + ci] }
                    }
                }
            }
        }
    }

    /// Other strides: per chunk of output lines (L2-sized on the worker path), the patch
    /// gradients dY · W, then each patch entry added into the input pixel it was copied from
    /// while the chunk is still in cache. Workers take whole images, so no two write the same
    /// pixel; a chunk first zeroes the input rows it is the first to reach, so dX gets no
    /// separate zero-fill pass. At 1×1/2 that is one GEMM per chunk and one add per output pixel.
    private func scatteredInputGradient(_ dy: Tensor, into dx: Tensor) {
        let (n, oh, ow) = (dy.shape[0], dy.shape[1], dy.shape[2])
        let (h, rowFloats) = (dx.shape[1], dx.shape[2] * inChannels)
        let (k, s, p) = (geometry.kernel, geometry.stride, geometry.padding)
        let workers = min(self.workers, n)
        let budget = workers > 1 ? min(colsBudget, workerChunkFloats) : colsBudget
        let perChunk = max(1, budget / (ow * patchSize))
        let buffers = workspace.buffers(&workspace.patchGrads, workers: workers, floats: perChunk * ow * patchSize)
        let w = UnsafePointer(weight.value.pointer)
        eachRange(n, perChunk: n, workers: workers) { images, worker in
            let patchGrads = buffers[worker]
            var zeroed = (image: -1, rows: 0)  // input rows of `image` already zeroed
            var line = images.lowerBound * oh
            while line < images.upperBound * oh {
                let end = min(line + perChunk, images.upperBound * oh)
                BLAS.sgemm(
                    m: (end - line) * ow, n: patchSize, k: outChannels,
                    a: dy.pointer + line * ow * outChannels, b: w, c: patchGrads, workers: gemmWorkers)
                for image in (line / oh)...((end - 1) / oh) {
                    let first = max(line, image * oh) - image * oh
                    let last = min(end, (image + 1) * oh) - image * oh
                    let from = zeroed.image == image ? zeroed.rows : 0
                    let reach = last == oh ? h : min(h, (last - 1) * s - p + k)
                    if reach > from {
                        (dx.pointer + (image * h + from) * rowFloats).update(
                            repeating: 0, count: (reach - from) * rowFloats)
                    }
                    zeroed = (image, max(from, reach))
                    addPatches(
                        patchGrads + (image * oh + first - line) * ow * patchSize, image: image,
                        outputRows: first..<last, into: dx, splitChannels: workers == 1)
                }
                line = end
            }
        }
    }

    /// Copies each output pixel's KH·KW·C receptive field of `x` (N, H, W, C) into one row
    /// of `out`; padding is zeros. `lines` are output rows n·OH + oy; with `split` (a single
    /// caller whose sgemm BLAS splits) workers split them — memory-bound copying that would
    /// otherwise leave the second core idle; on the worker path each worker copies its own
    /// chunk, so its GEMM reads patches from its own L2. A kernel
    /// row's KW pixels are adjacent in NHWC, so away from the border it is one KW·C copy.
    private func im2col(
        _ x: Tensor, _ g: ConvGeometry, lines: Range<Int>, into out: UnsafeMutablePointer<Float>, split: Bool
    ) {
        let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
        let (k, s, p) = (g.kernel, g.stride, g.padding)
        let (oh, ow) = (g.outputSize(h), g.outputSize(w))
        let (rowLength, kernelRow) = (k * k * c, k * c)
        let src = UnsafePointer(x.pointer)
        let workers = split ? Parallel.workers(lines.count, costPerItem: ow * rowLength) : 1
        Parallel.forRanges(lines.count, workers: workers) { _, chunkLines in
            for imageRow in chunkLines {
                let (img, oy) = ((lines.lowerBound + imageRow) / oh, (lines.lowerBound + imageRow) % oh)
                let image = src + img * h * w * c
                var dst = out + imageRow * ow * rowLength
                for ox in 0..<ow {
                    let x0 = ox * s - p
                    let inside = x0 >= 0 && x0 + k <= w
                    for ky in 0..<k {
                        let iy = oy * s - p + ky
                        if iy < 0 || iy >= h {
                            dst.update(repeating: 0, count: kernelRow)
                        } else if inside {
                            dst.update(from: image + (iy * w + x0) * c, count: kernelRow)
                        } else {
                            for kx in 0..<k {
                                let ix = x0 + kx
                                if ix < 0 || ix >= w {
                                    (dst + kx * c).update(repeating: 0, count: c)
                                } else {
                                    (dst + kx * c).update(from: image + (iy * w + ix) * c, count: c)
                                }
                            }
                        }
                        dst += kernelRow
                    }
                }
            }
        }
    }

    /// col2im as a scatter-add: adds each patch row of `patchGrads` (output rows `outputRows`
    /// of `image`, OW patches each) into the input pixels it was copied from; padding taps
    /// are dropped. With `splitChannels`, workers take disjoint channel ranges (the caller
    /// runs one thread, so the adds still use every core without two writing one pixel).
    private func addPatches(
        _ patchGrads: UnsafeMutablePointer<Float>, image: Int, outputRows: Range<Int>, into dx: Tensor,
        splitChannels: Bool
    ) {
        let (h, w, c) = (dx.shape[1], dx.shape[2], inChannels)
        let (k, s, p) = (geometry.kernel, geometry.stride, geometry.padding)
        let ow = geometry.outputSize(w)
        let src = UnsafePointer(patchGrads)
        let target = dx.pointer + image * h * w * c
        let cost = outputRows.count * ow * patchSize
        let workers = splitChannels ? Parallel.workers(c, costPerItem: cost / c) : 1
        Parallel.forRanges(c, workers: workers) { _, channels in
            for (row, oy) in outputRows.enumerated() {
                for ox in 0..<ow {
                    var tap = src + (row * ow + ox) * patchSize
                    for ky in 0..<k {
                        let iy = oy * s - p + ky
                        guard iy >= 0, iy < h else {
                            tap += k * c
                            continue
                        }
                        for kx in 0..<k {
                            let ix = ox * s - p + kx
                            if ix >= 0, ix < w {
                                let pixel = target + (iy * w + ix) * c
                                for ch in channels { pixel[ch] += tap[ch] }
                            }
                            tap += c
                        }
                    }
                }
            }
        }
    }
}
