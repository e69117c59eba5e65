// TCNBench: the issue's TCN workloads — locuslab-shaped TCNs (weight norm, ReLU, 2^i dilations) — timed for batch
// inference, one training step (forward + loss + backward + Adam) and one-step streaming, against PyTorch timed
// in the same run by tcn_peer.py, both on 2 threads.
//
//     cd Benchmarks/tcn && TCN_BENCH_PYTHON=/work/venv/bin/python swift run -c release TCNBench
//
// Configurations (the issue's goals in brackets):
//   A speech clip: 80 × 101 input, 4 blocks × 64, k 3, batch 32, 10 classes (last step, cross-entropy)
//   B adding problem: 2 × 600 input, 8 blocks × 30, k 7, batch 32, last step, 2 classes (cross-entropy; the
//     backbone's cost is that of the regression task)
//   C sensor: 3 × 256 input, 6 blocks × 32, k 3, batch 64, per-step output (3 outputs, MSE);
//     streaming C: one step per call for 1 stream and for 64 streams.
// C (per-step head, every step computed) runs on seqtool's channels-last oneDNN engine, A and B (last-step heads,
// receptive-field pruned) on its im2col + OpenBLAS engine (`ConvolutionEngine`).
// GFLOPS count convolution arithmetic only (2 · B · T · out · in · k per conv, 1×1 downsamples included) over every
// step, as PyTorch computes it — with last-step heads seqtool computes only the steps that reach the output (the
// header line says what share) — and a training step counts 3× the forward (forward, weight gradient, input
// gradient).
//
// TCN_BENCH_PYTHON names the interpreter with torch (default `python3`); TCN_BENCH_RUNS the repetitions (best of,
// default 5); TCN_BENCH_ONLY a subset of "ABC"; TCN_BENCH_NORM swaps the normalisation (`batchNorm`, `layerNorm`,
// `none`; seqtool only — the peer stays locuslab's weight norm); TCN_BENCH_THREADS seqtool's thread count (default
// 2); TCN_BENCH_CLOCK=cpu times by process CPU time (with one thread: the single-core cost, steadier than wall time
// on a busy machine); TCN_BENCH_PHASES=1 also prints seqtool's training forward, backward and Adam times (ms per
// batch); TCN_BENCH_STREAM=0 skips streaming (for profiles of the batch paths); TCN_BENCH_ENGINE=im2col keeps C on
// the im2col engine. OpenBLAS picks its kernels from the CPU (AVX-512 `Cooperlake` on the AMD EPYC test machine)
// unless `OPENBLAS_CORETYPE` forces others (`Haswell` = AVX2, ~1.5× slower here): the header line names the kernels
// in use.
import Foundation
import TCN

let environment = ProcessInfo.processInfo.environment
let runs = Int(environment["TCN_BENCH_RUNS"] ?? "") ?? 5

/// Prints a line unbuffered (so a long run shows progress when piped).
func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
let only = environment["TCN_BENCH_ONLY"] ?? "ABC"
let threads = Int(environment["TCN_BENCH_THREADS"] ?? "") ?? 2
try TCNThreads.set(threads)
// As `seqtool` commands do: OpenBLAS's load-time threads would spin for the first 0.1 s (the module runs it on one
// thread), taking a core from the first measurement.
TCNThreads.releaseIdleBLASThreads()
/// `TCN_BENCH_CLOCK=cpu` times with the process's CPU time (user + system) instead of wall time: with one
/// thread (`TCN_BENCH_THREADS=1`) that is the single-core cost, steadier than wall time on a busy machine.
let cpuClock = environment["TCN_BENCH_CLOCK"] == "cpu"

