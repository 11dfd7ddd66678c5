// Conv2D: dense 2-D convolution over NHWC activations without bias (every backbone follows
// it with batch norm). 1×1 stride-1 convolutions are one GEMM over all N·H·W pixels; every
// other shape is im2col + GEMM over chunks of images sized to keep the patch matrix small.
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
    private var colsGrad: Tensor?  // (chunk·OH·OW, K)
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
    private func chunkSize(batch: Int, outPixels: Int) -> Int {
        max(1, min(batch, colsBudget / max(1, outPixels * patchSize)))
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
                im2col(x, first: first, count: count, into: patches)
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
        } else {
            dx.zero()
            let chunk = chunkSize(batch: n, outPixels: oh * ow)
            var first = 0
            while first < n {
                let count = min(chunk, n - first)
                let rows = count * oh * ow
                let patches = Tensor.reuse(&cols, shape: [rows, patchSize])
                let patchGrads = Tensor.reuse(&colsGrad, shape: [rows, patchSize])
                im2col(x, first: first, count: count, into: patches)
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

    /// Copies each output pixel's KH·KW·Cin receptive field into one row; padding is zeros.
    private func im2col(_ x: Tensor, first: Int, count: Int, into patches: Tensor) {
        let (h, w, c) = (x.shape[1], x.shape[2], inChannels)
        let (k, s, p) = (geometry.kernel, geometry.stride, geometry.padding)
        let (oh, ow) = (geometry.outputSize(h), geometry.outputSize(w))
        let src = x.pointer
        var dst = patches.pointer
        for img in first..<(first + count) {
            let image = src + img * h * w * c
            for oy in 0..<oh {
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
