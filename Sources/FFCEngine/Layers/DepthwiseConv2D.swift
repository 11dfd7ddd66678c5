// DepthwiseConv2D: one KH×KW filter per channel (groups = channels), no bias. In NHWC the
// channels of a pixel are contiguous, so every tap is a SIMD multiply-add across channels.
// Every y and dx value is a gathered sum kept in a register and stored once, and dW is
// summed in registers per worker before it reaches memory: no zero-filling, no scatter-add,
// and workers split rows of pixels. The per-pixel loops over channels are C kernels
// (CChannelKernels: AVX2 where the CPU has it, else SSE2, chosen at run time).
//
// Weight (KH, KW, C): a tap's C weights are contiguous like the activations. PyTorch's
// (C, 1, KH, KW) maps by permute(2, 3, 0, 1) after dropping the 1.
import CChannelKernels
import Foundation

public final class DepthwiseConv2D: Layer {
    public let channels: Int
    public let geometry: ConvGeometry
    public let weight: Parameter  // (KH, KW, C)

    private var input: Tensor?
    private let weightSums: ChannelSums  // (KH·KW) sums per channel: dW

    public init(_ channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.channels = channels
        geometry = ConvGeometry(kernel: kernel, stride: stride, padding: padding)
        weight = Parameter(shape: [kernel, kernel, channels], role: .weight, fanIn: kernel * kernel)
        weightSums = ChannelSums(channels: channels, sums: kernel * kernel)
    }

    public var parameters: [NamedParameter] { [NamedParameter(name: "weight", parameter: weight)] }
    public var summary: String { "DepthwiseConv2D \(geometry.label) \(channels)" }

    public func takeSaved() -> SavedActivations? {
        defer { input = nil }
        return input
    }

    public func restoreSaved(_ saved: SavedActivations?) { input = saved as? Tensor }

    public func outputShape(_ input: [Int]) -> [Int] {
        [input[0], geometry.outputSize(input[1]), geometry.outputSize(input[2]), channels]
    }

