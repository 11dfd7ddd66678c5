// DepthwiseConv2D: one KH×KW filter per channel (groups = channels), no bias. In NHWC the
// channels of a pixel are contiguous, so every tap is a SIMD multiply-add across channels.
// Every y and dx value is a gathered sum kept in a register and stored once, and dW is
// summed in registers per worker before it reaches memory: no zero-filling, no scatter-add,
// and workers split rows of pixels.
//
// Weight (KH, KW, C): a tap's C weights are contiguous like the activations. PyTorch's
// (C, 1, KH, KW) maps by permute(2, 3, 0, 1) after dropping the 1.
import Foundation

public final class DepthwiseConv2D: Layer {
    public let channels: Int
    public let geometry: ConvGeometry
    public let weight: Parameter  // (KH, KW, C)

    private var input: Tensor?
    private var output: Tensor?  // (N, OH, OW, C)
    private var inputGrad: Tensor?  // (N, H, W, C)
    private let weightSums: ChannelSums  // (KH·KW) sums per channel: dW

    public init(_ channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.channels = channels
        geometry = ConvGeometry(kernel: kernel, stride: stride, padding: padding)
        weight = Parameter(shape: [kernel, kernel, channels], role: .weight, fanIn: kernel * kernel)
        weightSums = ChannelSums(channels: channels, sums: kernel * kernel)
    }

