// Conv2D: dense 2-D convolution over NHWC activations without bias (every backbone follows
// it with batch norm). 1×1 stride-1 convolutions are one GEMM over all N·H·W pixels; every
// other shape is im2col + GEMM over chunks of images sized to keep the patch matrix small.
// Backward: dW by GEMM against the patches; dX at stride 1 as a convolution of dY with the
// flipped kernel (one well-shaped GEMM), at other strides by GEMM then col2im scatter-add.
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

public final class Conv2D: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let geometry: ConvGeometry
    public let weight: Parameter  // (Cout, KH, KW, Cin)
    /// Seconds spent in forward and backward, and the multiply-adds done there, since the
    /// last `resetProfile()` — what `ffc bench engine` divides to get the share of sgemm peak.
    public private(set) var profileSeconds = 0.0
    public private(set) var profileMultiplyAdds = 0.0

    private var input: Tensor?
    private var output: Tensor?  // (N, OH, OW, Cout)
    private var inputGrad: Tensor?  // (N, H, W, Cin)
    private var cols: Tensor?  // (chunk·OH·OW, K)
    private var colsGrad: Tensor?  // (chunk·OH·OW, K), or (chunk·H·W, KH·KW·Cout) at stride 1
    private var flippedWeight: Tensor?  // (Cin, KH, KW, Cout), rotated 180°: stride-1 dX
    /// Floats the im2col buffer may hold before images are processed in smaller chunks
    /// (16 MiB: large enough for full-size GEMMs, small enough to stay flat in memory).
    var colsBudget = 4 << 20

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
        profileSeconds = 0
        profileMultiplyAdds = 0
    }

    private var isPointwise: Bool { geometry.kernel == 1 && geometry.stride == 1 && geometry.padding == 0 }
    private var patchSize: Int { geometry.kernel * geometry.kernel * inChannels }

    /// Images per im2col chunk: as many as fit the budget, at least one.
    private func chunkSize(batch: Int, outPixels: Int, rowLength: Int? = nil) -> Int {
        max(1, min(batch, colsBudget / max(1, outPixels * (rowLength ?? patchSize))))
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[3] == inChannels, "\(summary) got input \(x.shape)")
        let start = DispatchTime.now().uptimeNanoseconds
        input = x
        let outShape = outputShape(x.shape)
        let y = Tensor.reuse(&output, shape: outShape)
        let (n, oh, ow) = (outShape[0], outShape[1], outShape[2])
        if isPointwise {
            BLAS.sgemm(
                transB: true, m: n * oh * ow, n: outChannels, k: inChannels,
                a: x.pointer, b: weight.value.pointer, c: y.pointer)
        } else {
            let chunk = chunkSize(batch: n, outPixels: oh * ow)
            var first = 0
            while first < n {
                let count = min(chunk, n - first)
                let patches = Tensor.reuse(&cols, shape: [count * oh * ow, patchSize])
                im2col(x, geometry, first: first, count: count, into: patches)
                BLAS.sgemm(
                    transB: true, m: count * oh * ow, n: outChannels, k: patchSize,
                    a: patches.pointer, b: weight.value.pointer, c: y.pointer + first * oh * ow * outChannels)
                first += count
            }
        }
        profileSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        profileMultiplyAdds += Double(multiplyAdds(x.shape))
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let start = DispatchTime.now().uptimeNanoseconds
        let dx = Tensor.reuse(&inputGrad, shape: x.shape)
        let (n, oh, ow) = (dy.shape[0], dy.shape[1], dy.shape[2])
        if isPointwise {
            // dW (Cout, Cin) += dYᵀ · X ; dX = dY · W
            BLAS.sgemm(
                transA: true, m: outChannels, n: inChannels, k: n * oh * ow,
                a: dy.pointer, b: x.pointer, beta: 1, c: weight.grad.pointer)
            BLAS.sgemm(
                m: n * oh * ow, n: inChannels, k: outChannels,
                a: dy.pointer, b: weight.value.pointer, c: dx.pointer)
        } else if geometry.stride == 1 && geometry.padding < geometry.kernel {
            // dX is the convolution of dY (padded by K−1−P) with the flipped, transposed
            // kernel: a GEMM with K = KH·KW·Cout and no scatter-add back into dX.
            let k = geometry.kernel
            let flipped = Tensor.reuse(&flippedWeight, shape: [inChannels, k, k, outChannels])
            let (wt, ft) = (weight.value.pointer, flipped.pointer)
            for co in 0..<outChannels {
                for ky in 0..<k {
                    for kx in 0..<k {
                        let from = wt + ((co * k + ky) * k + kx) * inChannels
                        for ci in 0..<inChannels { ft[((ci * k + (k - 1 - ky)) * k + (k - 1 - kx)) * outChannels + co] = from[ci] }
                    }
                }
            }
            let transposed = ConvGeometry(kernel: k, stride: 1, padding: k - 1 - geometry.padding)
            let (h, w) = (x.shape[1], x.shape[2])
            let chunk = chunkSize(batch: n, outPixels: max(oh * ow, h * w), rowLength: max(patchSize, k * k * outChannels))
            var first = 0
            while first < n {
                let count = min(chunk, n - first)
                let patches = Tensor.reuse(&cols, shape: [count * oh * ow, patchSize])
                im2col(x, geometry, first: first, count: count, into: patches)
                let dyChunk = dy.pointer + first * oh * ow * outChannels
                BLAS.sgemm(
                    transA: true, m: outChannels, n: patchSize, k: count * oh * ow,
                    a: dyChunk, b: patches.pointer, beta: 1, c: weight.grad.pointer)
                let gradPatches = Tensor.reuse(&colsGrad, shape: [count * h * w, k * k * outChannels])
                im2col(dy, transposed, first: first, count: count, into: gradPatches)
                BLAS.sgemm(
                    transB: true, m: count * h * w, n: inChannels, k: k * k * outChannels,
                    a: gradPatches.pointer, b: flipped.pointer, c: dx.pointer + first * h * w * inChannels)
                first += count
            }
        } else {
            dx.zero()
            let chunk = chunkSize(batch: n, outPixels: oh * ow)
            var first = 0
            while first < n {
                let count = min(chunk, n - first)
                let rows = count * oh * ow
                let patches = Tensor.reuse(&cols, shape: [rows, patchSize])
                let patchGrads = Tensor.reuse(&colsGrad, shape: [rows, patchSize])
                im2col(x, geometry, first: first, count: count, into: patches)
                let dyChunk = dy.pointer + first * oh * ow * outChannels
                BLAS.sgemm(
                    transA: true, m: outChannels, n: patchSize, k: rows,
                    a: dyChunk, b: patches.pointer, beta: 1, c: weight.grad.pointer)
                BLAS.sgemm(
                    m: rows, n: patchSize, k: outChannels,
                    a: dyChunk, b: weight.value.pointer, c: patchGrads.pointer)
                col2im(patchGrads, first: first, count: count, into: dx)
                first += count
            }
        }
        profileSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        profileMultiplyAdds += 2 * Double(multiplyAdds(x.shape))
        return dx
    }

    /// Copies each output pixel's KH·KW·C receptive field of `x` (N, H, W, C) into one row
    /// of `patches`; padding is zeros. Images first..<first+count; workers split the output
    /// rows (memory-bound copying that would otherwise leave the second core idle).
    private func im2col(_ x: Tensor, _ g: ConvGeometry, first: Int, count: Int, into patches: Tensor) {
        let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
        let (k, s, p) = (g.kernel, g.stride, g.padding)
        let (oh, ow) = (g.outputSize(h), g.outputSize(w))
        let rowLength = k * k * c
        let (src, out) = (UnsafePointer(x.pointer), patches.pointer)
        Parallel.forRanges(count * oh, costPerItem: ow * rowLength) { imageRows in
            for imageRow in imageRows {
                let (img, oy) = (first + imageRow / oh, imageRow % oh)
                let image = src + img * h * w * c
                var dst = out + imageRow * ow * rowLength
                for ox in 0..<ow {
                    for ky in 0..<k {
                        let iy = oy * s - p + ky
                        if iy < 0 || iy >= h {
                            dst.update(repeating: 0, count: k * c)
                            dst += k * c
                            continue
                        }
                        for kx in 0..<k {
                            let ix = ox * s - p + kx
                            if ix < 0 || ix >= w {
                                dst.update(repeating: 0, count: c)
                            } else {
                                dst.update(from: image + (iy * w + ix) * c, count: c)
                            }
                            dst += c
                        }
                    }
                }
            }
        }
    }

    /// Adds each patch-row gradient back onto the input pixels it was copied from.
    private func col2im(_ patchGrads: Tensor, first: Int, count: Int, into dx: Tensor) {
        let (h, w, c) = (dx.shape[1], dx.shape[2], inChannels)
        let (k, s, p) = (geometry.kernel, geometry.stride, geometry.padding)
        let (oh, ow) = (geometry.outputSize(h), geometry.outputSize(w))
        var src = UnsafePointer(patchGrads.pointer)
        for img in first..<(first + count) {
            let image = dx.pointer + img * h * w * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for ky in 0..<k {
                        let iy = oy * s - p + ky
                        if iy < 0 || iy >= h {
                            src += k * c
                            continue
                        }
                        for kx in 0..<k {
                            let ix = ox * s - p + kx
                            if ix >= 0 && ix < w {
                                let target = image + (iy * w + ix) * c
                                for ch in 0..<c { target[ch] += src[ch] }
                            }
                            src += c
                        }
                    }
                }
            }
        }
    }
}
