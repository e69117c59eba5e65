import AudioIO
import Foundation
import TestSupport
import Testing
import Windowing

@testable import seqtool

/// A valid classification pipeline over 1-channel 8 kHz audio with Kaldi fbanks.
func samplePipeline(preset: String = "kaldi", channels: Int = 1) throws -> ModelPipeline {
    var pipeline = ModelPipeline(
        task: .classification,
        input: .init(
            kind: .audio, sampleRate: 8000, channels: channels, channelNames: (0..<channels).map { "ch\($0)" }),
        window: .init(length: 800, hop: 400, boundary: "pad-end"),
        features: try ModelPipeline.FeatureSpec(preset: preset).resolved(sampleRate: 8000),
        normalization: .init(mean: [], std: []), labels: ["no", "yes"])
    let c = try pipeline.tcnChannels()
    pipeline.normalization = .init(mean: [Float](repeating: 0, count: c), std: [Float](repeating: 1, count: c))
    return pipeline
}

@Suite struct PipelineTests {
    @Test func roundTripsThroughJSON() throws {
        let pipeline = try samplePipeline()
        let data = try JobJSON.encode(pipeline)
        let back = try JobJSON.decode(ModelPipeline.self, from: data, file: "p.json")
        #expect(back == pipeline)
        try back.validate()
        // Kaldi's 25 ms / 10 ms / 512 at 16 kHz keep their durations at 8 kHz.
        #expect(back.features.frameLength == 200)
        #expect(back.features.hopLength == 80)
        #expect(back.features.nFFT == 256)
        #expect(back.features.melBands == 23)
    }

