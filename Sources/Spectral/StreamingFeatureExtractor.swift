import Foundation
import Windowing

/// Computes `FeatureOptions` features on a signal that arrives in chunks of any size, with bounded memory.
///
/// ```swift
/// var stream = try StreamingFeatureExtractor(options: .kaldiStreaming, channels: 1)
/// for chunk in chunks { consume(try stream.push(chunk)) }     // [channels, newFrames, dims]
/// consume(try stream.finish())                                 // the frames touching the end
/// ```
///
/// Frames come from `Windowing.StreamingFramer`, so the frames emitted over all calls are exactly the offline
/// `FeatureExtractor`'s frames, centred presets included (a centred frame waits until its right half has
/// arrived; the right-padded tail comes from `finish()`). Every stage is per frame except the global maxima of
/// `.decibels` (`ref=.maximum`, `top_db`) and `.whisper`, which a stream cannot know in advance: there the maximum
/// is the running maximum over the frames emitted so far. With `top_db` or Whisper's `max − 8` the clamp is then
/// lower, so streamed values are never above the offline ones and equal them wherever the clamp does not bind
/// (every frame after the loudest one); `ref=.maximum` is relative to the running maximum. Kaldi, psf,
/// torchaudio and linear/natural-log options equal offline up to float rounding (OpenBLAS may round a block of
/// frames differently from a longer one; ≤ 1e-5 relative, 5e-5 absolute on cepstra).
///
/// Memory: the framer keeps at most `frameLength + hop` samples per channel; Whisper's dropped last frame is
/// held back one frame.
public struct StreamingFeatureExtractor: Sendable {
    /// The options the features follow.
    public let options: FeatureOptions
    /// Channels of every chunk.
    public let channels: Int
    let pipeline: FeaturePipeline
    private var framer: StreamingFramer
    /// Last input sample per channel (whole-signal pre-emphasis).
    private var previousSample: [Float]
    private var samplesSeen = 0
    /// Running maximum of the local logs of emitted frames.
    private var peak = -Float.infinity
    /// The most recent frame, held back when `dropLastFrame`: band values `[channels, bands]` and energies.
    private var pending: (bands: [Float], energies: [Float])?
    /// Frames emitted so far (per channel).
    public private(set) var framesEmitted = 0
    /// Analysis buffers reused across pushes (replaced when this stream's copy shares them).
    private var scratch: AnalysisScratch

    /// Input samples per channel held between calls: at most `frameLength + hopLength` (the framer's bound).
    public var bufferedSamples: Int { framer.bufferedFrames }

    /// Prepares a stream of `channels`-channel chunks.
    ///
    /// - Throws: as `FeatureExtractor.init(options:)`; `SpectralError.invalidParameter` when `channels < 1`.
    public init(options: FeatureOptions, channels: Int) throws(SpectralError) {
        try SpectralError.require(channels >= 1, "channels", channels, "must be ≥ 1")
        self.options = options
        self.channels = channels
        pipeline = try FeaturePipeline(options: options)
        do {
            framer = try StreamingFramer(pipeline.frameOptions, channels: channels)
        } catch {
            throw SpectralError.invalidParameter(name: "channels", value: "\(channels)", reason: "\(error)")
        }
        previousSample = [Float](repeating: 0, count: channels)
        scratch = pipeline.makeScratch()
    }

    /// Adds a planar chunk `[channels, chunkFrames]` (any size, also 0) and returns the frames it completes,
    /// `[channels, newFrames, dims]`.
    ///
    /// - Throws: `SpectralError.invalidParameter` when `chunk.count` is not a multiple of `channels`,
    ///   `.invalidInput` naming the first NaN or infinity (sample counted from the stream's start),
    ///   `.streamMismatch` after `finish()`.
    public mutating func push(_ chunk: [Float]) throws(SpectralError) -> Features {
        try SpectralError.require(
            chunk.count % channels == 0, "chunk.count", chunk.count, "must be a multiple of channels = \(channels)")
        if let index = chunk.withUnsafeBufferPointer(firstNonFinite) {
            let frames = chunk.count / channels
            throw SpectralError.invalidInput(
                channel: index / frames, sample: samplesSeen + index % frames, value: chunk[index])
        }
        var input = chunk
        if options.signalPreemphasis != 0 {
            let frames = chunk.count / channels
            for c in 0..<channels {
                var previous = previousSample[c]
                for i in (c * frames)..<((c + 1) * frames) {
                    let x = input[i]
                    if samplesSeen + i - c * frames > 0 { input[i] = x - options.signalPreemphasis * previous }
                    previous = x
                }
                previousSample[c] = previous
            }
        }
        samplesSeen += chunk.count / channels
        let batch: FrameBatch
        do {
            batch = try framer.push(input)
        } catch WindowingError.streamFinished {
            throw SpectralError.streamMismatch(reason: "push after finish(); call reset() to start a new stream")
        } catch {
            throw SpectralError.invalidParameter(name: "chunk", value: "\(chunk.count)", reason: "\(error)")
        }
        return emit(batch, final: false)
    }

