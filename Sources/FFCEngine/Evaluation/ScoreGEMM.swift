// Evaluation: the one file here that calls OpenBLAS — cosine-score blocks for identification.
import COpenBLAS

public enum ScoreGEMM {
    /// scores (rows × cols, row-major) = a (rows × dim) · bᵀ where b is (cols × dim); FP32 sgemm.
    /// - Complexity: 2 · rows · cols · dim floating-point operations.
    public static func scores(
        _ a: UnsafePointer<Float>, rows: Int, _ b: UnsafePointer<Float>, cols: Int, dim: Int,
        into scores: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(cols), Int32(dim),
            1, a, Int32(dim), b, Int32(dim), 0, scores, Int32(cols))
    }

    /// The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", "Zen", "SkylakeX"). A
    /// generic answer such as "Prescott" means detection failed and sgemm runs several times
    /// slower: start the program with OPENBLAS_CORETYPE=Haswell (or SkylakeX, Zen) set.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Runs `body` with OpenBLAS limited to one thread (restored afterwards), for callers that
    /// run one sgemm per worker thread themselves: idle OpenBLAS threads spin for a while after
    /// each call and would steal the cores those workers need.
    static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        let threads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(threads) }
        return try body()
    }
}