    public func multiplyAdds(_ input: [Int]) -> Int {
        let out = outputShape(input)
        return out[0] * out[1] * out[2] * channels * geometry.kernel * geometry.kernel
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[3] == channels, "\(summary) got input \(x.shape)")
        input = x
        let outShape = outputShape(x.shape)
        let y = Tensor(pooled: outShape)
        let (h, w) = (x.shape[1], x.shape[2])
        let (oh, ow) = (outShape[1], outShape[2])
        let (k, s, p, c) = (geometry.kernel, geometry.stride, geometry.padding, channels)
        let wt = UnsafePointer(weight.value.pointer)
        let (src, dst) = (UnsafePointer(x.pointer), y.pointer)
        // Workers split the output rows; each output pixel gathers its taps per 8 channels
        // in a register and is stored once (one kernel call per row of pixels).
        Parallel.forRanges(outShape[0] * oh, costPerItem: ow * k * k * c) { outputRows in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * ow * k * k) { taps in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: ow) { tapEnds in
                    for outputRow in outputRows {
                        let (img, oy) = (outputRow / oh, outputRow % oh)
                        let image = src + img * h * w * c
                        var count = 0
                        for ox in 0..<ow {
                            for ky in 0..<k {
                                let iy = oy * s - p + ky
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<k {
                                    let ix = ox * s - p + kx
                                    if ix < 0 || ix >= w { continue }
                                    taps[2 * count] = (iy * w + ix) * c
                                    taps[2 * count + 1] = (ky * k + kx) * c
                                    count += 1
                                }
                            }
                            tapEnds[ox] = count
                        }
                        ffc_dw_gather(
                            image, wt, taps.baseAddress, tapEnds.baseAddress, ow, dst + outputRow * ow * c, c)
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let dx = Tensor(pooled: x.shape)
        input = nil
        inputGradient(dy, of: x, into: dx)
        weightGradient(dy, of: x)
        return dx
    }

    /// dX of `backward`.
    private func inputGradient(_ dy: Tensor, of x: Tensor, into dx: Tensor) {
        let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let (oh, ow) = (dy.shape[1], dy.shape[2])
        let (k, s, p, c) = (geometry.kernel, geometry.stride, geometry.padding, channels)
        let wt = UnsafePointer(weight.value.pointer)
        let (grads, dst) = (UnsafePointer(dy.pointer), dx.pointer)
        // dX: workers split the input rows; each input pixel gathers dY·W over the output
        // pixels whose window covers it (iy = oy·s − p + ky), so nothing is scattered. Which
        // (output column, kx) pairs reach input column ix is the same on every row: found
        // once here, so the pixel loop does no division.
        withUnsafeTemporaryAllocation(of: (output: Int, kx: Int).self, capacity: w * k) { columnTaps in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: w) { columnTapCounts in
                for ix in 0..<w {
                    var count = 0
                    for kx in 0..<k {
                        let tx = ix + p - kx
                        if tx < 0 || tx % s != 0 || tx / s >= ow { continue }
                        columnTaps[ix * k + count] = (tx / s, kx)
                        count += 1
                    }
                    columnTapCounts[ix] = count
                }
                let (columnTaps, columnTapCounts) = (
                    UnsafePointer(columnTaps.baseAddress!), UnsafePointer(columnTapCounts.baseAddress!)
                )
                Parallel.forRanges(n * h, costPerItem: w * k * k * c) { inputRows in
                    withUnsafeTemporaryAllocation(of: (output: Int, ky: Int).self, capacity: k) { rowTaps in
                        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * w * k * k) { taps in
                            withUnsafeTemporaryAllocation(of: Int.self, capacity: w) { tapEnds in
                                for inputRow in inputRows {
                                    let (img, iy) = (inputRow / h, inputRow % h)
                                    let imageGrad = grads + img * oh * ow * c
                                    var rowCount = 0
                                    for ky in 0..<k {
                                        let ty = iy + p - ky
                                        if ty < 0 || ty % s != 0 || ty / s >= oh { continue }
                                        rowTaps[rowCount] = (ty / s, ky)
                                        rowCount += 1
                                    }
                                    var count = 0
                                    for ix in 0..<w {
                                        for a in 0..<rowCount {
                                            let (oy, ky) = rowTaps[a]
                                            for b in 0..<columnTapCounts[ix] {
                                                let (ox, kx) = columnTaps[ix * k + b]
                                                taps[2 * count] = (oy * ow + ox) * c
                                                taps[2 * count + 1] = (ky * k + kx) * c
                                                count += 1
                                            }
                                        }
                                        tapEnds[ix] = count
                                    }
                                    ffc_dw_gather(
                                        imageGrad, wt, taps.baseAddress, tapEnds.baseAddress, w,
                                        dst + inputRow * w * c, c)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// dW of `backward`, added to `weight.grad`.
    private func weightGradient(_ dy: Tensor, of x: Tensor) {
        let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let (oh, ow) = (dy.shape[1], dy.shape[2])
        let (k, s, p, c) = (geometry.kernel, geometry.stride, geometry.padding, channels)
        let (src, grads) = (UnsafePointer(x.pointer), UnsafePointer(dy.pointer))
        // dW[tap] = Σ over output pixels of dY · X at the tap; workers split the output rows.
        // A 3×3 row whose windows lie inside the input takes the tiled register path
        // (ffc_dw_weight_grad_3x3: per tile of eight pixels the nine tap sums stay in registers
        // and each dY vector is loaded once for all nine taps, the tile's input staying in L1);
        // border pixels go tap by tap (ffc_dw_add_tap), each tap's sum over the row in four
        // registers (interleaved pixels) so the adds do not wait on each other.
        let interiorColumns = k == 3 ? geometry.interiorOutputs(inputSize: w, outputSize: ow) : 0..<0
        /// sum[ch] += Σ over output pixels j in `pixels` of dY[j] · X[j·s − p + kx] on one row.
        @inline(__always) func addTap(
            outputRow: UnsafePointer<Float>, inputRow: UnsafePointer<Float>, kx: Int, pixels: Range<Int>,
            into sum: UnsafeMutablePointer<Float>
        ) {
            if pixels.isEmpty { return }
            ffc_dw_add_tap(
                outputRow + pixels.lowerBound * c, inputRow + (pixels.lowerBound * s - p + kx) * c, pixels.count,
                s * c, c, sum)
        }
        weightSums.accumulate(rows: n * oh, costPerRow: ow * k * k * c) { outputRows, block in
            for outputRow in outputRows {
                let (img, oy) = (outputRow / oh, outputRow % oh)
                let image = src + img * h * w * c
                let g = grads + outputRow * ow * c
                let top = oy * s - p
                let interior = top >= 0 && top + k <= h ? interiorColumns : 0..<0
                if !interior.isEmpty {
                    ffc_dw_weight_grad_3x3(
                        g + interior.lowerBound * c, image + (top * w + interior.lowerBound * s - p) * c, w * c,
                        s * c, interior.count, block, c)
                }
                for ky in 0..<k {
                    let iy = top + ky
                    if iy < 0 || iy >= h { continue }
                    for kx in 0..<k {
                        let (first, end) = geometry.validOutputs(tap: kx, inputSize: w, outputSize: ow)
                        let sum = block + (ky * k + kx) * c
                        // Pixels this tap reaches outside the interior: all, or the two ends.
                        if interior.isEmpty {
                            addTap(
                                outputRow: g, inputRow: image + iy * w * c, kx: kx, pixels: first..<max(first, end),
                                into: sum)
                        } else {
                            addTap(
                                outputRow: g, inputRow: image + iy * w * c, kx: kx, pixels: first..<interior.lowerBound,
                                into: sum)
                            addTap(
                                outputRow: g, inputRow: image + iy * w * c, kx: kx, pixels: interior.upperBound..<end,
                                into: sum)
                        }
                    }
                }
            }
        }
        let dw = weight.grad.pointer
        for tap in 0..<(k * k) {
            for ch in 0..<c { dw[tap * c + ch] += Float(weightSums.total(tap, ch)) }
        }
    }
}

extension ConvGeometry {
    /// Output positions whose whole window lies inside the input (every tap valid).
    func interiorOutputs(inputSize: Int, outputSize: Int) -> Range<Int> {
        let first = validOutputs(tap: 0, inputSize: inputSize, outputSize: outputSize).first
        let end = validOutputs(tap: kernel - 1, inputSize: inputSize, outputSize: outputSize).end
        return first < end ? first..<end : 0..<0
    }

    /// Output positions first..<end whose window puts tap `tap` inside the input
    /// (0 ≤ o·stride − padding + tap < inputSize).
    func validOutputs(tap: Int, inputSize: Int, outputSize: Int) -> (first: Int, end: Int) {
        let low = padding - tap  // o·stride ≥ low
        let high = inputSize - 1 + padding - tap  // o·stride ≤ high
        if high < 0 { return (0, 0) }
        let first = low <= 0 ? 0 : (low + stride - 1) / stride
        return (first, min(outputSize, high / stride + 1))
    }
}