    @Test func unknownKeyIsNamed() throws {
        var object = try #require(
            try JSONSerialization.jsonObject(with: JobJSON.encode(samplePipeline())) as? [String: Any])
        var features = try #require(object["features"] as? [String: Any])
        features["melBandz"] = 40
        object["features"] = features
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: JobError.unknownKey(file: "p.json", key: "features.melBandz")) {
            try JobJSON.decode(ModelPipeline.self, from: data, file: "p.json")
        }
    }

    @Test func wrongTypeAndMissingKeyAreNamed() throws {
        var object = try #require(
            try JSONSerialization.jsonObject(with: JobJSON.encode(samplePipeline())) as? [String: Any])
        object["window"] = ["length": "800", "hop": 400, "boundary": "valid"]
        var data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: JobError.wrongType(file: "p.json", key: "window.length", expected: "an integer")) {
            try JobJSON.decode(ModelPipeline.self, from: data, file: "p.json")
        }
        object["window"] = ["length": 800, "boundary": "valid"]
        data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: JobError.missingKey(file: "p.json", key: "window.hop")) {
            try JobJSON.decode(ModelPipeline.self, from: data, file: "p.json")
        }
        object["version"] = 2
        data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: JobError.unsupportedVersion(file: "p.json", version: 2, supported: 1)) {
            try JobJSON.decode(ModelPipeline.self, from: data, file: "p.json")
        }
    }

    @Test func impossibleCombinationsAreNamed() throws {
        var pipeline = try samplePipeline()
        pipeline.labels = nil
        #expect(throws: JobError.self) { try pipeline.validate(file: "p.json") }
        do {
            try pipeline.validate(file: "p.json")
        } catch let error as JobError {
            #expect(error.description.contains("'labels'"))
        }
        pipeline = try samplePipeline()
        pipeline.window.boundary = "middle"
        #expect(throws: JobError.self) { try pipeline.validate(file: "p.json") }
        pipeline = try samplePipeline()
        pipeline.normalization.std.removeLast()
        #expect(throws: JobError.self) { try pipeline.validate(file: "p.json") }
        pipeline = try samplePipeline()
        pipeline.task = .anomaly
        pipeline.labels = nil
        #expect(throws: JobError.self) { try pipeline.validate(file: "p.json") }
        pipeline.anomaly = .init(mode: .forecast, horizon: 0, threshold: nil, channelStd: [])
        #expect(throws: JobError.self) { try pipeline.validate(file: "p.json") }
        pipeline.anomaly?.horizon = 1
        try pipeline.validate(file: "p.json")
        var spec = ModelPipeline.FeatureSpec(preset: "raw")
        spec.melBands = 10
        #expect(throws: JobError.self) { try spec.options(sampleRate: 8000) }
        #expect(throws: JobError.self) { try ModelPipeline.FeatureSpec(preset: "mfcc").options(sampleRate: 8000) }
    }

    @Test func rawPreparationWindowsAndStandardises() throws {
        var pipeline = try samplePipeline(preset: "raw", channels: 2)
        pipeline.window = .init(length: 4, hop: 3, boundary: "pad-end")
        pipeline.normalization = .init(mean: [1, -2], std: [2, 4])
        let samples: [Float] = [1, 2, 3, 4, 5, 6, 7, 10, 20, 30, 40, 50, 60, 70]
        let signal = try Signal(samples: samples, channels: 2, sampleRate: 8000)
        let prepared = try pipeline.prepare(signal)
        // pad-end windows start at 0, 3, 6 (7 samples per channel); zeros fill the tail.
        #expect(prepared.input.shape == [3, 2, 4])
        let expectedRaw: [Float] = [
            1, 2, 3, 4, 10, 20, 30, 40,
            4, 5, 6, 7, 40, 50, 60, 70,
            7, 0, 0, 0, 70, 0, 0, 0,
        ]
        let expected = expectedRaw.enumerated().map { i, v -> Float in
            (i / 4) % 2 == 0 ? (v - 1) / 2 : (v + 2) / 4
        }
        assertClose(prepared.input.data, expected, rtol: 0, atol: 1e-6)
        #expect(prepared.provenance.map(\.firstSample) == [0, 3, 6])
    }

    @Test func poolingIgnoresEndPaddingOfRawWindowsOnly() throws {
        var pipeline = try samplePipeline(preset: "raw", channels: 1)
        pipeline.window = .init(length: 4, hop: 3, boundary: "pad-end")
        pipeline.normalization = .init(mean: [0], std: [1])
        let signal = try Signal(samples: [1, 2, 3, 4, 5, 6, 7], channels: 1, sampleRate: 8000)
        let prepared = try pipeline.prepare(signal)
        // Windows at 0, 3, 6 of a 7-sample signal keep 4, 4 and 1 real samples.
        #expect(pipeline.validSteps(prepared.provenance) == [4, 4, 1])
        pipeline.window.boundary = "center"
        #expect(pipeline.validSteps(try pipeline.prepare(signal).provenance) == nil)
        let spectral = try samplePipeline()
        #expect(spectral.validSteps(try spectral.prepare(signal).provenance) == nil)
    }

    @Test func featurePreparationMatchesTheExtractorPerWindow() throws {
        var random = SplitMix64(seed: 7)
        let samples = random.uniformArray(2000, -0.1, 0.1)
        let signal = try Signal(samples: samples, channels: 1, sampleRate: 8000)
        let pipeline = try samplePipeline()
        let prepared = try pipeline.prepare(signal)
        let steps = try pipeline.tcnSteps()
        // pad-end windows start at 0, 400, 800, 1200 and 1600 (the last ones zero-filled).
        #expect(prepared.input.shape == [5, 23, steps])
        let extractor = try #require(try pipeline.extractor())
        for w in 0..<prepared.input.shape[0] {
            let start = w * 400
            var window = [Float](repeating: 0, count: 800)
            for i in 0..<800 where start + i < samples.count { window[i] = samples[start + i] }
            let f = try extractor.features(samples: window, channels: 1)
            var expected = [Float](repeating: 0, count: 23 * steps)
            for t in 0..<steps { for d in 0..<23 { expected[d * steps + t] = f.values[t * 23 + d] } }
            let got = Array(prepared.input.data[(w * 23 * steps)..<((w + 1) * 23 * steps)])
            assertClose(got, expected, rtol: 0, atol: 0)
        }
    }

    @Test func windowMeanRemovesEachFeaturesMeanOverTheWindow() throws {
        var random = SplitMix64(seed: 11)
        let signal = try Signal(samples: random.uniformArray(1600, -0.2, 0.2), channels: 1, sampleRate: 8000)
        var pipeline = try samplePipeline()
        let plain = try pipeline.prepare(signal, normalize: false).input
        pipeline.features.windowMean = true
        let centred = try pipeline.prepare(signal, normalize: false).input
        let (windows, channels, steps) = (plain.shape[0], plain.shape[1], plain.shape[2])
        for row in 0..<(windows * channels) {
            let range = (row * steps)..<((row + 1) * steps)
            let mean = plain.data[range].reduce(0, +) / Float(steps)
            assertClose(centred.data[range], plain.data[range].map { $0 - mean }, rtol: 0, atol: 1e-4)
        }
        var raw = ModelPipeline.FeatureSpec(preset: "raw")
        raw.windowMean = true
        #expect(throws: JobError.self) { try raw.options(sampleRate: 8000) }
    }

    @Test func preparationRefusesAnotherRateOrChannelCount() throws {
        let pipeline = try samplePipeline()
        let wrongRate = try Signal(samples: [Float](repeating: 0, count: 1000), channels: 1, sampleRate: 16000)
        #expect(throws: JobError.self) { try pipeline.prepare(wrongRate, source: "a.wav") }
        let wrongChannels = try Signal(samples: [Float](repeating: 0, count: 1000), channels: 2, sampleRate: 8000)
        #expect(throws: JobError.self) { try pipeline.prepare(wrongChannels, source: "a.wav") }
    }

    @Test func normalizationFitIsTheMeanAndPopulationStd() throws {
        var pipeline = try samplePipeline(preset: "raw", channels: 2)
        pipeline.window = .init(length: 3, hop: 3, boundary: "valid")
        let signal = try Signal(samples: [1, 2, 3, 4, 5, 6, 5, 5, 5, 5, 5, 5], channels: 2, sampleRate: 8000)
        let raw = try pipeline.prepare(signal, normalize: false).input
        let fit = ModelPipeline.Normalization.fit([raw], channels: 2)
        // channel 0: mean 3.5, population std sqrt(35/12); channel 1 is constant → std 1.
        assertClose(fit.mean, [3.5, 5], rtol: 0, atol: 1e-6)
        assertClose(fit.std, [Float((35.0 / 12).squareRoot()), 1], rtol: 1e-6, atol: 0)
    }

    @Test func modelFolderWithoutAFileIsNamed() throws {
        let folder = try TestPaths.temporaryDirectory("pipeline-missing")
        try samplePipeline().save(to: folder)
        #expect(throws: JobError.missingFile(folder: folder.path, file: "config.json")) {
            try ModelPipeline.loadModel(folder: folder)
        }
        let loaded = try ModelPipeline.load(folder: folder)
        #expect(loaded == (try samplePipeline()))
        try Data("{\"version\": 1,".utf8).write(to: folder.appendingPathComponent("pipeline.json"))
        #expect(throws: JobError.self) { try ModelPipeline.load(folder: folder) }
    }
}

