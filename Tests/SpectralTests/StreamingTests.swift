import AudioIO
import TestSupport
import Testing

@testable import Spectral

struct StreamingTests {
    /// Streams planar `samples` in random chunk sizes (including 0 and 1) and concatenates per channel.
    static func streamed(
        _ options: FeatureOptions, samples: [Float], channels: Int, seed: UInt64, maxChunk: Int
    ) throws -> Features {
        var stream = try StreamingFeatureExtractor(options: options, channels: channels)
        var rng = SplitMix64(seed: seed)
        let length = samples.count / channels
        var parts: [Features] = []
        var start = 0
        while start < length {
            let size = min(length - start, Int(rng.next() % UInt64(maxChunk + 1)))
            var chunk = [Float]()
            for c in 0..<channels { chunk += samples[(c * length + start)..<(c * length + start + size)] }
            parts.append(try stream.push(chunk))
            start += size
        }
        parts.append(try stream.finish())
        let frames = parts.reduce(0) { $0 + $1.frames }
        let dims = options.dims
        var values = [Float]()
        for c in 0..<channels {
            for part in parts { values += part.channel(c) }
        }
        #expect(stream.framesEmitted == frames)
        return try Features(channels: channels, frames: frames, dims: dims, values: values)
    }

    static let exactPresets: [(String, FeatureOptions)] = {
        var librosaLinear = FeatureOptions.librosa
        librosaLinear.sampleRate = 16000
        librosaLinear.log = .decibels(DecibelOptions(reference: .value(1), topDB: nil))
        var dithered = FeatureOptions.kaldiMFCC
        dithered.conditioning?.dither = 1
        dithered.conditioning?.ditherSeed = 7
        return [
            ("kaldi", .kaldi), ("kaldiStreaming", .kaldiStreaming), ("kaldiMFCC dithered", dithered), ("psf", .psf),
            ("torchaudio", .torchaudio), ("librosa without top_db", librosaLinear),
        ]
    }()

    @Test func streamingEqualsOfflineForRandomChunkings() throws {
        var rng = SplitMix64(seed: 5)
        for (name, options) in Self.exactPresets {
            for channels in [1, 2] {
                for length in [0, 1, 250, 3001] {
                    let samples = (0..<(channels * length)).map { _ in 0.3 * rng.normal() }
                    let offline = try FeatureExtractor(options: options).features(samples: samples, channels: channels)
                    for (seed, maxChunk) in [(1, 1000), (2, 37), (3, 3)] where length < 1000 || maxChunk > 30 {
                        let streamed = try Self.streamed(
                            options, samples: samples, channels: channels, seed: UInt64(seed), maxChunk: maxChunk)
                        let label = "\(name), \(channels) ch, \(length) samples, chunks ≤ \(maxChunk)"
                        #expect(streamed.frames == offline.frames, "\(label)")
                        // Equal up to float rounding: OpenBLAS may round differently for other block sizes.
                        assertClose(streamed.values, offline.values, rtol: 1e-5, atol: 5e-5, label)
                    }
                }
            }
        }
    }

    @Test func whisperStreamUsesARunningMaximum() throws {
        var samples = try SpectralFixture.array("input_a")
        let offline = try FeatureExtractor(options: .whisper).features(samples: samples, channels: 1)
        // Loud throughout: the running maximum reaches the global one early, and the drop of the last frame holds.
        let streamed = try Self.streamed(.whisper, samples: samples, channels: 1, seed: 4, maxChunk: 500)
        #expect(streamed.frames == offline.frames && streamed.frames == 25)
        assertClose(streamed.values, offline.values, rtol: 0, atol: 1e-5)
        // Quiet first: early frames are clamped at a lower running maximum − 8, so never above the offline values.
        for i in 0..<2000 { samples[i] *= 1e-4 }
        let quietOffline = try FeatureExtractor(options: .whisper).features(samples: samples, channels: 1)
        let quietStreamed = try Self.streamed(.whisper, samples: samples, channels: 1, seed: 4, maxChunk: 500)
        let above = (0..<quietOffline.values.count).filter { quietStreamed.values[$0] > quietOffline.values[$0] + 1e-5 }
        #expect(above.isEmpty, "streamed above offline at \(above.prefix(5))")
        #expect(quietStreamed.values != quietOffline.values)
        // The last frames, after the loudest one, are equal.
        let tail = (20 * 80)..<(25 * 80)
        assertClose(quietStreamed.values[tail], quietOffline.values[tail], rtol: 0, atol: 1e-6)
    }

    @Test func memoryStaysBoundedOverALongStream() throws {
        for options in [FeatureOptions.kaldiStreaming, .whisper, .librosa] {
            var stream = try StreamingFeatureExtractor(options: options, channels: 2)
            var rng = SplitMix64(seed: 8)
            var frames = 0
            for _ in 0..<200 {
                let size = Int(rng.next() % 3000)
                frames += try stream.push((0..<(2 * size)).map { _ in rng.uniform(-1, 1) }).frames
                #expect(stream.bufferedSamples <= options.frameLength + options.hopLength)
            }
            frames += try stream.finish().frames
            #expect(frames == stream.framesEmitted && frames > 0)
        }
    }

    @Test func seededDitherIsReproducibleAndSeedDependent() throws {
        let samples = try SpectralFixture.array("input_a")
        var options = FeatureOptions.kaldi
        options.conditioning?.dither = 1
        options.conditioning?.ditherSeed = 42
        let a = try FeatureExtractor(options: options).features(samples: samples, channels: 1)
        let b = try FeatureExtractor(options: options).features(samples: samples, channels: 1)
        #expect(a == b)
        options.conditioning?.ditherSeed = 43
        let c = try FeatureExtractor(options: options).features(samples: samples, channels: 1)
        #expect(a != c)
        let clean = try FeatureExtractor(options: .kaldi).features(samples: samples, channels: 1)
        // Dither of one int16 step barely moves loud frames: within 0.05 log units of the clean features.
        assertClose(a.values, clean.values, rtol: 0, atol: 0.05)
        #expect(a.values != clean.values)
    }

    @Test func streamRejectsPushAfterFinishAndResets() throws {
        var stream = try StreamingFeatureExtractor(options: .kaldi, channels: 1)
        _ = try stream.push([Float](repeating: 0.1, count: 500))
        _ = try stream.finish()
        #expect(throws: SpectralError.self) { try stream.push([0]) }
        #expect(throws: SpectralError.self) { try stream.finish() }
        stream.reset()
        #expect(try stream.push([Float](repeating: 0.1, count: 400)).frames == 1)
        #expect(throws: SpectralError.self) { try StreamingFeatureExtractor(options: .kaldi, channels: 0) }
        var two = try StreamingFeatureExtractor(options: .kaldi, channels: 2)
        #expect(throws: SpectralError.self) { try two.push([1, 2, 3]) }
    }
}
