// oneDNN's convolutions timed on one shape (the CDNNL probe): what `ffc bench engine --conv`
// prints beside ours, so a CPU's choice between them is a measurement, not a guess. bf16 runs
// only where oneDNN 2.6 has kernels for it (avx512_core and up: AVX512-BF16 or AMX for speed);
// elsewhere the failure says why.
import CDNNL

public enum OneDNNConvolution {
    public enum Precision: String, CaseIterable, CustomStringConvertible, Sendable {
        case fp32, bf16
        public var description: String { rawValue }
    }

    /// A square-kernel convolution with padding kernel/2 on NHWC input of side × side.
    public struct Shape: Sendable {
        public var batch, inChannels, outChannels, kernel, stride, side: Int

        public init(batch: Int, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, side: Int) {
            (self.batch, self.inChannels, self.outChannels) = (batch, inChannels, outChannels)
            (self.kernel, self.stride, self.side) = (kernel, stride, side)
        }

        public var outputSide: Int { (side + 2 * (kernel / 2) - kernel) / stride + 1 }

        var c: ffc_dnnl_shape {
            ffc_dnnl_shape(
                n: Int32(batch), cin: Int32(inChannels), cout: Int32(outChannels), kernel: Int32(kernel),
                stride: Int32(stride), side: Int32(side))
        }
    }

    public struct Failure: Error, Sendable {
        public var message: String
    }

    /// The fastest forward, and the fastest backward data plus backward weights, in seconds.
    public struct Timing: Sendable {
        public var forward: Double
        public var backward: Double
        /// oneDNN's implementation of each pass, e.g. "jit:avx2".
        public var implementations: String
    }

    public static func time(_ shape: Shape, precision: Precision, threads: Int, repeats: Int) -> Result<
        Timing, Failure
    > {
        ffc_dnnl_set_threads(Int32(threads))
        var seconds: [Double] = []
        var names: [String] = []
        for pass in [FFC_DNNL_FORWARD, FFC_DNNL_BACKWARD_DATA, FFC_DNNL_BACKWARD_WEIGHTS] {
            var out = ffc_dnnl_timing()
            if ffc_dnnl_time_convolution(pass, precision == .bf16 ? 1 : 0, shape.c, Int32(repeats), &out) != 0 {
                return .failure(Failure(message: text(&out.error)))
            }
            seconds.append(out.seconds)
            names.append(text(&out.implementation))
        }
        let distinct = names.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        return .success(
            Timing(
                forward: seconds[0], backward: seconds[1] + seconds[2],
                implementations: distinct.joined(separator: " / ")))
    }

    /// An fp32 forward on our layouts (input NHWC, weight (Cout, K, K, Cin)): the check that the
    /// probe times the convolution we compute.
    public static func forward(_ shape: Shape, input: [Float], weight: [Float]) -> Result<[Float], Failure> {
        var output = [Float](repeating: 0, count: shape.batch * shape.outputSide * shape.outputSide * shape.outChannels)
        var error = [CChar](repeating: 0, count: 160)
        let status = ffc_dnnl_forward_nhwc(shape.c, input, weight, &output, &error, Int32(error.count))
        guard status == 0 else {
            return .failure(
                Failure(
                    message: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        return .success(output)
    }

    private static func text<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