func now() -> Double {
    guard cpuClock else { return Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

struct Workload {
    var name: String
    var batch: Int
    var inputChannels: Int
    var width: Int
    var blocks: Int
    var kernel: Int
    var time: Int
    var outputs: Int
    var perStep: Bool
    var streams: Int?

    /// Forward convolution FLOPs of one batch as executed: a last-step head computes only the steps that reach
    /// the last output (receptive-field pruning: block `i`'s outputs on a grid of every `s`-th step need its
    /// inputs on every `gcd(s, 2^i)`-th step), so this is less than `forwardFLOPs` there.
    var executedForwardFLOPs: Double {
        guard !perStep else { return forwardFLOPs }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        /// Steps (stride, count) a filter with dilation `d` reads for outputs on (stride, count).
        func input(_ grid: (stride: Int, count: Int), _ d: Int) -> (stride: Int, count: Int) {
            let s = gcd(grid.stride, d)
            let reach = grid.stride * (grid.count - 1) + d * (kernel - 1)
            return (s, min(reach / s + 1, (time - 1) / s + 1))
        }
        var total = 0
        var need = (stride: 0, count: 1)
        for i in (0..<blocks).reversed() {
            let output = need
            let middle = input(output, 1 << i)
            need = input(middle, 1 << i)
            let cin = i == 0 ? inputChannels : width
            total += width * cin * kernel * middle.count + width * width * kernel * output.count
            total += cin == width ? 0 : width * cin * output.count
        }
        return 2 * Double(batch * total)
    }

    /// Forward convolution FLOPs of one batch over every step (what PyTorch computes).
    var forwardFLOPs: Double {
        var total = 0
        var cin = inputChannels
        for _ in 0..<blocks {
            total += width * cin * kernel + width * width * kernel + (cin == width ? 0 : width * cin)
            cin = width
        }
        return 2 * Double(batch * time * total)
    }
}

struct PeerResult: Decodable {
    var version: String
    var threads: Int
    var inference: Double
    var trainStep: Double
    var streamStep: Double
    var streamStepMany: Double
}

func best(_ body: () throws -> Void) rethrows -> Double {
    try body()
    var result = Double.infinity
    for _ in 0..<runs {
        let start = now()
        try body()
        result = min(result, now() - start)
    }
    return result
}

func runPeer(_ w: Workload, receptiveField: Int, streamSteps: Int) throws -> PeerResult? {
    let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tcn_peer.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    var arguments = [environment["TCN_BENCH_PYTHON"] ?? "python3", peer.path]
    for value in [w.batch, w.inputChannels, w.width, w.blocks, w.kernel, w.time, w.outputs] {
        arguments.append(String(value))
    }
    arguments.append(w.perStep ? "step" : "last")
    for value in [runs, receptiveField, w.streams == nil ? 0 : streamSteps, w.streams ?? 1] {
        arguments.append(String(value))
    }
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(data: output, encoding: .utf8)?.split(separator: "\n").last.flatMap {
        try? JSONDecoder().decode(PeerResult.self, from: Data($0.utf8))
    }
}

func row(_ label: String, _ ours: String, _ theirs: String, _ ratio: String, _ extra: String = "") {
    func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
    say(
        "  " + label.padding(toLength: 18, withPad: " ", startingAt: 0) + pad(ours, 14) + pad(theirs, 14)
            + pad(ratio, 9) + "  " + extra)
}

let workloads = [
    Workload(
        name: "A speech clip", batch: 32, inputChannels: 80, width: 64, blocks: 4, kernel: 3, time: 101, outputs: 10,
        perStep: false),
    Workload(
        name: "B adding problem", batch: 32, inputChannels: 2, width: 30, blocks: 8, kernel: 7, time: 600,
        outputs: 2, perStep: false),
    Workload(
        name: "C sensor", batch: 64, inputChannels: 3, width: 32, blocks: 6, kernel: 3, time: 256, outputs: 3,
        perStep: true, streams: 64),
]
say(
    "TCNBench: best of \(runs), \(threads) thread(s)\(cpuClock ? ", CPU time" : "") (seqtool: TCNThreads, OpenBLAS \(TCNThreads.blasCore) kernels; "
        + "torch: set_num_threads)")
row("", "seqtool", "torch", "ratio")
for w in workloads where only.contains(w.name.prefix(1)) {
    let config = TCNConfiguration(
        backbone: BackboneConfiguration(
            inputChannels: w.inputChannels, channels: [Int](repeating: w.width, count: w.blocks),
            kernelSize: w.kernel,
            normalization: environment["TCN_BENCH_NORM"].flatMap(Normalization.init(rawValue:)) ?? .weightNorm),
        head: HeadConfiguration(
            kind: w.perStep ? .perStep : .lastStep, outputs: w.outputs, loss: w.perStep ? .mse : .crossEntropy))
    var model = try TCNModel(configuration: config, seed: 0)
    model.receptiveFieldPolicy = .ignore
    if let engine = environment["TCN_BENCH_ENGINE"].flatMap(ConvolutionEngine.init(rawValue:)) {
        model.convolutionEngine = engine
    }
    var random = TCNRandom(seed: 1)
    let x = try Tensor(
        shape: [w.batch, w.inputChannels, w.time],
        data: (0..<(w.batch * w.inputChannels * w.time)).map { _ in random.normal() })
    let y =
        w.perStep
        ? try Tensor(
            shape: [w.batch, w.outputs, w.time], data: (0..<(w.batch * w.outputs * w.time)).map { _ in random.normal() }
        )
        : try Tensor(shape: [w.batch], data: (0..<w.batch).map { Float($0 % w.outputs) })
    var optimizer = try Adam(learningRate: 1e-3)

    let inference = try best { _ = try model(x) }
    let trainStep = try best {
        let (_, gradients) = try model.lossAndGradients(x, targets: y, random: &random)
        optimizer.update(&model, gradients: gradients)
    }
    if environment["TCN_BENCH_PHASES"] != nil {
        let forward = try best { _ = try model.forward(x, training: true, random: &random) }
        let (out, cache) = try model.forward(x, training: true, random: &random)
        let dOut = Tensor(zeros: out.shape, value: 0.01)
        let backward = best { _ = model.backward(dOut, cache: cache) }
        let gradients = model.backward(dOut, cache: cache)
        var copy = model
        let adam = best { optimizer.update(&copy, gradients: gradients) }
        say(
            String(
                format: "  seqtool ms per batch: training forward %.2f, backward %.2f, Adam %.2f", forward * 1e3,
                backward * 1e3, adam * 1e3))
    }
    // Streaming: one step per call (seconds per step) for one stream and for `streams` streams.
    let streamSteps = 300
    func streamTime(_ streams: Int) throws -> Double {
        let chunk = try Tensor(
            shape: [streams, w.inputChannels, 1], data: (0..<(streams * w.inputChannels)).map { _ in random.normal() })
        return try best {
            var stream = try TCNStream(model: model, streams: streams)
            for _ in 0..<streamSteps { _ = try stream.process(chunk) }
        } / Double(streamSteps)
    }
    let streaming = environment["TCN_BENCH_STREAM"] != "0"
    let stream1 = streaming ? try w.streams.map { _ in try streamTime(1) } : nil
    let streamMany = streaming ? try w.streams.map { try streamTime($0) } : nil
    // The peer re-runs the whole window per step (~10–50 ms): fewer steps keep its run short.
    let peer = try runPeer(w, receptiveField: model.receptiveField, streamSteps: 20)

    say(
        "\(w.name): batch \(w.batch), \(w.inputChannels) × \(w.time) → \(w.blocks)×\(w.width), kernel \(w.kernel), "
            + "receptive field \(model.receptiveField), \(w.perStep ? "per-step MSE" : "last-step CE")"
            + (peer.map { ", torch \($0.version)" } ?? ", PyTorch peer unavailable (set TCN_BENCH_PYTHON)"))
    if !w.perStep {
        say(
            String(
                format: "  (last-step head: seqtool computes %.0f %% of the convolution work; GFLOPS below count all "
                    + "of it, as PyTorch does)", 100 * w.executedForwardFLOPs / w.forwardFLOPs))
    }
    let batch = Double(w.batch)
    for (label, ours, theirs, flops) in [
        ("train samples/s", trainStep, peer?.trainStep, 3 * w.forwardFLOPs),
        ("infer samples/s", inference, peer?.inference, w.forwardFLOPs),
    ] {
        row(
            label, String(format: "%.0f", batch / ours), theirs.map { String(format: "%.0f", batch / $0) } ?? "-",
            theirs.map { String(format: "%.2f×", $0 / ours) } ?? "-",
            String(
                format: "seqtool %.1f GFLOPS, torch %@", flops / ours / 1e9,
                theirs.map { String(format: "%.1f GFLOPS", flops / $0 / 1e9) } ?? "-"))
    }
    for (label, ours, theirs) in [
        ("stream 1 µs/step", stream1, peer?.streamStep),
        ("stream \(w.streams ?? 0) µs/step", streamMany, peer?.streamStepMany),
    ] {
        guard let ours else { continue }
        row(
            label, String(format: "%.1f", ours * 1e6), theirs.map { String(format: "%.1f", $0 * 1e6) } ?? "-",
            theirs.map { String(format: "%.1f×", $0 / ours) } ?? "-")
    }
}
