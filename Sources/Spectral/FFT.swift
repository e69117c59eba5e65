import CFFTW
import Foundation
import Synchronization

/// A single-precision real FFT of one size, backed by two FFTW plans (forward r2c and inverse c2r).
///
/// ```
/// forward:  X[k] = Σ_{n<N} x[n] e^{-2πi kn/N},   k = 0 … N/2       (numpy.fft.rfft)
/// inverse:  x[n] = Σ_k X[k] e^{+2πi kn/N}  (unnormalised, as FFTW; divide by N for numpy.fft.irfft)
/// ```
///
/// Plans are made once per size with `FFTW_ESTIMATE`, so every run picks the same algorithm and the results are
/// bit-for-bit reproducible (measured plans may differ between runs). FFTW's planner is not thread-safe: every
/// planner call (create and destroy) happens behind one process-wide lock. Executing a plan is thread-safe, and
/// this class only ever uses FFTW's new-array execute (`fftwf_execute_dft_r2c`) on buffers from
/// `fftwf_alloc_real/complex`, so any number of threads may transform at once with their own buffers.
///
/// `@unchecked Sendable`: the stored plans are immutable after `init` and only read by FFTW's thread-safe
/// execute functions; creation and destruction are serialised by the planner lock.
public final class RealFFT: @unchecked Sendable {
    /// Transform length N (samples), ≥ 1.
    public let size: Int
    /// Number of non-negative-frequency bins, `N / 2 + 1`.
    public var bins: Int { size / 2 + 1 }

    private let forwardPlan: fftwf_plan
    private let inversePlan: fftwf_plan

    /// Serialises every call into FFTW's planner, which is not thread-safe.
    private static let planner = Mutex(())
    /// The process-wide plan cache: one `RealFFT` per size, kept for the life of the process.
    private static let cache = Mutex([Int: RealFFT]())

    /// Plans a transform of `size` samples (prefer `shared(size:)`, which caches).
    ///
    /// - Throws: `SpectralError.invalidParameter` when `size < 1`, `.planFailed` when FFTW returns no plan.
    public init(size: Int) throws(SpectralError) {
        try SpectralError.require(size >= 1 && size <= Int(Int32.max), "fftSize", size, "must be in 1...2^31-1")
        self.size = size
        let bins = size / 2 + 1
        let plans: (fftwf_plan?, fftwf_plan?) = Self.planner.withLock { _ in
            let real = fftwf_alloc_real(size)
            let complex = fftwf_alloc_complex(bins)
            defer {
                fftwf_free(real)
                fftwf_free(complex)
            }
            let flags = UInt32(FFTW_ESTIMATE)
            let forward = fftwf_plan_dft_r2c_1d(Int32(size), real, complex, flags)
            let inverse = fftwf_plan_dft_c2r_1d(Int32(size), complex, real, flags)
            return (forward, inverse)
        }
        guard let forward = plans.0, let inverse = plans.1 else {
            Self.planner.withLock { _ in
                if let plan = plans.0 { fftwf_destroy_plan(plan) }
                if let plan = plans.1 { fftwf_destroy_plan(plan) }
            }
            throw SpectralError.planFailed(size: size)
        }
        forwardPlan = forward
        inversePlan = inverse
    }

    deinit {
        Self.planner.withLock { _ in
            fftwf_destroy_plan(forwardPlan)
            fftwf_destroy_plan(inversePlan)
        }
    }

    /// The cached transform of `size` samples, planned on first use and shared by every caller and thread.
    ///
    /// - Throws: `SpectralError.invalidParameter` when `size < 1`, `.planFailed` when FFTW returns no plan.
    public static func shared(size: Int) throws(SpectralError) -> RealFFT {
        if let fft = cache.withLock({ $0[size] }) { return fft }
        let fft = try RealFFT(size: size)
        return cache.withLock { cached in
            if let existing = cached[size] { return existing }
            cached[size] = fft
            return fft
        }
    }

    /// Executes the forward transform on workspace buffers (`input` N reals → `output` N/2+1 complex).
    func forward(_ workspace: FFTWorkspace) {
        precondition(workspace.size == size, "workspace of size \(workspace.size) used with FFT of size \(size)")
        fftwf_execute_dft_r2c(forwardPlan, workspace.real, workspace.complex)
    }

    /// Executes the unnormalised inverse transform on workspace buffers (`complex` → `real`; destroys `complex`).
    func inverse(_ workspace: FFTWorkspace) {
        precondition(workspace.size == size, "workspace of size \(workspace.size) used with FFT of size \(size)")
        fftwf_execute_dft_c2r(inversePlan, workspace.complex, workspace.real)
    }

    /// The spectrum of one frame, `numpy.fft.rfft(x, n=size)` (zero-padded or truncated to `size`).
    ///
    /// - Returns: interleaved complex `[bins, 2]` (real, imaginary), `bins = size / 2 + 1`.
    public func forward(_ x: [Float]) -> [Float] {
        let workspace = FFTWorkspace(size: size)
        let count = min(x.count, size)
        for i in 0..<size { workspace.real[i] = i < count ? x[i] : 0 }
        forward(workspace)
        return Array(UnsafeBufferPointer(start: workspace.complexFloats, count: 2 * bins))
    }

    /// The real signal of an interleaved half spectrum, `numpy.fft.irfft(X, n=size)` (normalised by 1/N).
    ///
    /// - Parameter spectrum: interleaved complex `[bins, 2]`; missing bins are zero, extra bins are ignored.
    /// - Returns: `size` real samples.
    public func inverse(_ spectrum: [Float]) -> [Float] {
        let workspace = FFTWorkspace(size: size)
        for i in 0..<(2 * bins) { workspace.complexFloats[i] = i < spectrum.count ? spectrum[i] : 0 }
        inverse(workspace)
        let scale = 1 / Float(size)
        return (0..<size).map { workspace.real[$0] * scale }
    }
}

/// FFTW-aligned scratch buffers for one transform size: `size` reals and `size / 2 + 1` complex values.
///
/// One workspace per thread; it is not shared. Memory comes from `fftwf_alloc_*`, so its alignment matches the
/// arrays the plans were made with, as FFTW's new-array execute requires.
final class FFTWorkspace {
    let size: Int
    let real: UnsafeMutablePointer<Float>
    let complex: UnsafeMutablePointer<fftwf_complex>

    init(size: Int) {
        self.size = size
        guard let real = fftwf_alloc_real(size), let complex = fftwf_alloc_complex(size / 2 + 1) else {
            fatalError("fftwf_alloc failed for size \(size)")
        }
        self.real = real
        self.complex = complex
    }

    deinit {
        fftwf_free(real)
        fftwf_free(complex)
    }

    /// The complex buffer seen as interleaved floats `[bins, 2]`.
    var complexFloats: UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(complex).assumingMemoryBound(to: Float.self)
    }
}
