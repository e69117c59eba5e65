import COpenBLAS
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
    _ = TCNThreads.processSetUp
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
/// examples than inside OpenBLAS, and it avoids oversubscription), on a persistent pool of spinning-then-parking
/// threads (`WorkerPool`). Every example's (or example group's) arithmetic and the split of the weight-gradient GEMM
/// depend on the shapes only, so results are bit-identical across thread counts and runs (tested). The channels-last
/// engine (`ConvolutionEngine.automatic`, oneDNN) runs on this many OpenMP threads; its results are bit-identical
/// across runs with the same thread count (tested), not across thread counts.
/// Default: the number of active processors.
public enum TCNThreads {
    private static let storage = Atomic<Int>(max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Sets the thread count (≥ 1). The worker pool follows: it keeps `count − 1` threads (started or stopped here,
    /// or by the next parallel loop if one is running now).
    ///
    /// - Throws: `TCNError.invalidParameter` when `count < 1`.
    public static func set(_ count: Int) throws {
        guard count >= 1 else {
            throw TCNError.invalidParameter(name: "threads", value: "\(count)", reason: "must be ≥ 1")
        }
        storage.store(count, ordering: .relaxed)
        WorkerPool.shared.resize(toThreads: count)
    }

    /// The current thread count.
    public static var current: Int { storage.load(ordering: .relaxed) }

    /// The number of threads OpenBLAS itself may use (`openblas_get_num_threads`): 1 once the module has run a GEMM.
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// The OpenBLAS kernel family in use (`openblas_get_corename`, e.g. `"Haswell"`, `"SkylakeX"`).
    ///
    /// OpenBLAS chooses it when the process starts, from the CPU or from `OPENBLAS_CORETYPE`. On the AMD EPYC
    /// (Zen 5) test machine OpenBLAS 0.3.21 picks its AVX-512 `Cooperlake` kernels by itself; the environment there
    /// sets `OPENBLAS_CORETYPE=Haswell`, which forces the AVX2 kernels (~1.5× slower convolutions, Benchmarks/tcn).
    public static var blasCore: String { String(cString: openblas_get_corename()) }

    /// The module's once-per-process settings, made before the first GEMM or parallel loop (`sgemm` and `forEach`
    /// touch this): OpenBLAS is switched to one thread (the module parallelises across examples itself), and
    /// glibc's allocator is told to keep freed memory (`M_MMAP_THRESHOLD` 64 MiB,
    /// `M_TRIM_THRESHOLD` 256 MiB): every layer allocates activations of a few megabytes, which by default come
    /// from `mmap` and are returned on free, so each step paid its activations again in page faults (measured on
    /// TCNBench C: ~5 % of a training step, more of inference). The cost is that up to that much freed memory stays
    /// with the process.
    static let processSetUp: Bool = {
        useOneBLASThread()
        #if os(Linux)
            _ = mallopt(M_MMAP_THRESHOLD, 64 << 20)
            _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        #endif
        return true
    }()

    /// Calls `body(i)` for `i` in `0..<count`, spread over up to `current` threads; returns when all are done.
    /// Each call must touch only its own outputs.
    ///
    /// With `w = min(current, count)` shares, share `s` is items `s, s + w, s + 2w, …`; the calling thread runs
    /// share 0 and the persistent `WorkerPool` threads the others (see there why not libdispatch). A call made while
    /// another is in flight — from inside a body, or from a second thread — runs serially on its own thread.
    static func forEach(_ count: Int, _ body: (Int) -> Void) {
        _ = processSetUp
        let threads = current
        let workers = min(threads, count, WorkerPool.maximumShares)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        WorkerPool.shared.run(count: count, shares: workers, threads: threads, body)
    }
}

extension TCNThreads {
    /// Stops the idle worker threads OpenBLAS starts when the program loads.
    ///
    /// Debian's (pthread) OpenBLAS starts a thread per extra core at load time, and each spins, yielding, for about
    /// 0.1 s before it sleeps. The module runs OpenBLAS on one thread (`processSetUp`), so those threads only take
    /// cores away from the module's own workers: on a quiet 2-core machine `seqtool crop` took 60 ms instead of
    /// 42 ms on FSDD, and TCNBench A inference measured in the first 0.1 s of the process ran at the one-thread
    /// speed about half the time (16,800 instead of 28,700 samples/s). OpenBLAS's own `blas_thread_shutdown_` (what
    /// it runs around `fork`) joins them; a later BLAS call that wants threads starts them again. Looked up at run
    /// time, so nothing happens when the BLAS linked in has no such pool (a serial build, another library).
    ///
    /// Call it only while no other thread can be inside a BLAS call — `seqtool` commands do, first thing; a program
    /// that uses the module can do the same at start-up.
    public static func releaseIdleBLASThreads() {
        // One thread first, as the module sets on first use: setting it later would start the pool again.
        useOneBLASThread()
        guard let symbol = dlsym(nil, "blas_thread_shutdown_") else { return }
        let shutdown = unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)
        _ = shutdown()
    }

    /// Sets OpenBLAS to one thread, only when it is not already: `openblas_set_num_threads` starts OpenBLAS's thread
    /// pool again (undoing `releaseIdleBLASThreads`).
    private static func useOneBLASThread() {
        if openblas_get_num_threads() != 1 { openblas_set_num_threads(1) }
    }

    /// Element-wise loops split over threads only from this many elements per thread on (below, the wake-up
    /// costs more than the work).
    static let elementGrain = 1 << 15

    /// The fewest GEMM multiply-adds worth a thread of their own (~10 µs of work at this machine's sgemm speed, as
    /// much as waking a thread costs): tiny layers, such as the top blocks of a receptive-field-pruned pass, run
    /// on one thread. Re-measured with the spinning `WorkerPool`, whose hand-off is far cheaper: 2¹⁶–2¹⁸ were no
    /// faster than 2¹⁹ beyond the noise (±3 % on TCNBench A), so the grain stayed.
    static let gemmGrain = 1 << 19

    /// The range grain for `count` items of `work` multiply-adds each (see `gemmGrain`).
    static func grain(itemWork work: Int) -> Int { max(1, gemmGrain / max(1, work)) }

    /// Calls `body(range)` for contiguous ranges covering `0..<count` — one per thread, at most `current` — and
    /// returns when all are done. Ranges are at least `grain` long (except when `count < grain`), so small jobs
    /// stay on one thread. Each call must touch only the outputs of its own range.
    static func forEachRange(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let parts = max(1, min(current, count / max(1, grain)))
        if parts == 1 {
            body(0..<count)
            return
        }
        forEach(parts) { p in body((p * count / parts)..<((p + 1) * count / parts)) }
    }
}

/// Reusable scratch memory for the convolutions' column matrices.
///
/// A training step needs several megabytes of columns per convolution; fresh allocations of that size come from
/// `mmap` and are paid again in page faults on every call (measured: ~2–5 % of a step). Buffers taken here are
/// returned after use and kept (up to `keep`, the largest first) for the next call. Contents are undefined on
/// return from `take`.
enum Scratch {
    /// Owns one allocation; `@unchecked Sendable` because only the thread that took it from the pool uses it until
    /// it is given back.
    final class Buffer: @unchecked Sendable {
        let base: UnsafeMutablePointer<Float>
        let capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            base = UnsafeMutablePointer<Float>.allocate(capacity: max(1, capacity))
        }
        deinit { base.deallocate() }
    }

    private static let pool = Mutex<[Buffer]>([])
    private static let keep = 16

    /// A buffer of at least `count` floats (the smallest pooled one that fits, else a new one).
    static func take(_ count: Int) -> Buffer {
        let found: Buffer? = pool.withLock { buffers in
            var best: Int?
            for (i, b) in buffers.enumerated() where b.capacity >= count {
                if best.map({ buffers[$0].capacity > b.capacity }) ?? true { best = i }
            }
            return best.map { buffers.remove(at: $0) }
        }
        return found ?? Buffer(capacity: count)
    }

    /// Returns a buffer to the pool (dropping the smallest when more than `keep` are held).
    static func give(_ buffer: Buffer) {
        pool.withLock { buffers in
            buffers.append(buffer)
            if buffers.count > keep, let i = buffers.indices.min(by: { buffers[$0].capacity < buffers[$1].capacity }) {
                buffers.remove(at: i)
            }
        }
    }

    /// Runs `body` with a scratch buffer of at least `count` floats.
    static func with<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let buffer = take(count)
        defer { give(buffer) }
        return try body(buffer.base)
    }
}
