import COpenBLAS

/// Row-major single-precision GEMM: `C = alpha · op(A) · op(B) + beta · C` through OpenBLAS `cblas_sgemm`.
///
/// `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, `C` is `[m, n]`; `lda`, `ldb`, `ldc` are row strides.
@inline(__always)
func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    _ a: [Float], lda: Int, _ b: [Float], ldb: Int, beta: Float, _ c: inout [Float], ldc: Int
) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, &c, blasint(ldc))
}

/// Pointer form of `sgemm` for sub-matrices (an example inside a batch).
@inline(__always)
func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, beta: Float,
    _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

/// Controls the number of threads OpenBLAS uses for every GEMM in the process.
///
/// `sgemm` results are bit-for-bit reproducible for a fixed thread count; set it before training when
/// runs must be identical across processes (`openblas_set_num_threads`).
public enum BLASThreads {
    /// Sets OpenBLAS's thread count (≥ 1).
    ///
    /// - Throws: `TCNError.invalidParameter` when `count < 1`.
    public static func set(_ count: Int) throws {
        guard count >= 1 else {
            throw TCNError.invalidParameter(name: "threads", value: "\(count)", reason: "must be ≥ 1")
        }
        openblas_set_num_threads(Int32(count))
    }

    /// The thread count OpenBLAS currently uses.
    public static var current: Int { Int(openblas_get_num_threads()) }
}
