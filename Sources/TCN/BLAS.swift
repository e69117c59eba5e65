import COpenBLAS
import Dispatch
import Foundation
import Synchronization

/// Row-major single-precision GEMM on (sub-)matrices: `C = alpha · op(A) · op(B) + beta · C` through OpenBLAS
/// `cblas_sgemm`. `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, `C` is `[m, n]`; `lda`, `ldb`, `ldc` are row strides.
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

/// The number of threads the TCN module computes with.
///
/// Convolutions run the examples of a batch in parallel on this many threads, each example's GEMMs on one
/// OpenBLAS thread (the module sets OpenBLAS to one thread on first use: many small GEMMs scale better across
/// examples than inside OpenBLAS, and it avoids oversubscription). Every example's arithmetic — and the order in
/// which per-example weight gradients are summed — is the same for any thread count, so results are bit-identical
/// across thread counts and runs. Default: the number of active processors.
public enum TCNThreads {
    private static let storage = Mutex(max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Sets the thread count (≥ 1).
    ///
    /// - Throws: `TCNError.invalidParameter` when `count < 1`.
    public static func set(_ count: Int) throws {
        guard count >= 1 else {
            throw TCNError.invalidParameter(name: "threads", value: "\(count)", reason: "must be ≥ 1")
        }
        storage.withLock { $0 = count }
    }

    /// The current thread count.
    public static var current: Int { storage.withLock { $0 } }

    /// The OpenBLAS kernel family in use (`openblas_get_corename`, e.g. `"Haswell"`, `"SkylakeX"`).
    ///
    /// OpenBLAS chooses it when the process starts, from the CPU or from `OPENBLAS_CORETYPE`. On the AMD EPYC
    /// (Zen 5) test machine OpenBLAS 0.3.21 picks its AVX-512 `Cooperlake` kernels by itself; the environment there
    /// sets `OPENBLAS_CORETYPE=Haswell`, which forces the AVX2 kernels (~1.5× slower convolutions, Benchmarks/tcn).
    public static var blasCore: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS is switched to one thread once, before the first parallel GEMM.
    private static let singleThreadedBLAS: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Calls `body(i)` for `i` in `0..<count`, spread over up to `current` threads; returns when all are done.
    /// Each call must touch only its own outputs.
    static func forEach(_ count: Int, _ body: (Int) -> Void) {
        _ = singleThreadedBLAS
        let workers = min(current, count)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let work = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for i in stride(from: w, to: count, by: workers) { work.value(i) }
            }
        }
    }
}

/// Carries a non-`Sendable` value into `concurrentPerform`. Safe here because `concurrentPerform` returns only
/// after every iteration has finished (the value never outlives the call) and each iteration writes only its own
/// example's memory.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