    public var parameters: [NamedParameter] { [NamedParameter(name: "weight", parameter: weight)] }
    public var summary: String { "DepthwiseConv2D \(geometry.label) \(channels)" }

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
        let y = Tensor.reuse(&output, shape: outShape)
        let (h, w) = (x.shape[1], x.shape[2])
        let (oh, ow) = (outShape[1], outShape[2])
        let (k, s, p, c) = (geometry.kernel, geometry.stride, geometry.padding, channels)
        let wt = UnsafePointer(weight.value.pointer)
        let (src, dst) = (UnsafePointer(x.pointer), y.pointer)
        // Workers split the output rows; each output pixel gathers its taps per 8 channels
        // in a register and is stored once.
        Parallel.forRanges(outShape[0] * oh, costPerItem: ow * k * k * c) { outputRows in
            withUnsafeTemporaryAllocation(of: (value: Int, tap: Int).self, capacity: k * k) { taps in
                for outputRow in outputRows {
                    let (img, oy) = (outputRow / oh, outputRow % oh)
                    let image = src + img * h * w * c
                    for ox in 0..<ow {
                        var count = 0
                        for ky in 0..<k {
                            let iy = oy * s - p + ky
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<k {
                                let ix = ox * s - p + kx
                                if ix < 0 || ix >= w { continue }
                                taps[count] = ((iy * w + ix) * c, (ky * k + kx) * c)
                                count += 1
                            }
                        }
                        storeTapSums(
                            taps, count, values: image, weights: wt, into: dst + (outputRow * ow + ox) * c, channels: c)
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let dx = Tensor.reuse(&inputGrad, shape: x.shape)
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
                        withUnsafeTemporaryAllocation(of: (value: Int, tap: Int).self, capacity: k * k) { taps in
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
                                for ix in 0..<w {
                                    var count = 0
                                    for a in 0..<rowCount {
                                        let (oy, ky) = rowTaps[a]
                                        for b in 0..<columnTapCounts[ix] {
                                            let (ox, kx) = columnTaps[ix * k + b]
                                            taps[count] = ((oy * ow + ox) * c, (ky * k + kx) * c)
                                            count += 1
                                        }
                                    }
                                    storeTapSums(
                                        taps, count, values: imageGrad, weights: wt,
                                        into: dst + (inputRow * w + ix) * c, channels: c)
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
        // (accumulate3x3WeightGrad); border pixels go tap by tap, each tap's sum over the
        // row in four registers (interleaved pixels) so the adds do not wait on each other.
        let interiorColumns = k == 3 ? geometry.interiorOutputs(inputSize: w, outputSize: ow) : 0..<0
        /// sum[ch] += Σ over output pixels j in `pixels` of dY[j] · X[j·s − p + kx] on one row.
        @inline(__always) func addTap(
            outputRow: UnsafePointer<Float>, inputRow: UnsafePointer<Float>, kx: Int, pixels: Range<Int>,
            into sum: UnsafeMutablePointer<Float>
        ) {
            if pixels.isEmpty { return }
            let (outputs, row) = (outputRow + pixels.lowerBound * c, inputRow + (pixels.lowerBound * s - p + kx) * c)
            let (count, step) = (pixels.count, s * c)
            forEachLaneGroup(c) { ch, width in
                var (acc0, acc1, acc2, acc3) = (Lanes(), Lanes(), Lanes(), Lanes())
                var j = 0
                while j + 4 <= count {
                    let (o, i) = (outputs + j * c + ch, row + j * step + ch)
                    acc0 += loadLanes(o, width) * loadLanes(i, width)
                    acc1 += loadLanes(o + c, width) * loadLanes(i + step, width)
                    acc2 += loadLanes(o + 2 * c, width) * loadLanes(i + 2 * step, width)
                    acc3 += loadLanes(o + 3 * c, width) * loadLanes(i + 3 * step, width)
                    j += 4
                }
                while j < count {
                    acc0 += loadLanes(outputs + j * c + ch, width) * loadLanes(row + j * step + ch, width)
                    j += 1
                }
                storeLanes(loadLanes(sum + ch, width) + ((acc0 + acc1) + (acc2 + acc3)), sum + ch, width)
            }
        }
        weightSums.accumulate(rows: n * oh, costPerRow: ow * k * k * c) { outputRows, block in
            for outputRow in outputRows {
                let (img, oy) = (outputRow / oh, outputRow % oh)
                let image = src + img * h * w * c
                let g = grads + outputRow * ow * c
                let top = oy * s - p
                let interior = top >= 0 && top + k <= h ? interiorColumns : 0..<0
                if !interior.isEmpty {
                    accumulate3x3WeightGrad(
                        outputGrads: g + interior.lowerBound * c,
                        inputs: image + (top * w + interior.lowerBound * s - p) * c, rowStride: w * c, step: s * c,
                        count: interior.count, into: block, channels: c)
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

/// block[(3·ky + kx)·C + ch] += Σ over j < count of outputGrads[j·C + ch] ·
/// inputs[ky·rowStride + j·step + kx·C + ch]: the 3×3 depthwise weight gradient of one row

/// out[ch] = Σ over the first `count` taps of values[tap.value + ch] · weights[tap.tap + ch], for
/// every channel: one pixel of the forward output (taps into the input) or of the input
/// gradient (taps into dY), eight channels per step with the sum in a register.
@inline(__always)
private func storeTapSums(
    _ taps: UnsafeMutableBufferPointer<(value: Int, tap: Int)>, _ count: Int, values: UnsafePointer<Float>,
    weights: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, channels c: Int
) {
    forEachLaneGroup(c) { ch, width in
        var acc = Lanes(repeating: 0)
        for t in 0..<count {
            acc += loadLanes(values + taps[t].value + ch, width) * loadLanes(weights + taps[t].tap + ch, width)
        }
        storeLanes(acc, out + ch, width)
    }
}
/// of windows that lie wholly inside the input. Per tile of eight pixels and lane group the
/// nine tap sums stay in registers and each dY vector is loaded once for all nine taps; the
/// tile's input (3 rows of 8·stride + 2 pixels) stays in L1 while the lane groups walk it,
/// where summing tap by tap over a whole row re-read it from L2 for every tap.
/// - Complexity: O(count · 9 · C).
@inline(__always)
private func accumulate3x3WeightGrad(
    outputGrads: UnsafePointer<Float>, inputs: UnsafePointer<Float>, rowStride: Int, step: Int, count: Int,
    into block: UnsafeMutablePointer<Float>, channels c: Int
) {
    var tileStart = 0
    while tileStart < count {
        let tile = tileStart..<min(count, tileStart + 8)
        tileStart = tile.upperBound
        forEachLaneGroup(c) { ch, width in
            var (s0, s1, s2, s3, s4, s5, s6, s7, s8) = (
                Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes()
            )
            for j in tile {
                let d = loadLanes(outputGrads + j * c + ch, width)
                let row0 = inputs + j * step + ch
                let (row1, row2) = (row0 + rowStride, row0 + 2 * rowStride)
                s0 += d * loadLanes(row0, width)
                s1 += d * loadLanes(row0 + c, width)
                s2 += d * loadLanes(row0 + 2 * c, width)
                s3 += d * loadLanes(row1, width)
                s4 += d * loadLanes(row1 + c, width)
                s5 += d * loadLanes(row1 + 2 * c, width)
                s6 += d * loadLanes(row2, width)
                s7 += d * loadLanes(row2 + c, width)
                s8 += d * loadLanes(row2 + 2 * c, width)
            }
            @inline(__always) func add(_ tap: Int, _ sum: Lanes) {
                let p = block + tap * c + ch
                storeLanes(loadLanes(p, width) + sum, p, width)
            }
            add(0, s0)
            add(1, s1)
            add(2, s2)
            add(3, s3)
            add(4, s4)
            add(5, s5)
            add(6, s6)
            add(7, s7)
            add(8, s8)
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
