// Head: the FFC Dynamic Class Pool, its loss, and the full-FC / Partial-FC baselines.
// The row-major products the head needs, named by their shapes, over the engine's BLAS wrapper.

public enum HeadBLAS {
    /// The kernel family OpenBLAS runs (see `BLAS.coreName`).
    public static var coreName: String { BLAS.coreName }

    /// C (m×n) = alpha · A · Bᵀ + beta · C, where A is m×k and B is n×k, all row-major and
    /// contiguous (`lda = ldb = k`, `ldc = n`).
    static func gemmABt(
        m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        beta: Float = 0, c: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0, k > 0 else { return }
        BLAS.sgemm(transB: true, m: m, n: n, k: k, alpha: alpha, a: a, lda: k, b: b, ldb: k, beta: beta, c: c, ldc: n)
    }

    /// C (m×n) = alpha · A · B + beta · C, where A is m×k and B is k×n, row-major, contiguous.
    static func gemmAB(
        m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        beta: Float = 0, c: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if beta == 0 { c.update(repeating: 0, count: m * n) }
            return
        }
        BLAS.sgemm(m: m, n: n, k: k, alpha: alpha, a: a, lda: k, b: b, ldb: n, beta: beta, c: c, ldc: n)
    }

    /// C (m×n) = alpha · Aᵀ · B + beta · C, where A is k×m and B is k×n, row-major, contiguous.
    static func gemmAtB(
        m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        beta: Float = 0, c: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0, k > 0 else { return }
        BLAS.sgemm(transA: true, m: m, n: n, k: k, alpha: alpha, a: a, lda: m, b: b, ldb: n, beta: beta, c: c, ldc: n)
    }
}
