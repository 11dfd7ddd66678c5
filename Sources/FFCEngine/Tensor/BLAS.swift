// BLAS: the one file that talks to OpenBLAS. Everything else calls these Swift functions on
// row-major float32 matrices.
import COpenBLAS
import Foundation
import Synchronization

public enum BLAS {
    /// C (m×n) = alpha · op(A) · op(B) + beta · C, row-major; op transposes when asked.
    /// `lda`, `ldb`, `ldc` default to the packed row lengths.
    ///
    /// OpenBLAS itself always runs one thread. A large product is split here into `workers`
    /// fixed blocks of C's rows (or columns, when C is wider than tall), one single-threaded
    /// sgemm each, so a result depends only on the shape and the configured thread count: an
    /// OpenBLAS-wide thread setting would let one caller's setting (another test, an
    /// evaluation next to training) change how another caller's product is cut, and its last
    /// bits with it. `workers` nil: `threads` when the product is large enough to split; pass
    /// 1 from inside a worker that already has its own core.
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        workers: Int? = nil
    ) {
        let configured = threads  // also makes OpenBLAS one-threaded before its first product
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        func call(m: Int, n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
            cblas_sgemm(
                CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
        let split = workers ?? splitWorkers(m: m, n: n, k: k, threads: configured)
        if split <= 1 {
            call(m: m, n: n, a: a, b: b, c: c)
        } else if m >= n {
            Parallel.forRanges(m, workers: split) { _, rows in
                guard !rows.isEmpty else { return }
                let i = rows.lowerBound
                call(m: rows.count, n: n, a: transA ? a + i : a + i * lda, b: b, c: c + i * ldc)
            }
        } else {
            Parallel.forRanges(n, workers: split) { _, columns in
                guard !columns.isEmpty else { return }
                let j = columns.lowerBound
                call(m: m, n: columns.count, a: a, b: transB ? b + j * ldb : b + j, c: c + j)
            }
        }
    }

    /// How many blocks `sgemm` cuts an m×n×k product into: `threads` from 4 MFLOP and 16 rows
    /// (or columns) a block, else 1.
    static func splitWorkers(m: Int, n: Int, k: Int, threads t: Int) -> Int {
        return t > 1 && 2 * m * n * k >= 1 << 22 && max(m, n) >= 16 * t ? t : 1
    }

    /// The thread count the engine is configured for: the blocks a large GEMM is cut into and
    /// the engine's workers elsewhere. OPENBLAS_NUM_THREADS (or OpenBLAS's default, the core
    /// count) sets it at start; setting it is the only way it changes.
    public static var threads: Int {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = max(1, newValue) } }
    }

    private static let state: Mutex<Int> = {
        let configured = max(1, Int(openblas_get_num_threads()))
        openblas_set_num_threads(1)
        return Mutex(configured)
    }()

    /// The kernel family OpenBLAS picked for this CPU (e.g. "Zen", "Haswell").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The OPENBLAS_CORETYPE to use when OpenBLAS picked slower kernels than this CPU can
    /// run; nil when the detected ones are right. 0.3.21 does not know some newer CPUs: on
    /// AVX-512 Xeons in KVM guests it falls back to its generic "Prescott" kernels (sgemm about
    /// 5× slower), and it predates Zen 4, which it may run on its AVX2 "Zen"/"Haswell" kernels
    /// (the AVX2 kernels on this project's Zen 5 EPYC, one thread: 29–33 GF/s against 59–104
    /// for SkylakeX's).
    public static var suggestedCoreType: String? {
        suggestedCoreType(detected: coreName, flags: cpuFlags)
    }

    static func suggestedCoreType(detected: String, flags: Set<String>) -> String? {
        let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        let avx2 = flags.contains("avx2") && flags.contains("fma")
        switch detected.lowercased() {
        case "prescott": return avx512 ? "SkylakeX" : avx2 ? "Haswell" : nil
        case "haswell", "zen": return avx512 ? "SkylakeX" : nil
        default: return nil
        }
    }

    /// The first `flags` line of /proc/cpuinfo (empty off Linux).
    static var cpuFlags: Set<String> {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }

    /// OpenBLAS picks its kernels when the library loads, before `main`; when it picked slower
    /// ones than the CPU runs (see `suggestedCoreType`) and OPENBLAS_CORETYPE is unset, re-executes this process
    /// with it set (same arguments). Returns only when no restart is needed or possible.
    public static func restartWithFastKernelsIfNeeded() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let core = suggestedCoreType else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }

    /// A GEMM shape C (m×n) = A (m×k) · B (k×n) the peak measurement times.
    public struct GEMMShape: Sendable, CustomStringConvertible {
        public let m: Int
        public let n: Int
        public let k: Int
        public init(m: Int, n: Int, k: Int) {
            self.m = m
            self.n = n
            self.k = k
        }
        public var description: String { "\(m)×\(n)×\(k)" }
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    /// The square 1024³ GEMM plus the shapes of IResNet convolutions at batch 32 (patch rows ×
    /// Cout × KH·KW·Cin at 56², 28², 14² and 7²): on a shared VM the best of several shapes
    /// is a steadier, and higher, measure of what sgemm can do than one square timing.
    public static let peakShapes = [
        GEMMShape(m: 1024, n: 1024, k: 1024), GEMMShape(m: 6272, n: 128, k: 576),
        GEMMShape(m: 3136, n: 256, k: 1152), GEMMShape(m: 1568, n: 256, k: 2304),
        GEMMShape(m: 1568, n: 512, k: 4608),
    ]

    /// The fastest of `shapes` at the configured thread count: its GFLOP/s (best of
    /// `repeats` timed calls after one warm-up, 2·m·n·k flops per call) and the shape.
    public static func measurePeak(
        shapes: [GEMMShape] = peakShapes, repeats: Int = 5
    ) -> (gflops: Double, shape: GEMMShape) {
        var best = (gflops: 0.0, shape: shapes[0])
        for shape in shapes {
            let a = Tensor(shape: [shape.m, shape.k])
            let b = Tensor(shape: [shape.k, shape.n])
            let c = Tensor(shape: [shape.m, shape.n])
            for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
            for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
            var fastest = Double.infinity
            for r in 0...repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                sgemm(m: shape.m, n: shape.n, k: shape.k, a: a.pointer, b: b.pointer, c: c.pointer)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if r > 0 { fastest = min(fastest, seconds) }
            }
            let gflops = shape.flops / fastest / 1e9
            if gflops > best.gflops { best = (gflops, shape) }
        }
        return best
    }
}
