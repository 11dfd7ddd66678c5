// EngineTuning: the sizes that decide how the engine cuts work into GEMM calls. OpenBLAS
// picks a kernel path per call shape (its small-matrix and edge kernels sum in another
// order than its blocked ones), so these sizes decide the last bits of every convolution:
// two runs agree bit for bit when their tuning, thread count and OpenBLAS core agree, and
// differ within float32 rounding otherwise. Each size is read once — from the environment
// when set (to reproduce another machine's numbers, or to test several settings on one),
// else from this machine — and printed in the run summary.
//
//   FFC_L2_BYTES       per-core L2 the worker-path chunks are sized for (e.g. 1M, 1.25M,
//                      2048K, 1048576); default: sysfs cpu0 index2, else 1 MiB
//   FFC_IM2COL_BYTES   patch-matrix chunk on the OpenBLAS-threaded path; default 16M
//   OPENBLAS_CORETYPE  OpenBLAS's kernel family (Haswell, SkylakeX, …): OpenBLAS reads it
//   OPENBLAS_NUM_THREADS  the thread count (`BLAS.threads`) unless a command sets it
//   FFC_ISA            the channel kernels' instruction set (sse2, avx2; CChannelKernels);
//                      default: the best this CPU runs. Their results are the same bits
//                      either way, so it is printed but does not decide any.
import CChannelKernels
import Foundation

public struct EngineTuning: Sendable, Equatable {
    /// Per-core L2 in bytes.
    public let l2Bytes: Int
    /// Floats in one worker's patch chunk: three quarters of its L2, leaving room for the
    /// weight panel and output rows the GEMM touches at the same time.
    public var workerChunkFloats: Int { max(4096, l2Bytes * 3 / 4 / 4) }
    /// Floats in one patch chunk when a single caller runs OpenBLAS's own threads.
    public let im2colFloats: Int
    /// Where each size came from ("env" or "machine"), for the summary line.
    public let l2Source: String

    public init(l2Bytes: Int, im2colFloats: Int = 4 << 20, l2Source: String = "given") {
        self.l2Bytes = max(64 << 10, l2Bytes)
        self.im2colFloats = max(4096, im2colFloats)
        self.l2Source = l2Source
    }

    /// The tuning of this process: the environment's values where set, else this machine's.
    public static let current: EngineTuning = fromEnvironment(ProcessInfo.processInfo.environment)

    static func fromEnvironment(_ env: [String: String]) -> EngineTuning {
        let l2: (bytes: Int, source: String)
        if let text = env["FFC_L2_BYTES"], let bytes = parseBytes(text) {
            l2 = (bytes, "FFC_L2_BYTES")
        } else if let bytes = machineL2Bytes() {
            l2 = (bytes, "machine")
        } else {
            l2 = (1 << 20, "default")
        }
        let im2col = env["FFC_IM2COL_BYTES"].flatMap(parseBytes) ?? (16 << 20)
        return EngineTuning(l2Bytes: l2.bytes, im2colFloats: im2col / 4, l2Source: l2.source)
    }

    /// "1M", "1.25M", "2048K", "1048576" → bytes (K and M are powers of 1024); nil when
    /// malformed or not positive.
    static func parseBytes(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        var number = Substring(trimmed)
        var unit = 1.0
        if number.hasSuffix("B") { number = number.dropLast() }
        if number.hasSuffix("K") {
            unit = 1024
            number = number.dropLast()
        } else if number.hasSuffix("M") {
            unit = 1024 * 1024
            number = number.dropLast()
        }
        guard let value = Double(number), value > 0, value * unit < Double(Int.max / 2) else { return nil }
        return Int((value * unit).rounded())
    }

    /// cpu0's unified level-2 cache from sysfs ("1024K").
    static func machineL2Bytes() -> Int? {
        for index in 0..<8 {
            let dir = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let level = try? String(contentsOfFile: dir + "level", encoding: .utf8) else { break }
            guard level.trimmingCharacters(in: .whitespacesAndNewlines) == "2",
                let size = try? String(contentsOfFile: dir + "size", encoding: .utf8)
            else { continue }
            return parseBytes(size.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return nil
    }

    /// The instruction set of the batch-norm, PReLU and depthwise kernels this process runs
    /// ("avx2", or "sse2" on a CPU without AVX2 or with FFC_ISA=sse2).
    public static var channelKernels: String { String(cString: ffc_channel_kernels_active().pointee.isa) }

    /// "L2 1024 KiB (machine), im2col 16 MiB, channel kernels avx2": what a run prints so two
    /// runs can be compared.
    public var summary: String {
        "L2 \(l2Bytes >> 10) KiB (\(l2Source)), im2col \((im2colFloats * 4) >> 20) MiB, channel kernels \(Self.channelKernels)"
    }
}
