// SpectralBench: 600 s of 16 kHz audio → 80 log-mel bands (win 400, hop 160, n_fft 512, Hann), one core,
// against librosa, torchaudio and kaldi-native-fbank timed in the same run by spectral/spectral_peer.py; then the
// same work on two threads (the signal as two 300 s halves, one per thread) against torchaudio with
// torch.set_num_threads(2) on the [2, 300 s] batch, and MFCCs (13 cepstra of the 80 dB mels) on one core against
// librosa and torchaudio and on two threads against torchaudio.
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
/// Two-thread runs are repeated more: their wall time depends on what else the shared machine runs.
let parallelRuns = Int(environment["SPECTRAL_BENCH_PARALLEL_RUNS"] ?? "") ?? 21
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

/// Wall-clock seconds of `body` (for the two-thread runs, where thread CPU time would miss the second thread).
func wallSeconds(_ body: () throws -> Void) rethrows -> Double {
    func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
    let start = now()
    try body()
    return now() - start
}

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

// MFCC: librosa.feature.mfcc / torchaudio.transforms.MFCC conventions on the same mels — power_to_db (ref 1,
// amin 1e-10, top_db 80), orthonormal DCT-II, 13 coefficients, no lifter.
var mfccOptions = options
mfccOptions.log = .decibels(DecibelOptions())
mfccOptions.cepstrum = CepstrumOptions(count: 13)
let mfccExtractor = try FeatureExtractor(options: mfccOptions)
var mfccBest = Double.infinity
for _ in 0..<runs { mfccBest = min(mfccBest, try seconds { _ = try mfccExtractor(signal) }) }

// Two threads: the 600 s as two 300 s halves, one per thread (FeatureExtractor may be used from several threads),
// the same work torchaudio does on a [2, 300 s] batch with torch.set_num_threads(2). Wall time, best of runs.
let halves = [Array(samples[0..<(count / 2)]), Array(samples[(count / 2)...])]
/// Each thread's CPU seconds in a two-thread run.
final class ThreadSeconds: @unchecked Sendable {  // `values` is guarded by `lock`
    private let lock = NSLock()
    private var values = [0.0, 0.0]

    subscript(i: Int) -> Double {
        get { lock.withLock { values[i] } }
        set { lock.withLock { values[i] = newValue } }
    }
}

/// Best wall time of `extractor` on both halves, on two threads or one after the other on this thread, and the
/// smallest "critical path" seen: the larger of the two threads' CPU times (what the wall time would be on two idle
/// cores; the benchmark machine is shared, so the wall time of two threads depends on the other jobs).
func halvesBest(_ extractor: FeatureExtractor, _ halves: [[Float]], threads: Int) -> (wall: Double, path: Double) {
    var fastest = Double.infinity
    var shortestPath = Double.infinity
    let threadSeconds = ThreadSeconds()
    for _ in 0..<parallelRuns {
        let wall = wallSeconds {
            if threads == 2 {
                DispatchQueue.concurrentPerform(iterations: 2) { half in
                    threadSeconds[half] = seconds { _ = try? extractor.features(samples: halves[half], channels: 1) }
                }
            } else {
                for (i, half) in halves.enumerated() {
                    threadSeconds[i] = seconds { _ = try? extractor.features(samples: half, channels: 1) }
                }
            }
        }
        fastest = min(fastest, wall)
        shortestPath = min(shortestPath, threads == 2 ? max(threadSeconds[0], threadSeconds[1]) : wall)
    }
    return (fastest, shortestPath)
}
let logMelOneThreadWall = halvesBest(extractor, halves, threads: 1)
let logMelTwoThreads = halvesBest(extractor, halves, threads: 2)
let mfccOneThreadWall = halvesBest(mfccExtractor, halves, threads: 1)
let mfccTwoThreads = halvesBest(mfccExtractor, halves, threads: 2)

print(
    "SpectralBench: \(durationSeconds) s at 16 kHz, \(frames) frames × 80 bands; one core: thread CPU time, best of "
        + "\(runs); two threads: wall time, best of \(parallelRuns)")
func row(_ name: String, _ time: Double, _ note: String = "") {
    print("  " + name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%8.4f s", time) + note)
}
print("log-mel, one core")
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
/// Every peer result: name → (version, seconds).
var peers: [String: (version: String, seconds: Double)] = [:]
for python in (environment["SPECTRAL_BENCH_PYTHONS"] ?? "python3").split(separator: ":") {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [String(python), peer.path, input.path, "\(runs)", "\(parallelRuns)"]
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
        peers[name] = (object["version"] as? String ?? "?", time)
    }
}
/// Prints a peer's row with the ratio against seqtool's `reference` time (`against` names it).
@MainActor func peerRow(_ name: String, label: String, reference: Double, against: String) {
    guard let peer = peers[name] else { return print("  \(label): not measured (not installed in the peers)") }
    let ratio = peer.seconds / reference
    row("\(label) \(peer.version)", peer.seconds, String(format: "   %@ is %.1f× faster", against as NSString, ratio))
}
peerRow("librosa", label: "librosa melspectrogram + log", reference: best, against: "seqtool")
peerRow("torchaudio", label: "torchaudio MelSpectrogram + log", reference: best, against: "seqtool")
peerRow("kaldi-native-fbank", label: "kaldi-native-fbank", reference: kaldiBest, against: "seqtool Kaldi fbank")

/// The rows of a two-thread comparison: seqtool sequential and on two threads, then torchaudio.
@MainActor func twoThreadRows(
    _ title: String, sequential: (wall: Double, path: Double), parallel: (wall: Double, path: Double), peer: String,
    label: String
) {
    print(title)
    row("seqtool, the halves one after the other", sequential.wall, "   (one thread)")
    row(
        "seqtool, one half per thread", parallel.wall,
        String(
            format: "   (%.2f× speed-up; slower thread's CPU time %.4f s)", sequential.wall / parallel.wall,
            parallel.path))
    peerRow(peer, label: label, reference: parallel.wall, against: "seqtool")
}
twoThreadRows(
    "log-mel, two threads (2 × 300 s)", sequential: logMelOneThreadWall, parallel: logMelTwoThreads,
    peer: "torchaudio-2threads", label: "torchaudio, set_num_threads(2)")

print("MFCC (13 of 80 dB mels), one core")
row("seqtool FeatureExtractor", mfccBest)
peerRow("librosa-mfcc", label: "librosa.feature.mfcc", reference: mfccBest, against: "seqtool")
peerRow("torchaudio-mfcc", label: "torchaudio MFCC", reference: mfccBest, against: "seqtool")

twoThreadRows(
    "MFCC, two threads (2 × 300 s)", sequential: mfccOneThreadWall, parallel: mfccTwoThreads,
    peer: "torchaudio-mfcc-2threads", label: "torchaudio MFCC, set_num_threads(2)")
