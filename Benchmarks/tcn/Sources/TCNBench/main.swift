// TCNBench: a locuslab-shaped TCN (weight norm, ReLU, 2^i dilations, last-step linear head) — inference and one
// training step (forward + cross-entropy + backward + Adam) — against PyTorch timed in the same run by
// tcn_peer.py, both on 2 threads.
//
//     cd Benchmarks/tcn && TCN_BENCH_PYTHON=/work/venv/bin/python swift run -c release TCNBench
//
// TCN_BENCH_PYTHON names the interpreter with torch (default `python3`); TCN_BENCH_RUNS the repetitions (best
// of, default 10).
import Foundation
import TCN

let environment = ProcessInfo.processInfo.environment
let runs = Int(environment["TCN_BENCH_RUNS"] ?? "") ?? 10
let (batch, inputChannels, width, blocks, kernel, time, classes) = (32, 8, 64, 4, 3, 256, 10)
try TCNThreads.set(2)

let config = TCNConfiguration(
    backbone: BackboneConfiguration(
        inputChannels: inputChannels, channels: [Int](repeating: width, count: blocks), kernelSize: kernel),
    head: HeadConfiguration(kind: .lastStep, outputs: classes, loss: .crossEntropy))
var model = try TCNModel(configuration: config, seed: 0)
var random = TCNRandom(seed: 1)
let x = try Tensor(
    shape: [batch, inputChannels, time], data: (0..<(batch * inputChannels * time)).map { _ in random.normal() })
let y = try Tensor(shape: [batch], data: (0..<batch).map { Float($0 % classes) })
var optimizer = try Adam(learningRate: 1e-3)

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

let inference = try best { _ = try model(x) }
let trainStep = try best {
    let (_, gradients) = try model.lossAndGradients(x, targets: y, random: &random)
    optimizer.update(&model, gradients: gradients)
}

// Streaming: one stream, one step at a time, for `streamSteps` steps (seconds per step). PyTorch has no
// built-in stream state for a plain TCN; its peer re-runs the model on the last receptive-field window per step.
let streamSteps = 500
let chunk = try Tensor(shape: [1, inputChannels, 1], data: (0..<inputChannels).map { _ in random.normal() })
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
    + [batch, inputChannels, width, blocks, kernel, time, classes, runs, model.receptiveField, streamSteps].map(
        String.init)
let pipe = Pipe()
process.standardOutput = pipe
try process.run()
let output = pipe.fileHandleForReading.readDataToEndOfFile()
process.waitUntilExit()
struct PeerResult: Decodable {
    var version: String
    var threads: Int
    var inference: Double
    var trainStep: Double
    var streamStep: Double
}
print(
    "TCNBench: batch \(batch), \(inputChannels) → \(blocks)×\(width) channels, kernel \(kernel), \(time) steps, "
        + "best of \(runs), 2 threads")
print(String(format: "  seqtool inference   %8.4f s", inference))
print(String(format: "  seqtool train step  %8.4f s", trainStep))
print(
    String(
        format: "  seqtool stream step %8.1f µs (1 stream, 1 step, receptive field %d)", streamStep * 1e6,
        model.receptiveField))
if let line = String(data: output, encoding: .utf8)?.split(separator: "\n").last,
    let result = try? JSONDecoder().decode(PeerResult.self, from: Data(line.utf8))
{
    print(
        String(
            format: "  torch %@ inference   %8.4f s  → seqtool %.2f× faster", result.version, result.inference,
            result.inference / inference))
    print(
        String(
            format: "  torch %@ train step  %8.4f s  → seqtool %.2f× faster", result.version, result.trainStep,
            result.trainStep / trainStep))
    print(
        String(
            format: "  torch %@ stream step %8.1f µs (window re-run) → seqtool %.2f× faster", result.version,
            result.streamStep * 1e6, result.streamStep / streamStep))
} else {
    print("  PyTorch peer unavailable (set TCN_BENCH_PYTHON to an interpreter with torch 2.11.0)")
}