    /// Ends the stream and returns the remaining frames (those touching the end), `[channels, frames, dims]`.
    ///
    /// - Throws: `SpectralError.streamMismatch` when called twice.
    public mutating func finish() throws(SpectralError) -> Features {
        let batch: FrameBatch
        do {
            batch = try framer.finish()
        } catch {
            throw SpectralError.streamMismatch(reason: "finish() called twice; call reset() to start a new stream")
        }
        return emit(batch, final: true)
    }

    /// Forgets everything received, ready for a new stream with the same options.
    public mutating func reset() {
        framer.reset()
        previousSample = [Float](repeating: 0, count: channels)
        samplesSeen = 0
        peak = -Float.infinity
        pending = nil
        framesEmitted = 0
    }

    private mutating func emit(_ batch: FrameBatch, final: Bool) -> Features {
        let bands = pipeline.bandCount
        let count = batch.count
        // New frames, channel-major: [channels, count, bands] and [channels, count].
        var newBands = [Float](repeating: 0, count: channels * count * bands)
        var newEnergies = [Float](repeating: 0, count: channels * count)
        var unusedPeak = -Float.infinity
        if count > 0 {
            if !isKnownUniquelyReferenced(&scratch) { scratch = pipeline.makeScratch() }
            let scratch = self.scratch
            let firstIndex = batch.provenance[0].index
            let length = batch.length
            newBands.withUnsafeMutableBufferPointer { out in
                newEnergies.withUnsafeMutableBufferPointer { energy in
                    guard let outBase = out.baseAddress, let energyBase = energy.baseAddress else { return }
                    batch.samples.withUnsafeBufferPointer { samples in
                        for c in 0..<channels {
                            pipeline.analyze(
                                frames: count, channel: c, firstIndex: firstIndex,
                                withFrame: { w, body in
                                    body(UnsafeBufferPointer(rebasing: samples[((w * channels + c) * length)...]))
                                },
                                bands: outBase + c * count * bands, energies: energyBase + c * count,
                                peak: &unusedPeak, scratch: scratch)
                        }
                    }
                }
            }
        }
        // Prepend the held-back frame, then hold back the newest one again (Whisper drops the last frame).
        var rows = count
        if let held = pending {
            var merged = [Float]()
            var mergedEnergies = [Float]()
            for c in 0..<channels {
                merged += held.bands[(c * bands)..<((c + 1) * bands)]
                merged += newBands[(c * count * bands)..<((c + 1) * count * bands)]
                mergedEnergies.append(held.energies[c])
                mergedEnergies += newEnergies[(c * count)..<((c + 1) * count)]
            }
            newBands = merged
            newEnergies = mergedEnergies
            rows += 1
            pending = nil
        }
        if options.dropLastFrame && rows > 0 {
            var kept = [Float]()
            var keptEnergies = [Float]()
            var heldBands = [Float]()
            var heldEnergies = [Float]()
            for c in 0..<channels {
                kept += newBands[(c * rows * bands)..<((c * rows + rows - 1) * bands)]
                heldBands += newBands[((c * rows + rows - 1) * bands)..<((c + 1) * rows * bands)]
                keptEnergies += newEnergies[(c * rows)..<(c * rows + rows - 1)]
                heldEnergies.append(newEnergies[c * rows + rows - 1])
            }
            if !final { pending = (heldBands, heldEnergies) }
            newBands = kept
            newEnergies = keptEnergies
            rows -= 1
        }
        peak = max(peak, pipeline.peakOf(newBands))
        pipeline.finishLog(&newBands, peak: peak)
        framesEmitted += rows
        return pipeline.output(bands: newBands, energies: newEnergies, channels: channels, frames: rows)
    }
}
