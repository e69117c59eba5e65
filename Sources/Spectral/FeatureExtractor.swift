import AudioIO
import CSpectralKernels
import Foundation
import Windowing

/// Features of a multichannel signal, `[channels, frames, dims]` row-major.
public struct Features: Sendable, Equatable {
    /// Number of channels.
    public let channels: Int
    /// Frames per channel.
    public let frames: Int
    /// Values per frame (mel bands, FFT bins or cepstra; + 1 with a prepended energy).
    public let dims: Int
    /// The values, `[channels, frames, dims]`.
    public var values: [Float]

    /// Creates features from their parts.
    ///
    /// - Throws: `SpectralError.invalidParameter` when a size is negative or `values.count` is not
    ///   `channels · frames · dims`.
    public init(channels: Int, frames: Int, dims: Int, values: [Float]) throws(SpectralError) {
        try SpectralError.require(
            channels >= 0 && frames >= 0 && dims >= 0 && values.count == channels * frames * dims, "values.count",
            values.count, "expected \(channels) × \(frames) × \(dims)")
        self.init(unchecked: channels, frames: frames, dims: dims, values: values)
    }

    init(unchecked channels: Int, frames: Int, dims: Int, values: [Float]) {
        precondition(values.count == channels * frames * dims, "values.count does not match the shape")
        self.channels = channels
        self.frames = frames
        self.dims = dims
        self.values = values
    }

    /// Channel `c`, `[frames, dims]` (a slice, no copy).
    public func channel(_ c: Int) -> ArraySlice<Float> {
        values[(c * frames * dims)..<((c + 1) * frames * dims)]
    }
}

/// Computes the features `FeatureOptions` describe on whole signals: `[channels, frames, dims]`.
///
/// ```swift
/// let extractor = try FeatureExtractor(options: .kaldiStreaming)
/// let fbank = try extractor(signal)          // [channels, frames, 80], as kaldi-native-fbank
/// ```
///
/// Frames come from `Windowing.Framer` (the boundary mode of the options); each frame is conditioned, windowed,
/// zero-padded and transformed with the cached FFTW plan, and blocks of frames are projected onto mel bands and
/// the DCT with `cblas_sgemm`. `FeatureExtractor` is a value; it may be used from several threads at once.
public struct FeatureExtractor: Sendable {
    /// The options the features follow.
    public let options: FeatureOptions
    let pipeline: FeaturePipeline

    /// Validates `options` and prepares the window, the FFT plan, the mel bank and the DCT.
    ///
    /// - Throws: `SpectralError.invalidParameter` naming the bad parameter (`nFFT` below the frame length,
    ///   `hopLength` 0, `fmax` above Nyquist, too many cepstra, …), `.emptyMelFilter` naming the band.
    public init(options: FeatureOptions) throws(SpectralError) {
        self.options = options
        self.pipeline = try FeaturePipeline(options: options)
    }

    /// The features of `signal`, `[channels, frames, dims]`.
    ///
    /// - Throws: `SpectralError.invalidParameter` when the signal's rate differs from `options.sampleRate`.
    public func callAsFunction(_ signal: Signal) throws(SpectralError) -> Features {
        try SpectralError.require(
            signal.sampleRate == options.sampleRate, "sampleRate", signal.sampleRate,
            "the options expect \(options.sampleRate) Hz; resample first")
        return try features(samples: signal.samples, channels: signal.channels)
    }

