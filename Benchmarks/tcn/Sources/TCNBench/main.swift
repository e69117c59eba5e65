// TCNBench: a locuslab-shaped TCN (weight norm, ReLU, 2^i dilations, last-step linear head) — batch inference,
// one training step (forward + cross-entropy + backward + Adam) and one-step streaming — against PyTorch timed
// in the same run by tcn_peer.py, both on 2 threads, for a large and a small workload.
//
//     cd Benchmarks/tcn && TCN_BENCH_PYTHON=/work/venv/bin/python swift run -c release TCNBench
//
// TCN_BENCH_PYTHON names the interpreter with torch (default `python3`); TCN_BENCH_RUNS the repetitions (best
// of, default 10). OpenBLAS 0.3.21 runs its Haswell (AVX2) kernels on AMD CPUs with AVX-512; on such machines
// `OPENBLAS_CORETYPE=SkylakeX` selects the AVX-512 kernels (about 1.7× faster GEMMs on the test machine).
import Foundation
import TCN

let environment = ProcessInfo.processInfo.environment
let runs = Int(environment["TCN_BENCH_RUNS"] ?? "") ?? 10
try TCNThreads.set(2)

struct Workload {
    var name: String
    var batch: Int
    var inputChannels: Int
    var width: Int
    var blocks: Int
    var kernel: Int
    var time: Int
    var classes: Int
}

struct PeerResult: Decodable {
    var version: String
    var threads: Int
    var inference: Double
    var trainStep: Double
    var streamStep: Double
}

func best(_ body: () throws -> Void) rethrows -> Double {
    try body()
    var result = Double.infinity
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        result = min(result, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return result
}

func line(_ label: String, _ ours: Double, _ theirs: Double?, unit: Double = 1e3, _ suffix: String = "ms") {
    let padded = label.padding(toLength: 12, withPad: " ", startingAt: 0)
    var text = "  \(padded)" + String(format: "seqtool %9.3f %@", ours * unit, suffix)
    if let theirs {
        text += String(format: "   torch %9.3f %@   seqtool %.2f× faster", theirs * unit, suffix, theirs / ours)
    }
    print(text)
}

let workloads = [
    Workload(name: "large", batch: 32, inputChannels: 8, width: 64, blocks: 4, kernel: 3, time: 256, classes: 10),
    Workload(name: "small", batch: 4, inputChannels: 2, width: 16, blocks: 3, kernel: 3, time: 128, classes: 4),
]
print(
    "TCNBench: best of \(runs), 2 threads (seqtool: TCNThreads, OpenBLAS \(TCNThreads.blasCore) kernels; "
        + "torch: set_num_threads)")
for w in workloads {
    let config = TCNConfiguration(
        backbone: BackboneConfiguration(
            inputChannels: w.inputChannels, channels: [Int](repeating: w.width, count: w.blocks),
            kernelSize: w.kernel),
        head: HeadConfiguration(kind: .lastStep, outputs: w.classes, loss: .crossEntropy))
    var model = try TCNModel(configuration: config, seed: 0)
    var random = TCNRandom(seed: 1)
    let x = try Tensor(
        shape: [w.batch, w.inputChannels, w.time],
        data: (0..<(w.batch * w.inputChannels * w.time)).map { _ in random.normal() })
    let y = try Tensor(shape: [w.batch], data: (0..<w.batch).map { Float($0 % w.classes) })
    var optimizer = try Adam(learningRate: 1e-3)

    let inference = try best { _ = try model(x) }
    let trainStep = try best {
        let (_, gradients) = try model.lossAndGradients(x, targets: y, random: &random)
        optimizer.update(&model, gradients: gradients)
    }
    // One stream, one step at a time (seconds per step). A plain PyTorch TCN has no stream state: its peer
    // re-runs the model on the last receptive-field window per step.
    let streamSteps = 300
    let chunk = try Tensor(shape: [1, w.inputChannels, 1], data: (0..<w.inputChannels).map { _ in random.normal() })
    let streamStep =
        try best {
            var stream = try TCNStream(model: model, streams: 1)
            for _ in 0..<streamSteps { _ = try stream.process(chunk) }
        } / Double(streamSteps)

    let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tcn_peer.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments =
        [environment["TCN_BENCH_PYTHON"] ?? "python3", peer.path]
        + [
            w.batch, w.inputChannels, w.width, w.blocks, w.kernel, w.time, w.classes, runs, model.receptiveField,
            streamSteps,
        ].map(String.init)
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let peerResult = String(data: output, encoding: .utf8)?.split(separator: "\n").last.flatMap {
        try? JSONDecoder().decode(PeerResult.self, from: Data($0.utf8))
    }
    print(
        "\(w.name): batch \(w.batch), \(w.inputChannels) → \(w.blocks)×\(w.width) channels, kernel \(w.kernel), "
            + "\(w.time) steps, receptive field \(model.receptiveField)"
            + (peerResult.map { ", torch \($0.version)" } ?? ", PyTorch peer unavailable (set TCN_BENCH_PYTHON)"))
    line("inference", inference, peerResult?.inference)
    line("train step", trainStep, peerResult?.trainStep)
    line("stream step", streamStep, peerResult?.streamStep, unit: 1e6, "µs")
}