@Suite struct AnomalyTrainingTests {
    @Test func forecastTargetsAreTheInputShiftedByTheHorizon() throws {
        var pipeline = try samplePipeline(preset: "raw", channels: 2)
        pipeline.task = .anomaly
        pipeline.labels = nil
        pipeline.anomaly = .init(mode: .forecast, horizon: 2, threshold: nil, channelStd: [])
        pipeline.window = .init(length: 5, hop: 5, boundary: "valid")
        pipeline.normalization = .init(mean: [0, 0], std: [1, 1])
        let samples: [Float] = (0..<10).map(Float.init) + (0..<10).map { Float(100 + $0) }
        let file = LoadedFile(
            path: "s.csv", label: nil, group: nil,
            signal: try Signal(samples: samples, channels: 2, sampleRate: 8000))
        let set = try WindowSet(files: [file], pipeline: pipeline, labels: [])
        let source = try WindowDataSource(windows: set, pipeline: pipeline, target: .forecast(horizon: 2))
        let batch = try source.batch([1])
        assertClose(batch.input.data, [5, 6, 7, 8, 9, 105, 106, 107, 108, 109], rtol: 0, atol: 0)
        // target[t] = input[t + 2] for the first 3 steps; the last 2 are masked by the length.
        assertClose(batch.targets.data, [7, 8, 9, 0, 0, 107, 108, 109, 0, 0], rtol: 0, atol: 0)
        #expect(batch.lengths == [3])
        let reconstruction = try WindowDataSource(windows: set, pipeline: pipeline, target: .reconstruction)
        #expect(try reconstruction.batch([0]).targets == (try reconstruction.batch([0]).input))
    }

