// MaxPool2D: the largest value of each KH×KW window per channel over NHWC activations, padding
// never winning (PyTorch's MaxPool2d pads with −∞). Forward remembers, per output value, the
// flat input index it came from; backward adds each dy there. Ties go to the first window
// position in row-major order, as PyTorch's CPU kernel picks them (a strict `>` scan), which
// matters after a ReLU, where whole windows are zero. A NaN wins, as there, so it is not hidden.
//
// Workers split output rows forward; backward splits images, since neighbouring output rows'
// windows overlap in the input and would race on the same dx.
import Foundation

public final class MaxPool2D: Layer {
    public let geometry: ConvGeometry

    private var input: Tensor?
    private var output: Tensor?  // (N, OH, OW, C)
    private var inputGrad: Tensor?  // (N, H, W, C)
    private var argmax: [Int32] = []  // (N, OH, OW, C): index into the image's H·W·C floats

    public init(kernel: Int, stride: Int, padding: Int = 0) {
        precondition(2 * padding <= kernel, "max-pool padding \(padding) exceeds half the \(kernel)×\(kernel) window")
        geometry = ConvGeometry(kernel: kernel, stride: stride, padding: padding)
    }

    public var summary: String {
        "MaxPool2D \(geometry.label)" + (geometry.padding > 0 ? " pad \(geometry.padding)" : "")
    }

    public func outputShape(_ input: [Int]) -> [Int] {
        [input[0], geometry.outputSize(input[1]), geometry.outputSize(input[2]), input[3]]
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4, "\(summary) got input \(x.shape)")
        input = x
        let outShape = outputShape(x.shape)
        let y = Tensor.reuse(&output, shape: outShape)
        let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        let (k, s, p) = (geometry.kernel, geometry.stride, geometry.padding)
        precondition(h * w * c <= Int(Int32.max), "\(summary): image of \(h * w * c) floats")
        if argmax.count != y.count { argmax = [Int32](repeating: 0, count: y.count) }
        let (src, dst) = (UnsafePointer(x.pointer), y.pointer)
        argmax.withUnsafeMutableBufferPointer { indices in
            let sources = indices.baseAddress!
            Parallel.forRanges(outShape[0] * oh, costPerItem: ow * k * k * c) { outputRows in
                for outputRow in outputRows {
                    let (img, oy) = (outputRow / oh, outputRow % oh)
                    let image = src + img * h * w * c
                    let y0 = max(0, oy * s - p)
                    let y1 = min(h, oy * s - p + k)
                    for ox in 0..<ow {
                        let x0 = max(0, ox * s - p)
                        let x1 = min(w, ox * s - p + k)
                        let out = (outputRow * ow + ox) * c
                        // The window's first position seeds every channel; later ones replace
                        // only a strictly larger value (row-major scan, channels contiguous).
                        let first = (y0 * w + x0) * c
                        for ch in 0..<c {
                            dst[out + ch] = image[first + ch]
                            sources[out + ch] = Int32(first + ch)
                        }
                        for iy in y0..<y1 {
                            for ix in x0..<x1 where iy != y0 || ix != x0 {
                                let at = (iy * w + ix) * c
                                for ch in 0..<c where image[at + ch] > dst[out + ch] || image[at + ch].isNaN {
                                    dst[out + ch] = image[at + ch]
                                    sources[out + ch] = Int32(at + ch)
                                }
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
        let imageFloats = x.shape[1] * x.shape[2] * x.shape[3]
        let perImage = dy.count / max(1, x.shape[0])
        let (grads, dst) = (UnsafePointer(dy.pointer), dx.pointer)
        argmax.withUnsafeBufferPointer { indices in
            let from = indices.baseAddress!
            Parallel.forRanges(x.shape[0], costPerItem: imageFloats + perImage) { images in
                for img in images {
                    let image = dst + img * imageFloats
                    image.update(repeating: 0, count: imageFloats)
                    for j in (img * perImage)..<((img + 1) * perImage) { image[Int(from[j])] += grads[j] }
                }
            }
        }
        return dx
    }
}