    /// The features of planar samples `[channels, frames]` at `options.sampleRate`.
    ///
    /// - Throws: `SpectralError.invalidParameter` when `samples.count` is not a multiple of `channels`,
    ///   `.invalidInput` naming the channel and sample of the first NaN or infinity.
    public func features(samples: [Float], channels: Int) throws(SpectralError) -> Features {
        try SpectralError.require(channels >= 0, "channels", channels, "must be ≥ 0")
        try SpectralError.require(
            channels > 0 ? samples.count % channels == 0 : samples.isEmpty, "samples.count", samples.count,
            "must be a multiple of channels = \(channels)")
        try requireFinite(samples, channels: channels)
        let length = channels == 0 ? 0 : samples.count / channels
        var input = samples
        if options.signalPreemphasis != 0 {
            for c in 0..<channels {
                var previous: Float = 0
                var first = true
                for i in (c * length)..<((c + 1) * length) {
                    let x = input[i]
                    if !first { input[i] = x - options.signalPreemphasis * previous }
                    previous = x
                    first = false
                }
            }
        }
        let view: FrameView
        do {
            view = try Framer(pipeline.frameOptions).view(of: input, channels: channels)
        } catch {
            throw SpectralError.invalidParameter(name: "samples", value: "\(samples.count)", reason: "\(error)")
        }
        var frames = view.count
        let bands = pipeline.bandCount
        // Every element is written by `analyze`, so the (large) output skips zero-filling.
        var bandValues = [Float](unsafeUninitializedCapacity: channels * frames * bands) { _, count in
            count = channels * frames * bands
        }
        var energies = [Float](repeating: 0, count: channels * frames)
        var peak = -Float.infinity
        let frameLength = options.frameLength
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: frameLength)
        defer { scratch.deallocate() }
        input.withUnsafeBufferPointer { signal in
            bandValues.withUnsafeMutableBufferPointer { out in
                energies.withUnsafeMutableBufferPointer { energy in
                    guard let outBase = out.baseAddress, let energyBase = energy.baseAddress else { return }
                    for c in 0..<channels {
                        // Interior frames are read in place (the framer's provenance says where); frames that
                        // reach into padding are assembled by the framer.
                        pipeline.analyze(
                            frames: frames, channel: c, firstIndex: 0,
                            withFrame: { w, body in
                                let provenance = view.provenance(w)
                                if provenance.isInterior, let base = signal.baseAddress {
                                    body(
                                        UnsafeBufferPointer(
                                            start: base + c * length + provenance.firstSample, count: frameLength))
                                } else {
                                    view.copyWindow(w, channel: c, into: scratch)
                                    body(UnsafeBufferPointer(scratch))
                                }
                            },
                            bands: outBase + c * frames * bands, energies: energyBase + c * frames, peak: &peak)
                    }
                }
            }
        }
        if options.dropLastFrame && frames > 0 {
            var kept = [Float]()
            var keptEnergies = [Float]()
            kept.reserveCapacity(channels * (frames - 1) * bands)
            for c in 0..<channels {
                kept += bandValues[(c * frames * bands)..<((c + 1) * frames - 1) * bands]
                keptEnergies += energies[(c * frames)..<((c + 1) * frames - 1)]
            }
            bandValues = kept
            energies = keptEnergies
            frames -= 1
            // Whisper takes its maximum after dropping the frame.
            peak = pipeline.peakOf(bandValues)
        }
        pipeline.finishLog(&bandValues, peak: peak)
        return pipeline.output(bands: bandValues, energies: energies, channels: channels, frames: frames)
    }
}

/// The prepared stages of a `FeatureOptions`, shared by `FeatureExtractor` and `StreamingFeatureExtractor`.
struct FeaturePipeline: Sendable {
    let options: FeatureOptions
    let frameOptions: FrameOptions
    let fft: RealFFT
    /// The window centred in the frame, `frameLength` values.
    let window: [Float]
    let melBank: MelFilterBank?
    let dct: DCT?
    let lifter: [Float]
    /// Values per frame before the cepstrum: mel bands or FFT bins.
    let bandCount: Int

    init(options: FeatureOptions) throws(SpectralError) {
        try SpectralError.require(
            options.sampleRate > 0 && options.sampleRate.isFinite, "sampleRate", options.sampleRate, "must be > 0")
        frameOptions = try options.frameOptions()
        let windowLength = options.windowLength ?? options.frameLength
        try SpectralError.require(
            windowLength >= 1 && windowLength <= options.frameLength, "winLength", windowLength,
            "must be in 1…\(options.frameLength) (the frame length)")
        try SpectralError.require(
            options.nFFT >= options.frameLength, "nFFT", options.nFFT,
            "must be ≥ the frame length \(options.frameLength)")
        try SpectralError.require(
            options.inputScale.isFinite && options.inputScale != 0, "inputScale", options.inputScale, "must be ≠ 0")
        self.options = options
        fft = try RealFFT.shared(size: options.nFFT)
        window = try options.window.padded(
            windowLength: windowLength, nFFT: options.frameLength, periodic: options.periodicWindow)
        if let mel = options.mel {
            let bank = try MelFilterBank(options: mel, nFFT: options.nFFT, sampleRate: options.sampleRate)
            melBank = bank
            bandCount = bank.bands
        } else {
            melBank = nil
            bandCount = options.nFFT / 2 + 1
        }
        if let cepstrum = options.cepstrum {
            dct = try DCT(inputs: bandCount, outputs: cepstrum.count)
            lifter = cepstrum.lifter.weights(count: cepstrum.count)
        } else {
            dct = nil
            lifter = []
        }
        try SpectralError.require(
            options.energy != .replaceC0 || options.cepstrum != nil, "energy", "replaceC0",
            "needs a cepstrum (C0 is the first cepstral coefficient); use .prepend for filter banks")
        if case .decibels(let db) = options.log { try db.validate() }
        if case .natural(let floor) = options.log {
            try SpectralError.require(floor > 0, "log floor", floor, "must be > 0")
        }
    }