    @Test func segmentsShorterThanAWindowAreSkippedForAnomalyButClipsAreNot() throws {
        var pipeline = try samplePipeline(preset: "raw", channels: 1)
        pipeline.task = .anomaly
        pipeline.labels = nil
        pipeline.anomaly = .init(mode: .forecast, horizon: 1, threshold: nil, channelStd: [])
        pipeline.window = .init(length: 5, hop: 5, boundary: "valid")
        pipeline.normalization = .init(mean: [0], std: [1])
        func segment(_ name: String, _ n: Int) throws -> LoadedFile {
            LoadedFile(
                path: name, label: nil, group: nil,
                signal: try Signal(samples: (0..<n).map(Float.init), channels: 1, sampleRate: 8000))
        }
        // A gap left 3 rows between two long runs: those rows cannot form a window and are skipped, by name.
        let set = try WindowSet(
            files: [try segment("p.csv#0", 12), try segment("p.csv#1", 3), try segment("p.csv#2", 5)],
            pipeline: pipeline, labels: [])
        #expect(set.count == 3)
        #expect(set.skippedSegments == ["p.csv#1"])
        #expect(set.fileIndex == [0, 0, 2])
        // Nothing long enough at all is an error naming the data.
        #expect(throws: JobError.self) {
            try WindowSet(files: [try segment("q.csv#0", 3)], pipeline: pipeline, labels: [])
        }
        // Rows labelled anomalous keep their windows out of training: windows 0..<5 and 5..<10 of a 12-row
        // segment, the second holding row 7 labelled "anomaly"; "NORMAL" and "" count as normal.
        var labelled = try segment("r.csv#0", 12)
        labelled.sampleLabels = [
            "normal", "", "NORMAL", "0", "normal", "normal", "normal", "anomaly", "x", "y", "z", "w",
        ]
        let clean = try WindowSet(files: [labelled], pipeline: pipeline, labels: [])
        #expect(clean.count == 1 && clean.droppedAnomalous == 1)
        assertClose(clean.samples, [0, 1, 2, 3, 4], rtol: 0, atol: 0)
        #expect(clean.provenance.map(\.firstSample) == [0])
        // A classification clip without a window is still an error (it would silently drop an example).
        pipeline.task = .classification
        #expect(throws: JobError.self) {
            try WindowSet(files: [try segment("clip.wav", 3)], pipeline: pipeline, labels: [])
        }
    }

    @Test func sensorTrainingWritesAnAnomalyPipeline() throws {
        let root = try TestPaths.temporaryDirectory("anomaly")
        let config: [String: Any] = [
            "version": 1, "task": "anomaly", "seed": 1,
            "data": [
                "kind": "sensor",
                "files": [TestPaths.packageRoot.appendingPathComponent("Samples/sensor/pump.csv").path],
            ],
            "split": ["by": "file", "testFraction": 0, "validationFraction": 0],
            "window": ["length": 32, "hop": 32, "boundary": "valid"],
            "anomaly": ["mode": "forecast", "horizon": 1],
            "model": ["channels": [4], "kernelSize": 3, "head": "perStep"],
            "training": ["epochs": 1, "batchSize": 16],
        ]
        let out = root.appendingPathComponent("model")
        let result = try runSeqtool([
            "train", "--config", try writeJSON(config, to: root), "--out", out.path, "--quiet",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let pipeline = try ModelPipeline.load(folder: out)
        #expect(pipeline.task == .anomaly)
        #expect(pipeline.input.kind == .sensor)
        #expect(pipeline.input.channelNames == ["temperature", "vibration_x", "vibration_y"])
        #expect(pipeline.anomaly?.channelStd.count == 3)
        #expect((pipeline.anomaly?.threshold ?? 0) > 0)
        let (_, model) = try ModelPipeline.loadModel(folder: out)
        #expect(model.configuration.head.kind == .perStep && model.configuration.head.outputs == 3)
    }
}
