import Foundation
import TestSupport
import Testing

@testable import TCN

/// safetensors, `config.json` and model directories.
struct FileTests {
    static let names = ["locuslab", "pytcn", "layernorm"]

    /// Our writer reproduces the bytes `safetensors.torch.save_file` wrote for the same state_dict.
    @Test(arguments: names)
    func writerReproducesSafetensorsLibraryBytes(name: String) throws {
        let url = TestPaths.fixture("TCN/\(name)/weights.safetensors")
        let original = try Data(contentsOf: url)
        let (tensors, metadata) = try SafeTensors.read(url)
        #expect(metadata == ["format": "pt"])
        #expect(SafeTensors.encode(tensors) == original)
        // The header of the model's own state_dict (without locuslab's `net.*` aliases) decodes back.
        let model = try TCNModel(contentsOf: url.deletingLastPathComponent())
        let round = try SafeTensors.decode(SafeTensors.encode(model.stateDict), path: "memory")
        #expect(round.tensors == model.stateDict)
    }

    @Test func savedModelReloadsIdentically() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = Configs.make(normalization: .batchNorm, head: .perStep, loss: .mse, skip: true)
        var model = try TCNModel(configuration: config, seed: 3)
        var random = TCNRandom(seed: 1)
        var rng = SplitMix64(seed: 2)
        let x = randomTensor([2, 2, 16], &rng)
        _ = try model.forward(x, training: true, random: &random)  // non-trivial running statistics
        try model.save(to: directory.appendingPathComponent("m"))
        let loaded = try TCNModel(contentsOf: directory.appendingPathComponent("m"))
        #expect(loaded.configuration == model.configuration)
        #expect(loaded.stateDict == model.stateDict)
        #expect(try loaded(x) == model(x))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("m").path)
        #expect(files.sorted() == ["config.json", "weights.safetensors"])  // no temporary files left
    }

    @Test func configurationRoundTripsAndChecksVersion() throws {
        let config = Configs.make(head: .meanPool, loss: .huber, dilations: [1, 3, 9])
        let json = try config.jsonData()
        #expect(try TCNConfiguration(json: json) == config)
        var text = try #require(String(data: json, encoding: .utf8))
        text = text.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 7")
        #expect(throws: TCNError.unsupportedVersion(path: "c.json", version: 7, supported: [1])) {
            try TCNConfiguration(json: Data(text.utf8), path: "c.json")
        }
        #expect(throws: TCNError.self) { try TCNConfiguration(json: Data("{\"version\": 1}".utf8)) }
        #expect(throws: TCNError.self) { try TCNConfiguration(json: Data("not json".utf8)) }
        var bad = config
        bad.backbone.dilations = [1, 2]
        #expect(throws: TCNError.self) { try TCNModel(configuration: bad, seed: 0) }
    }

    @Test func minimalConfigurationTakesDocumentedDefaults() throws {
        let json = #"""
            {"version": 1, "backbone": {"inputChannels": 3, "channels": [8, 8]},
             "head": {"kind": "lastStep", "outputs": 4, "loss": "crossEntropy"}}
            """#
        let config = try TCNConfiguration(json: Data(json.utf8))
        let expected = TCNConfiguration(
            backbone: BackboneConfiguration(inputChannels: 3, channels: [8, 8]),
            head: HeadConfiguration(kind: .lastStep, outputs: 4, loss: .crossEntropy))
        #expect(config == expected)
        #expect(config.backbone.kernelSize == 2 && config.backbone.normalization == .weightNorm)
        let model = try TCNModel(configuration: config, seed: 0)
        #expect(model.parameters["network.0.conv1.weight_g"]?.shape == [8, 1, 1])
        #expect(model.parameters["network.0.downsample.weight"]?.shape == [8, 3, 1])
        #expect(model.parameters["network.1.downsample.weight"] == nil)
        #expect(model.parameters["linear.weight"]?.shape == [4, 8])
    }

    @Test func mismatchedWeightsNameTheKeyAndShapes() throws {
        let folder = TestPaths.fixture("TCN/locuslab")
        var model = try TCNModel(contentsOf: folder)
        var state = try SafeTensors.read(folder.appendingPathComponent("weights.safetensors")).tensors
        state["network.1.conv2.weight_v"] = Tensor(zeros: [4, 4, 2])
        #expect(
            throws: TCNError.keyShapeMismatch(
                path: "w", key: "network.1.conv2.weight_v", expected: [4, 4, 3], actual: [4, 4, 2])
        ) { try model.load(stateDict: state, source: "w") }
        state["network.1.conv2.weight_v"] = nil
        #expect(throws: TCNError.missingKey(path: "w", key: "network.1.conv2.weight_v")) {
            try model.load(stateDict: state, source: "w")
        }
        var extra = model.stateDict
        extra["network.9.conv1.bias"] = Tensor(zeros: [1])
        #expect(throws: TCNError.unexpectedKey(path: "w", key: "network.9.conv1.bias")) {
            try model.load(stateDict: extra, source: "w")
        }
        try model.load(stateDict: ["linear.bias": Tensor(zeros: [3])], strict: false)
        #expect(model.linear.bias.data == [0, 0, 0])
    }

    @Test func damagedFilesThrowTypedErrors() throws {
        let good = SafeTensors.encode(["a": try Tensor(shape: [2], data: [1, 2])])
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("cut header", good.prefix(20)),
            ("cut data", good.dropLast(2)),
            ("huge header length", Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) + good.dropFirst(8)),
            (
                "bad dtype",
                SafeTensors.encode(["a": try Tensor(shape: [2], data: [1, 2])]).replacing(
                    Data("F32".utf8), with: Data("U16".utf8))
            ),
        ]
        for (label, data) in cases {
            #expect(throws: TCNError.self, "\(label)") { try SafeTensors.decode(data, path: label) }
        }
        do {
            _ = try SafeTensors.decode(good.dropLast(2), path: "x.safetensors")
            Issue.record("no error")
        } catch let error as TCNError {
            #expect(error.description.contains("x.safetensors") && error.description.contains("'a'"))
        }
        #expect(throws: TCNError.self) { try TCNModel(contentsOf: URL(fileURLWithPath: "/nonexistent/model")) }
    }

    @Test func readsOtherDtypes() throws {
        // One I64 scalar (3) and one F64 value (0.5), written by hand.
        let header =
            #"{"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        withUnsafeBytes(of: Int64(3).littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: Double(0.5).bitPattern.littleEndian) { data.append(contentsOf: $0) }
        let tensors = try SafeTensors.decode(data, path: "m").tensors
        #expect(tensors["a"] == (try Tensor(shape: [], data: [3])))
        #expect(tensors["b"] == (try Tensor(shape: [1], data: [0.5])))
    }
}
