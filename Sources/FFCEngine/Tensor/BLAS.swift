// BLAS: the one file that talks to OpenBLAS. Everything else calls these Swift functions on
// row-major float32 matrices.
import COpenBLAS
import Foundation

public enum BLAS {
    /// C (m×n) = alpha · op(A) · op(B) + beta · C, row-major; op transposes when asked.
    /// `lda`, `ldb`, `ldc` default to the packed row lengths.
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc ?? n))
    }

    /// Threads OpenBLAS uses for every following call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }

    /// The kernel family OpenBLAS picked for this CPU (e.g. "Zen", "Haswell").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// Measured sgemm throughput in GFLOP/s for square `size` matrices: the best of `repeats`
    /// timed calls after one warm-up (2·size³ flops per call).
    public static func measurePeakGFLOPs(size: Int = 1024, repeats: Int = 5) -> Double {
        let a = Tensor(shape: [size, size])
        let b = Tensor(shape: [size, size])
        let c = Tensor(shape: [size, size])
        for i in 0..<(size * size) {
            a[i] = Float(i % 7) * 0.01
            b[i] = Float(i % 5) * 0.01
        }
        var best = Double.infinity
        for r in 0...repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            sgemm(m: size, n: size, k: size, a: a.pointer, b: b.pointer, c: c.pointer)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if r > 0 { best = min(best, seconds) }
        }
        return 2 * Double(size * size * size) / best / 1e9
    }
}
