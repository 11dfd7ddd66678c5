// Evaluation: cosine-score blocks for identification, over the engine's BLAS wrapper.

public enum ScoreGEMM {
    /// scores (rows × cols, row-major) = a (rows × dim) · bᵀ where b is (cols × dim); FP32 sgemm,
    /// one thread: callers run one per worker.
    /// - Complexity: 2 · rows · cols · dim floating-point operations.
    public static func scores(
        _ a: UnsafePointer<Float>, rows: Int, _ b: UnsafePointer<Float>, cols: Int, dim: Int,
        into scores: UnsafeMutablePointer<Float>
    ) {
        BLAS.sgemm(
            transB: true, m: rows, n: cols, k: dim, a: a, lda: dim, b: b, ldb: dim, c: scores, ldc: cols, workers: 1)
    }

    /// The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", "Zen", "SkylakeX"). A
    /// generic answer such as "Prescott" means detection failed and sgemm runs several times
    /// slower: start the program with OPENBLAS_CORETYPE=Haswell (or SkylakeX, Zen) set.
    public static var coreName: String { BLAS.coreName }
}
