// Head: the FFC Dynamic Class Pool, its loss, and the full-FC / Partial-FC baselines.
// This file is the only one in Head/ that talks to the OpenBLAS C API (row-major sgemm).
import COpenBLAS

public enum HeadBLAS {
  /// The kernel family OpenBLAS chose (e.g. "Haswell", "Zen"). "Prescott" means its CPU
  /// detection fell back to generic SSE3 kernels, about 3× slower here; set
  /// `OPENBLAS_CORETYPE=Haswell` in the environment before starting the process.
  public static var coreName: String { String(cString: openblas_get_corename()) }

  /// C (m×n) = alpha · A · Bᵀ + beta · C, where A is m×k and B is n×k, all row-major and
  /// contiguous (`lda = ldb = k`, `ldc = n`).
  static func gemmABt(
    m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    beta: Float = 0, c: UnsafeMutablePointer<Float>
  ) {
    guard m > 0, n > 0, k > 0 else { return }
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), alpha, a, Int32(k), b,
      Int32(k), beta, c, Int32(n))
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
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha, a, Int32(k),
      b,
      Int32(n), beta, c, Int32(n))
  }

  /// C (m×n) = alpha · Aᵀ · B + beta · C, where A is k×m and B is k×n, row-major, contiguous.
  static func gemmAtB(
    m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    beta: Float = 0, c: UnsafeMutablePointer<Float>
  ) {
    guard m > 0, n > 0, k > 0 else { return }
    cblas_sgemm(
      CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha, a, Int32(m), b,
      Int32(n), beta, c, Int32(n))
  }
}