    /// Frames processed per block (the power block is `blockFrames × bins` floats).
    static let blockFrames = 256

    /// Buffers for `analyze` that a stream keeps between calls (an FFTW workspace and a full power block).
    func makeScratch() -> AnalysisScratch {
        AnalysisScratch(nFFT: options.nFFT, frames: Self.blockFrames)
    }

    /// Spectra, mel projection and the local part of the log for `frames` frames of one channel.
    ///
    /// - Parameters:
    ///   - firstIndex: global index of the first frame (dither seeding).
    ///   - withFrame: calls its body with frame `w` (0-based within this call), `frameLength` samples.
    ///   - bands: output `[frames, bandCount]`.
    ///   - energies: output `[frames]`, log energies (when energy is requested).
    ///   - peak: running maximum of the local log values (for global clamps), updated.
    @inline(never)  // one optimised copy for offline and streaming callers (inlined copies were up to 40 % slower)
    func analyze(
        frames: Int, channel: Int, firstIndex: Int,
        withFrame: (Int, (UnsafeBufferPointer<Float>) -> Void) -> Void,
        bands: UnsafeMutablePointer<Float>, energies: UnsafeMutablePointer<Float>, peak: inout Float,
        scratch: AnalysisScratch? = nil
    ) {
        guard frames > 0 else { return }
        let bins = fft.bins
        let block = min(Self.blockFrames, frames)
        let buffers = scratch ?? AnalysisScratch(nFFT: options.nFFT, frames: block)
        let workspace = buffers.workspace
        let power = buffers.power
        let frameLength = options.frameLength
        let scale = options.inputScale
        let wantsEnergy = options.energy != .none
        let real = workspace.real
        // r2c plans preserve their input, so the zero padding is written once.
        (real + frameLength).update(repeating: 0, count: options.nFFT - frameLength)
        // Without conditioning, scaling and windowing fuse into one pass (exact for the power-of-two int16 scale).
        let scaledWindow = window.map { $0 * scale }
        scaledWindow.withUnsafeBufferPointer { scaledBuffer in
            window.withUnsafeBufferPointer { windowBuffer in
                guard let win = windowBuffer.baseAddress, let scaledWin = scaledBuffer.baseAddress else { return }
                var start = 0
                while start < frames {
                    let count = min(block, frames - start)
                    for f in 0..<count {
                        var energy: Float = 0
                        withFrame(start + f) { frame in
                            guard let source = frame.baseAddress else { return }
                            if let conditioning = options.conditioning {
                                for i in 0..<frameLength { real[i] = source[i] * scale }
                                energy = conditioning.apply(
                                    real, count: frameLength, frame: firstIndex + start + f, channel: channel)
                                for i in 0..<frameLength { real[i] *= win[i] }
                            } else {
                                if wantsEnergy && options.energySource == .raw {
                                    for i in 0..<frameLength { energy += (source[i] * scale) * (source[i] * scale) }
                                }
                                for i in 0..<frameLength { real[i] = source[i] * scaledWin[i] }
                            }
                        }
                        if wantsEnergy && options.energySource == .windowed {
                            energy = 0
                            for i in 0..<frameLength { energy += real[i] * real[i] }
                        }
                        fft.forward(workspace)
                        let row = power + f * bins
                        spectrumRow(workspace.complexFloats, into: row, bins: bins)
                        if wantsEnergy {
                            if options.energySource == .spectrum {
                                energy = 0
                                for k in 0..<bins { energy += row[k] }
                            }
                            var logEnergy = Foundation.log(max(energy, options.energyEpsilon))
                            if options.energyFloor > 0 {
                                logEnergy = max(logEnergy, Foundation.log(options.energyFloor))
                            }
                            energies[start + f] = logEnergy
                        }
                    }
                    let out = bands + start * bandCount
                    if let melBank {
                        melBank.apply(power, frames: count, into: out)
                    } else {
                        out.update(from: power, count: count * bins)
                    }
                    peak = max(peak, localLog(out, count: count * bandCount))
                    start += count
                }
            }
        }
    }

