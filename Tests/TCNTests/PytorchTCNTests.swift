import Foundation
import TestSupport
import Testing

@testable import TCN

/// Parity with the real pytorch-tcn package (`pytorch_tcn.TCN` 1.2.3): its own `state_dict` files load, give its
/// outputs, loss, gradients and Adam steps, and files we write in its naming load into it (strict) and give our
/// outputs. Fixtures: `Tests/Fixtures/TCN/pytorch-tcn/`, from `scripts/fixtures/pytorch_tcn_fixtures.py`.
///
/// Tolerances as `ParityTests`: rtol 1e-5 plus atol 1e-6 (1e-5 for gradients and trained weights).
struct PytorchTCNTests {
    static let names = ["weightnorm", "batchnorm", "layernorm", "plain"]

    static func folder(_ name: String) -> URL { TestPaths.fixture("TCN/pytorch-tcn/\(name)") }

    @Test(arguments: names)
    func forwardLossAndGradientsMatchPytorchTCN(name: String) throws {
        let (f, model) = try TorchFixture.load("pytorch-tcn/\(name)")
        let file = try SafeTensors.read(Self.folder(name).appendingPathComponent("weights.safetensors")).tensors
        #expect(StateDictNaming.detect(file.keys) == .pytorchTCN)
        #expect(model.receptiveField == f.receptiveField)
        #expect(Set(try model.stateDict(naming: .pytorchTCN).keys) == Set(f.stateDictKeys), "\(name)")
        let eval = try model(f.x, lengths: f.lengths)
        #expect(eval.shape == f.outputShape)
        assertClose(eval.data, f.evalOutput, rtol: 1e-5, atol: 1e-6, "\(name) eval output")

        var m = model
        var random = TCNRandom(seed: 0)
        let (out, _) = try m.forward(f.x, lengths: f.lengths, training: true, random: &random)
        assertClose(out.data, f.trainOutput, rtol: 1e-5, atol: 1e-6, "\(name) train output")
        m = model
        let (loss, ours) = try m.lossAndGradients(f.x, targets: f.y, lengths: f.lengths, random: &random)
        assertClose([loss], [f.loss], rtol: 1e-5, atol: 1e-7, "\(name) loss")
        let grads = m.renamed(ours, to: .pytorchTCN)
        #expect(Set(grads.keys) == Set(f.gradients.keys), "\(name)")
        for (key, expected) in f.gradients.sorted(by: { $0.key < $1.key }) {
            assertClose(try #require(grads[key]).data, expected, rtol: 1e-5, atol: 1e-5, "\(name) ∂\(key)")
        }
        let buffers = m.renamed(m.buffers, to: .pytorchTCN)
        #expect(Set(buffers.keys) == Set(f.buffersAfterOnePass.keys), "\(name)")
        for (key, expected) in f.buffersAfterOnePass.sorted(by: { $0.key < $1.key }) {
            assertClose(try #require(buffers[key]).data, expected, rtol: 1e-5, atol: 1e-6, "\(name) \(key)")
        }
    }

    @Test(arguments: names)
    func adamStepsMatchPytorchTCN(name: String) throws {
        let (f, start) = try TorchFixture.load("pytorch-tcn/\(name)")
        let expected = try #require(f.afterTraining["adam"])
        let (model, losses) = try f.train(start, with: Adam(learningRate: 1e-2, weightDecay: 1e-3))
        assertClose(losses, expected.losses, rtol: 1e-5, atol: 1e-7, "\(name) adam losses")
        let state = model.renamed(model.stateDict, to: .pytorchTCN)
        #expect(Set(state.keys) == Set(expected.stateDict.keys))
        for (key, values) in expected.stateDict.sorted(by: { $0.key < $1.key }) {
            assertClose(try #require(state[key]).data, values, rtol: 1e-5, atol: 1e-5, "\(name) adam \(key)")
        }
    }

    /// Our pytorch-tcn naming reproduces the package's file byte for byte: same keys, shapes, dtypes (the I64
    /// `num_batches_tracked`), zero `padder.buffer`s, and the same values.
    @Test(arguments: names)
    func pytorchTCNNamingReproducesThePackagesFile(name: String) throws {
        let url = Self.folder(name).appendingPathComponent("weights.safetensors")
        let model = try TCNModel(contentsOf: Self.folder(name))
        #expect(SafeTensors.encode(try model.stateDict(naming: .pytorchTCN)) == (try Data(contentsOf: url)))
        // Saving in locuslab naming (the default) and reloading keeps every weight.
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try model.save(to: directory)
        #expect(
            StateDictNaming.detect(
                try SafeTensors.read(directory.appendingPathComponent("weights.safetensors"))
                    .tensors.keys) == .locuslab)
        #expect(try TCNModel(contentsOf: directory).stateDict == model.stateDict)
    }

    /// What the `skip` fixture holds: pytorch-tcn's output and the output of seqtool's skip sum on the same weights.
    struct SkipFixture: Decodable {
        var input: [Float]
        var inputShape: [Int]
        var evalOutput: [Float]
        var outputShape: [Int]
        var seqtoolSkipOutput: [Float]
    }

    /// With `skipSource: .residualBranch` the same weights give pytorch-tcn's own output, and the model saves and
    /// reloads in pytorch-tcn naming.
    @Test func residualBranchSkipsGivePytorchTCNsOutput() throws {
        let folder = Self.folder("skip")
        let f = try JSONDecoder().decode(
            SkipFixture.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        var config = try TCNConfiguration(json: Data(contentsOf: folder.appendingPathComponent("config.json")))
        config.backbone.skipSource = .residualBranch
        var model = try TCNModel(configuration: config, seed: 0)
        model.receptiveFieldPolicy = .ignore
        let file = try SafeTensors.read(folder.appendingPathComponent("weights.safetensors")).tensors
        try model.load(stateDict: file, source: "skip")
        let out = try model(try Tensor(shape: f.inputShape, data: f.input))
        assertClose(out.data, f.evalOutput, rtol: 1e-5, atol: 1e-6, "pytorch-tcn skip rule")
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let saved = directory.appendingPathComponent("m")
        try model.save(to: saved, naming: .pytorchTCN)
        let reloaded = try TCNModel(contentsOf: saved)
        #expect(reloaded.configuration.backbone.skipSource == .residualBranch)
        #expect(reloaded.stateDict == model.stateDict)
        // Streaming follows the same rule: step by step it gives the offline per-step outputs.
        var stream = try TCNStream(model: model, streams: f.inputShape[0])
        assertClose(
            try stream.process(try Tensor(shape: f.inputShape, data: f.input)).data, f.evalOutput, rtol: 1e-5,
            atol: 1e-5, "streamed")
    }

    /// pytorch-tcn's skip connections sum residual branches, ours block outputs: its weights are refused (typed
    /// error), and the documented difference is exactly the difference — loaded past the check, our model gives
    /// the script's seqtool-rule output, not pytorch-tcn's.
    @Test func skipConnectionWeightsAreRefusedForTheDocumentedReason() throws {
        let folder = Self.folder("skip")
        let url = folder.appendingPathComponent("weights.safetensors")
        #expect {
            _ = try TCNModel(contentsOf: folder)
        } throws: { error in
            guard case .invalidParameter(let name, _, let reason) = error as? TCNError else { return false }
            return name == "backbone.skipConnections" && reason.hasPrefix(url.path) && reason.contains("branch")
        }
        let f = try JSONDecoder().decode(
            SkipFixture.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let config = try TCNConfiguration(json: Data(contentsOf: folder.appendingPathComponent("config.json")))
        var model = try TCNModel(configuration: config, seed: 0)
        model.receptiveFieldPolicy = .ignore
        let file = try SafeTensors.read(url).tensors
        let ours = model.ourNames(file, from: .pytorchTCN)
        #expect(Set(ours.keys) == Set(model.stateDict.keys))
        model.update(from: ours)
        let out = try model(try Tensor(shape: f.inputShape, data: f.input))
        #expect(out.shape == f.outputShape)
        assertClose(out.data, f.seqtoolSkipOutput, rtol: 1e-5, atol: 1e-6, "seqtool skip rule")
        let gap = zip(out.data, f.evalOutput).map { abs($0 - $1) }.max() ?? 0
        #expect(gap > 1e-3, "pytorch-tcn's rule gives other numbers")
        // Writing such a model in pytorch-tcn naming is refused before anything is written.
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: TCNError.self) {
            try model.save(to: directory.appendingPathComponent("m"), naming: .pytorchTCN)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("m").path))
    }

    /// Models whose files our Swift code wrote in pytorch-tcn naming (`swift-written/<name>`); the script loads
    /// them into `pytorch_tcn.TCN` with `strict=True` and records its outputs.
    static let swiftWritten: [(name: String, configuration: TCNConfiguration)] = [
        (
            "weightnorm",
            TCNConfiguration(
                backbone: BackboneConfiguration(
                    inputChannels: 2, channels: [3, 4, 4], kernelSize: 3, initialization: .torchDefault),
                head: HeadConfiguration(kind: .perStep, outputs: 2, loss: .mse))
        ),
        (
            "batchnorm",
            TCNConfiguration(
                backbone: BackboneConfiguration(
                    inputChannels: 3, channels: [4, 2], kernelSize: 2, dilationReset: 1, padding: .same,
                    normalization: .batchNorm, activation: .gelu, initialization: .torchDefault),
                head: HeadConfiguration(kind: .perStep, outputs: 3, loss: .mse))
        ),
    ]

    /// The committed `swift-written` files are what `save(to:naming: .pytorchTCN)` writes today for a seeded model.
    /// On a mismatch the new files are left in a temporary folder named in the message: if the change is intended,
    /// copy them over the fixture and rerun the script.
    @Test(arguments: swiftWritten.map(\.name))
    func swiftWrittenFileIsWhatWeWrite(name: String) throws {
        let config = try #require(Self.swiftWritten.first { $0.name == name }).configuration
        let model = try TCNModel(configuration: config, seed: 7)
        let directory = try TestPaths.temporaryDirectory().appendingPathComponent(name)
        try model.save(to: directory, naming: .pytorchTCN)
        var same = true
        for file in ["config.json", "weights.safetensors"] {
            let committed = try? Data(
                contentsOf: Self.folder("swift-written/\(name)").appendingPathComponent(file))
            let written = try Data(contentsOf: directory.appendingPathComponent(file))
            #expect(committed == written, "\(file) differs or is missing: new files in \(directory.path)")
            same = same && committed == written
        }
        if same { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
    }

    /// What the script recorded after loading a `swift-written` file into `pytorch_tcn.TCN`.
    struct SwiftWrittenFixture: Decodable {
        var input: [Float]
        var inputShape: [Int]
        var output: [Float]
        var outputShape: [Int]
        var keys: [String]
    }

    /// PyTorch loaded our file with `strict=True` (the script asserts it) and computes our outputs.
    @Test(arguments: swiftWritten.map(\.name))
    func swiftWrittenFileGivesPytorchTCNOutputs(name: String) throws {
        let folder = Self.folder("swift-written/\(name)")
        let f = try JSONDecoder().decode(
            SwiftWrittenFixture.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        var model = try TCNModel(contentsOf: folder)
        model.receptiveFieldPolicy = .ignore
        #expect(Set(try model.stateDict(naming: .pytorchTCN).keys) == Set(f.keys))
        let out = try model(try Tensor(shape: f.inputShape, data: f.input))
        #expect(out.shape == f.outputShape)
        assertClose(out.data, f.output, rtol: 1e-5, atol: 1e-6, "\(name) output through pytorch_tcn.TCN")
    }

    /// Errors name the key and shapes as the file spells them; streaming buffers are optional, their values unused.
    @Test func pytorchTCNKeyErrorsNameTheFilesKeys() throws {
        var model = try TCNModel(contentsOf: Self.folder("weightnorm"))
        let state = try model.stateDict(naming: .pytorchTCN)
        let gain = "network.0.conv1.parametrizations.weight.original0"
        var missing = state
        missing[gain] = nil
        #expect(throws: TCNError.missingKey(path: "w", key: gain)) { try model.load(stateDict: missing, source: "w") }
        var flat = state
        flat["projection_out.weight"] = Tensor(zeros: [3, 3])
        #expect(
            throws: TCNError.keyShapeMismatch(
                path: "w", key: "projection_out.weight", expected: [3, 3, 1], actual: [3, 3])
        ) {
            try model.load(stateDict: flat, source: "w")
        }
        var buffer = state
        buffer["network.1.conv2.padder.buffer"] = Tensor(zeros: [1, 4, 3])
        #expect(
            throws: TCNError.keyShapeMismatch(
                path: "w", key: "network.1.conv2.padder.buffer", expected: [1, 4, 4], actual: [1, 4, 3])
        ) { try model.load(stateDict: buffer, source: "w") }
        var extra = state
        extra["network.0.conv1.weight"] = Tensor(zeros: [4, 2, 3])
        #expect(throws: TCNError.unexpectedKey(path: "w", key: "network.0.conv1.weight")) {
            try model.load(stateDict: extra, source: "w")
        }
        // Without streaming buffers, or with a stream's non-zero context in them, the weights load the same.
        let reference = model.stateDict
        var streamed = state.filter { !$0.key.hasSuffix(".padder.buffer") }
        try model.load(stateDict: streamed, source: "w")
        #expect(model.stateDict == reference)
        streamed["network.0.conv1.padder.buffer"] = Tensor(zeros: [1, 2, 2], value: 0.5)
        try model.load(stateDict: streamed, source: "w")
        #expect(model.stateDict == reference)
        #expect(try model.stateDict(naming: .pytorchTCN) == state)
    }

    @Test func namingIsDetectedFromKeysOnly() {
        #expect(StateDictNaming.detect(["network.0.conv1.weight_g", "linear.weight"]) == .locuslab)
        #expect(StateDictNaming.detect(["network.0.conv1.weight", "network.0.norm1.weight"]) == .locuslab)
        #expect(StateDictNaming.detect([String]()) == .locuslab)
        #expect(StateDictNaming.detect(["network.0.conv1.padder.buffer"]) == .pytorchTCN)
        #expect(StateDictNaming.detect(["projection_out.bias"]) == .pytorchTCN)
        #expect(StateDictNaming.detect(["network.2.conv2.parametrizations.weight.original1"]) == .pytorchTCN)
    }
}
