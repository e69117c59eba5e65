import COpenBLAS
import Foundation

/// An orthonormal DCT-II as a matrix `[outputs, inputs]`, applied to blocks of frames with `cblas_sgemm`.
///
/// ```
/// y[k] = s_k Σ_{n<N} x[n] cos(π k (2n + 1) / (2N)),   s_0 = √(1/N),  s_k = √(2/N)
/// ```
///
/// `scipy.fft.dct(x, type=2, norm='ortho')[:outputs]` (librosa's MFCC, python_speech_features), and Kaldi's
/// `ComputeDctMatrix` (the same matrix).
public struct DCT: Sendable, Equatable {
    /// Input length N (mel bands).
    public let inputs: Int
    /// Number of leading coefficients kept (≤ N).
    public let outputs: Int
    /// The matrix `[outputs, inputs]`, row-major.
    public let matrix: [Float]

    /// The first `outputs` rows of the `inputs`-point orthonormal DCT-II.
    ///
    /// - Throws: `SpectralError.invalidParameter` unless `1 ≤ outputs ≤ inputs`.
    public init(inputs: Int, outputs: Int) throws(SpectralError) {
        try SpectralError.require(inputs >= 1, "dct inputs", inputs, "must be ≥ 1")
        try SpectralError.require(
            outputs >= 1 && outputs <= inputs, "numCeps", outputs, "must be in 1…\(inputs) (the number of mel bands)")
        self.inputs = inputs
        self.outputs = outputs
        let n = Double(inputs)
        var matrix = [Float](repeating: 0, count: outputs * inputs)
        for k in 0..<outputs {
            let scale = k == 0 ? (1 / n).squareRoot() : (2 / n).squareRoot()
            for i in 0..<inputs {
                matrix[k * inputs + i] = Float(scale * cos(Double.pi * Double(k) * (2 * Double(i) + 1) / (2 * n)))
            }
        }
        self.matrix = matrix
    }

    /// `out[f, k] = Σ_n x[f, n] · matrix[k, n]` for `frames` rows of `[frames, inputs]` into `[frames, outputs]`.
    func apply(_ x: UnsafePointer<Float>, frames: Int, into output: UnsafeMutablePointer<Float>) {
        guard frames > 0 else { return }
        matrix.withUnsafeBufferPointer { m in
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(frames), Int32(outputs), Int32(inputs),
                1, x, Int32(inputs), m.baseAddress, Int32(inputs), 0, output, Int32(outputs))
        }
    }

    /// The DCT of each row of `x` `[frames, inputs]`: `[frames, outputs]`.
    ///
    /// - Throws: `SpectralError.invalidParameter` when `x.count` is not a multiple of `inputs`.
    public func callAsFunction(_ x: [Float]) throws(SpectralError) -> [Float] {
        try SpectralError.require(x.count % inputs == 0, "x.count", x.count, "must be a multiple of \(inputs)")
        let frames = x.count / inputs
        var output = [Float](repeating: 0, count: frames * outputs)
        x.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                guard let s = source.baseAddress, let t = target.baseAddress else { return }
                apply(s, frames: frames, into: t)
            }
        }
        return output
    }
}

/// Cepstral liftering: coefficient `n` of each frame is multiplied by a weight that boosts higher quefrencies.
public enum Lifter: Sendable, Equatable, Hashable {
    /// No liftering (librosa's default `lifter=0`).
    case none
    /// Kaldi's and python_speech_features' `1 + (L/2) sin(π n / L)`, `n = 0 …` (default L = 22 in both).
    case kaldi(Double)
    /// librosa's `1 + (L/2) sin(π (n + 1) / L)`, `n = 0 …` (`librosa.feature.mfcc(lifter=L)`).
    case librosa(Double)

    /// The `count` weights.
    public func weights(count: Int) -> [Float] {
        switch self {
        case .none:
            return [Float](repeating: 1, count: count)
        case .kaldi(let l):
            return (0..<count).map { Float(1 + 0.5 * l * sin(Double.pi * Double($0) / l)) }
        case .librosa(let l):
            return (0..<count).map { Float(1 + 0.5 * l * sin(Double.pi * Double($0 + 1) / l)) }
        }
    }
}