    /// `|X|²` or `|X|` (times `spectrumScale`) of an interleaved spectrum.
    private func spectrumRow(_ spectrum: UnsafeMutablePointer<Float>, into row: UnsafeMutablePointer<Float>, bins: Int)
    {
        let spectrumScale = options.spectrumScale
        switch options.spectrum {
        case .power:
            if spectrumScale == 1 {
                for k in 0..<bins {
                    row[k] = spectrum[2 * k] * spectrum[2 * k] + spectrum[2 * k + 1] * spectrum[2 * k + 1]
                }
            } else {
                for k in 0..<bins {
                    let re = spectrum[2 * k]
                    let im = spectrum[2 * k + 1]
                    row[k] = (re * re + im * im) * spectrumScale
                }
            }
        case .magnitude:
            for k in 0..<bins {
                let re = spectrum[2 * k]
                let im = spectrum[2 * k + 1]
                row[k] = (re * re + im * im).squareRoot() * spectrumScale
            }
        }
    }

    /// The local (element-wise) part of the log; returns the maximum of the results (for global clamps).
    ///
    /// The logarithms run in `CSpectralKernels` (glibc's AVX2 `logf`/`log10f` when the CPU has AVX2).
    func localLog(_ x: UnsafeMutablePointer<Float>, count: Int) -> Float {
        switch options.log {
        case .none:
            return -Float.infinity
        case .natural(let floor):
            spectral_log_floor(x, count, floor, 1)
            return -Float.infinity
        case .decibels(let db):
            spectral_log10_floor(x, count, Float(db.amin), Float(db.multiplier))
        case .whisper:
            spectral_log10_floor(x, count, 1e-10, 1)
        }
        var peak = -Float.infinity
        for i in 0..<count { peak = max(peak, x[i]) }
        return peak
    }

    /// The maximum of already-logged values (after dropping frames); only the global clamps need it.
    func peakOf(_ values: [Float]) -> Float {
        switch options.log {
        case .none, .natural: return -Float.infinity
        case .decibels, .whisper: return values.max() ?? -Float.infinity
        }
    }

    /// The global part of the log (reference, `top_db`, Whisper's clamp), given the peak of the local logs.
    func finishLog(_ values: inout [Float], peak: Float) {
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            finishLog(base, count: buffer.count, peak: peak)
        }
    }

    func finishLog(_ x: UnsafeMutablePointer<Float>, count: Int, peak: Float) {
        switch options.log {
        case .none, .natural:
            break
        case .decibels(let db):
            let multiplier = Float(db.multiplier)
            let offset: Float
            switch db.reference {
            case .value(let value): offset = multiplier * log10(Float(max(db.amin, abs(value))))
            case .maximum: offset = max(peak, multiplier * log10(Float(db.amin)))
            }
            let floor = db.topDB.map { peak - offset - Float($0) } ?? -Float.infinity
            for i in 0..<count { x[i] = max(x[i] - offset, floor) }
        case .whisper:
            let floor = peak - 8
            for i in 0..<count { x[i] = (max(x[i], floor) + 4) / 4 }
        }
    }

    /// The final `[channels, frames, dims]`: cepstrum, lifter and energy from the band values.
    func output(bands: [Float], energies: [Float], channels: Int, frames: Int) -> Features {
        let dims = options.dims
        let rows = channels * frames
        var values: [Float]
        if let dct {
            values = [Float](repeating: 0, count: rows * dct.outputs)
            bands.withUnsafeBufferPointer { source in
                values.withUnsafeMutableBufferPointer { target in
                    guard let s = source.baseAddress, let t = target.baseAddress else { return }
                    dct.apply(s, frames: rows, into: t)
                }
            }
            let count = dct.outputs
            for r in 0..<rows {
                for k in 0..<count { values[r * count + k] *= lifter[k] }
                if options.energy == .replaceC0 { values[r * count] = energies[r] }
            }
        } else {
            values = bands
        }
        if options.energy == .prepend {
            let base = dims - 1
            var withEnergy = [Float](repeating: 0, count: rows * dims)
            for r in 0..<rows {
                withEnergy[r * dims] = energies[r]
                for k in 0..<base { withEnergy[r * dims + 1 + k] = values[r * base + k] }
            }
            values = withEnergy
        }
        return Features(unchecked: channels, frames: frames, dims: dims, values: values)
    }
}

/// The buffers `FeaturePipeline.analyze` works in: an FFTW workspace and a power block `[frames, nFFT/2 + 1]`.
///
/// `@unchecked Sendable`: the buffers are mutated only by the one `analyze` call using them; a
/// `StreamingFeatureExtractor` replaces a shared instance (`isKnownUniquelyReferenced`) before using it, so two
/// copies of a stream never write the same buffers.
final class AnalysisScratch: @unchecked Sendable {
    let workspace: FFTWorkspace
    let power: UnsafeMutablePointer<Float>

    init(nFFT: Int, frames: Int) {
        workspace = FFTWorkspace(size: nFFT)
        power = .allocate(capacity: max(1, frames) * (nFFT / 2 + 1))
    }

    deinit { power.deallocate() }
}
