// SpectralBench: 600 s of 16 kHz audio → 80 log-mel bands (win 400, hop 160, n_fft 512, Hann), one core,
// against librosa, torchaudio and kaldi-native-fbank timed in the same run by spectral/spectral_peer.py.
//
//     cd Benchmarks && OPENBLAS_NUM_THREADS=1 \
//       SPECTRAL_BENCH_PYTHONS="../.venv/bin/python:/work/venv/bin/python" swift run -c release SpectralBench
//
// SPECTRAL_BENCH_PYTHONS lists interpreters (colon-separated) to run the peer script with; each reports the
// libraries it has. SPECTRAL_BENCH_SECONDS changes the signal length (default 600).
import AudioIO
import Foundation
import Spectral

let environment = ProcessInfo.processInfo.environment
let durationSeconds = Int(environment["SPECTRAL_BENCH_SECONDS"] ?? "") ?? 600
let runs = Int(environment["SPECTRAL_BENCH_RUNS"] ?? "") ?? 7
let sampleRate = 16_000.0
let count = durationSeconds * Int(sampleRate)

// A deterministic test signal: a slow chirp plus uniform noise (LCG), amplitude ≤ 0.6.
var state: UInt64 = 0x5EED
var samples = [Float](repeating: 0, count: count)
for i in 0..<count {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    let noise = Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
    let t = Double(i) / sampleRate
    samples[i] = 0.5 * Float(sin(2 * Double.pi * (100 * t + 10 * t * t))) + 0.1 * noise
}

let options = FeatureOptions(
    sampleRate: sampleRate, frameLength: 512, hopLength: 160, nFFT: 512, boundary: .center(.zeros),
    window: .hann, windowLength: 400, mel: MelOptions(bands: 80), log: .natural(floor: 1e-10))

/// CPU seconds of this thread spent in `body` (the machine is shared, so wall time would count other jobs).
func seconds(_ body: () throws -> Void) rethrows -> Double {
    func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
    let start = now()
    try body()
    return now() - start
}

let signal = try Signal(samples: samples, channels: 1, sampleRate: sampleRate)
let extractor = try FeatureExtractor(options: options)
_ = try extractor(try Signal(samples: Array(samples.prefix(160_000)), channels: 1, sampleRate: sampleRate))
var frames = 0
var best = Double.infinity
for _ in 0..<runs {
    best = min(best, try seconds { frames = try extractor(signal).frames })
}
/// Best time to stream the whole signal through a `StreamingFeatureExtractor` in chunks of `chunk` samples.
@MainActor func streamed(chunk: Int) throws -> Double {
    var fastest = Double.infinity
    for _ in 0..<runs {
        fastest = min(
            fastest,
            try seconds {
                var stream = try StreamingFeatureExtractor(options: options, channels: 1)
                var start = 0
                while start < count {
                    let end = min(count, start + chunk)
                    _ = try stream.push(Array(samples[start..<end]))
                    start = end
                }
                _ = try stream.finish()
            })
    }
    return fastest
}
let streamBest = try streamed(chunk: 16_000)
let smallChunkBest = try streamed(chunk: 160)
var kaldi = FeatureOptions.kaldi
kaldi.mel?.bands = 80
let kaldiExtractor = try FeatureExtractor(options: kaldi)
var kaldiBest = Double.infinity
for _ in 0..<runs { kaldiBest = min(kaldiBest, try seconds { _ = try kaldiExtractor(signal) }) }

print(
    "SpectralBench: \(durationSeconds) s at 16 kHz, \(frames) frames × 80 bands, best of \(runs), one core, thread CPU time"
)
func row(_ name: String, _ time: Double, _ note: String = "") {
    print("  " + name.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: "%8.4f s", time) + note)
}
row("seqtool FeatureExtractor", best)
row("seqtool StreamingFeatureExtractor", streamBest, "   (1 s chunks)")
row("seqtool StreamingFeatureExtractor", smallChunkBest, "   (10 ms chunks)")
row("seqtool Kaldi fbank (80 bins)", kaldiBest, "   (Kaldi framing, conditioning, povey)")

// Python peers on the same samples.
let input = FileManager.default.temporaryDirectory.appendingPathComponent("spectral-bench-\(getpid()).f32")
try samples.withUnsafeBytes { try Data($0).write(to: input) }
defer { try? FileManager.default.removeItem(at: input) }
let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("spectral/spectral_peer.py")
for python in (environment["SPECTRAL_BENCH_PYTHONS"] ?? "python3").split(separator: ":") {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [String(python), peer.path, input.path, "\(runs)"]
    var peerEnvironment = environment
    peerEnvironment["OMP_NUM_THREADS"] = "1"
    peerEnvironment["OPENBLAS_NUM_THREADS"] = "1"
    process.environment = peerEnvironment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let name = object["name"] as? String, let time = object["seconds"] as? Double
        else { continue }
        let version = object["version"] as? String ?? "?"
        let reference = name == "kaldi-native-fbank" ? kaldiBest : best
        let against = name == "kaldi-native-fbank" ? "seqtool Kaldi fbank" : "seqtool FeatureExtractor"
        row("\(name) \(version)", time, String(format: "   %@ is %.1f× faster", against as NSString, time / reference))
    }
}
