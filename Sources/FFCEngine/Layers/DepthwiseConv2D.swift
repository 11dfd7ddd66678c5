// DepthwiseConv2D: one KH×KW filter per channel (groups = channels), no bias. In NHWC the
// channels of a pixel are contiguous, so every tap is a SIMD multiply-add across channels.
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

    public init(_ channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.channels = channels
        geometry = ConvGeometry(kernel: kernel, stride: stride, padding: padding)
        weight = Parameter(shape: [kernel, kernel, channels], role: .weight, fanIn: kernel * kernel)
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
        y.zero()
        let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let (oh, ow) = (outShape[1], outShape[2])
        let (k, s, p, c) = (geometry.kernel, geometry.stride, geometry.padding, channels)
        let wt = UnsafePointer(weight.value.pointer)
        let (src, dst) = (UnsafePointer(x.pointer), y.pointer)
        // Workers split the channels: disjoint outputs, no reduction, SIMD along each run.
        Parallel.forRanges(c, costPerItem: n * oh * ow * k * k) { channels in
            let (c0, width) = (channels.lowerBound, channels.count)
            for img in 0..<n {
                let image = src + img * h * w * c + c0
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let out = dst + ((img * oh + oy) * ow + ox) * c + c0
                        for ky in 0..<k {
                            let iy = oy * s - p + ky
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<k {
                                let ix = ox * s - p + kx
                                if ix < 0 || ix >= w { continue }
                                multiplyAdd(out, image + (iy * w + ix) * c, wt + (ky * k + kx) * c + c0, width)
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("\(summary): backward before forward") }
        let dx = Tensor.reuse(&inputGrad, shape: x.shape)
        dx.zero()
        let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let (oh, ow) = (dy.shape[1], dy.shape[2])
        let (k, s, p, c) = (geometry.kernel, geometry.stride, geometry.padding, channels)
        let wt = UnsafePointer(weight.value.pointer)
        let dw = weight.grad.pointer
        let (src, grads, dst) = (UnsafePointer(x.pointer), UnsafePointer(dy.pointer), dx.pointer)
        // Channel split as in forward: each worker owns its channels of dx and of dW.
        Parallel.forRanges(c, costPerItem: 2 * n * oh * ow * k * k) { channels in
            let (c0, width) = (channels.lowerBound, channels.count)
            for img in 0..<n {
                let image = src + img * h * w * c + c0
                let imageGrad = dst + img * h * w * c + c0
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let g = grads + ((img * oh + oy) * ow + ox) * c + c0
                        for ky in 0..<k {
                            let iy = oy * s - p + ky
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<k {
                                let ix = ox * s - p + kx
                                if ix < 0 || ix >= w { continue }
                                let pixel = (iy * w + ix) * c
                                let tap = (ky * k + kx) * c + c0
                                multiplyAdd(imageGrad + pixel, g, wt + tap, width)
                                multiplyAdd(dw + tap, g, image + pixel, width)
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// acc[i] += a[i] · b[i] for i < count, eight lanes at a time.
@inline(__always)
func multiplyAdd(
    _ acc: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int
) {
    var i = 0
    let accRaw = UnsafeMutableRawPointer(acc)
    let aRaw = UnsafeRawPointer(a)
    let bRaw = UnsafeRawPointer(b)
    while i + 8 <= count {
        let offset = i * 4
        let sum =
            accRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            + aRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            * bRaw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
        accRaw.storeBytes(of: sum, toByteOffset: offset, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        acc[i] += a[i] * b[i]
        i += 1
    }
}
