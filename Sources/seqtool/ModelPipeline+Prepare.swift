import AudioIO
import Foundation
import Spectral
import TCN
import Windowing

/// The windows of one signal as the TCN sees them.
struct PreparedWindows: Sendable {
    /// `[windows, tcnChannels, steps]`, normalised (or not, for `prepare(_:normalize: false)`).
    var input: Tensor
    /// Where each window lies in the signal.
    var provenance: [WindowProvenance]
}

extension ModelPipeline {
    /// Checks every value and the combinations (labels for classification, anomaly settings for anomaly, one
    /// normalisation entry per TCN input channel).
    ///
    /// - Throws: `JobError.invalidValue` naming the key (with `file` as the file name).
    func validate(file: String = ModelPipeline.fileName) throws {
        func bad(_ key: String, _ value: Any, _ reason: String) -> JobError {
            .invalidValue(file: file, key: key, value: "\(value)", reason: reason)
        }
        guard input.sampleRate > 0, input.sampleRate.isFinite else {
            throw bad("input.sampleRate", input.sampleRate, "must be > 0")
        }
        guard input.channels >= 1 else { throw bad("input.channels", input.channels, "must be ≥ 1") }
        guard input.channelNames.count == input.channels else {
            throw bad("input.channelNames", input.channelNames.count, "expected \(input.channels) names")
        }
        do {
            _ = try window.frameOptions()
            _ = try extractor()
        } catch let error as JobError {
            throw error.relocated(to: file)
        }
        let channels = try tcnChannels()
        guard normalization.mean.count == channels, normalization.std.count == channels else {
            throw bad(
                "normalization", "\(normalization.mean.count)/\(normalization.std.count) values",
                "expected \(channels) means and stds (one per TCN input channel)")
        }
        guard normalization.std.allSatisfy({ $0 > 0 && $0.isFinite }), normalization.mean.allSatisfy(\.isFinite) else {
            throw bad("normalization.std", "a value", "every std must be finite and > 0, every mean finite")
        }
        switch task {
        case .classification:
            guard let labels, labels.count >= 2 else {
                throw bad("labels", labels?.count ?? 0, "classification needs at least 2 class names")
            }
            guard Set(labels).count == labels.count else { throw bad("labels", labels, "names must be unique") }
            guard anomaly == nil else { throw bad("anomaly", "present", "only for task \"anomaly\"") }
        case .anomaly:
            guard let anomaly else { throw bad("anomaly", "absent", "task \"anomaly\" needs anomaly settings") }
            guard labels == nil else { throw bad("labels", "present", "only for task \"classification\"") }
            if anomaly.mode == .forecast, anomaly.horizon < 1 {
                throw bad("anomaly.horizon", anomaly.horizon, "forecast needs a horizon ≥ 1")
            }
            guard anomaly.channelStd.isEmpty || anomaly.channelStd.count == input.channels else {
                throw bad("anomaly.channelStd", anomaly.channelStd.count, "expected \(input.channels) values")
            }
        }
    }

    /// The feature extractor, or `nil` for raw samples.
    ///
    /// - Throws: `JobError.invalidValue` naming `features` when the options are rejected by Spectral.
    func extractor() throws -> FeatureExtractor? {
        guard let options = try features.options(sampleRate: input.sampleRate) else { return nil }
        do {
            return try FeatureExtractor(options: options)
        } catch {
            throw JobError.invalidValue(file: "", key: "features", value: features.preset, reason: "\(error)")
        }
    }

    /// Channels of the TCN input: the signal's channels for raw samples, `channels · dims` for features.
    ///
    /// - Throws: as `extractor()`.
    func tcnChannels() throws -> Int {
        guard let options = try features.options(sampleRate: input.sampleRate) else { return input.channels }
        return input.channels * options.dims
    }

    /// Steps of the TCN input per window.
    ///
    /// - Throws: as `extractor()`.
    func tcnSteps() throws -> Int {
        guard let options = try features.options(sampleRate: input.sampleRate) else { return window.length }
        do {
            return try options.frameOptions().frameCount(forLength: window.length)
        } catch {
            throw JobError.invalidValue(file: "", key: "features", value: features.preset, reason: "\(error)")
        }
    }

    /// Windows `signal` (raw samples, `[windows, channels, length]`).
    ///
    /// - Throws: `JobError.badData` naming `source` for another rate or channel count, or no whole window.
    func windows(of signal: Signal, source: String = "input") throws -> FrameBatch {
        guard signal.sampleRate == input.sampleRate else {
            throw JobError.badData(
                source: source, reason: "sample rate \(signal.sampleRate) Hz, the model expects \(input.sampleRate) Hz")
        }
        guard signal.channels == input.channels else {
            throw JobError.badData(
                source: source, reason: "\(signal.channels) channels, the model expects \(input.channels)")
        }
        let frames = try Framer(window.frameOptions()).frames(of: signal.samples, channels: signal.channels)
        guard frames.count > 0 else {
            throw JobError.badData(
                source: source,
                reason:
                    "\(signal.frames) samples give no \(window.length)-sample window with boundary \(window.boundary)")
        }
        return frames
    }

    /// The un-normalised TCN input `[tcnChannels, steps]` of one window (planar `[channels, length]` samples).
    ///
    /// - Parameter extractor: `extractor()` (passed in so callers build it once).
    /// - Throws: `JobError.badData` naming `source` for non-finite samples or a feature error.
    func tcnInput(window samples: ArraySlice<Float>, extractor: FeatureExtractor?, source: String) throws -> [Float] {
        guard let extractor else {
            guard samples.allSatisfy(\.isFinite) else {
                throw JobError.badData(source: source, reason: "a window holds NaN or infinite samples")
            }
            return Array(samples)
        }
        let f: Features
        do {
            f = try extractor.features(samples: Array(samples), channels: input.channels)
        } catch {
            throw JobError.badData(source: source, reason: "\(error)")
        }
        let dims = f.dims
        let steps = f.frames
        // [channels, frames, dims] → [channels · dims, frames]
        var out = [Float](repeating: 0, count: input.channels * dims * steps)
        for c in 0..<input.channels {
            for t in 0..<steps {
                for d in 0..<dims {
                    out[(c * dims + d) * steps + t] = f.values[(c * steps + t) * dims + d]
                }
            }
        }
        if features.windowMean == true, steps > 0 {
            for row in 0..<(input.channels * dims) {
                let range = (row * steps)..<((row + 1) * steps)
                let mean = out[range].reduce(0, +) / Float(steps)
                for i in range { out[i] -= mean }
            }
        }
        return out
    }

    /// Windows `signal`, computes the features of each window and standardises them: the TCN input
    /// `[windows, tcnChannels, steps]`. Training and inference both call this, so they agree by construction.
    ///
    /// - Parameters:
    ///   - signal: a signal at `input.sampleRate` with `input.channels` channels.
    ///   - normalize: apply `normalization` (training fits it on un-normalised windows first).
    ///   - source: names the file in errors.
    /// - Throws: `JobError.badData` naming `source` for another rate or channel count, or no whole window.
    func prepare(_ signal: Signal, normalize: Bool = true, source: String = "input") throws -> PreparedWindows {
        let frames = try windows(of: signal, source: source)
        let channels = try tcnChannels()
        let steps = try tcnSteps()
        let extractor = try extractor()
        var data: [Float] = []
        data.reserveCapacity(frames.count * channels * steps)
        let size = input.channels * window.length
        for w in 0..<frames.count {
            let x = try tcnInput(
                window: frames.samples[(w * size)..<((w + 1) * size)], extractor: extractor, source: source)
            guard x.count == channels * steps else {
                throw JobError.badData(
                    source: source, reason: "window \(w) gave \(x.count) values, not \(channels * steps)")
            }
            data += x
        }
        var tensor = try Tensor(shape: [frames.count, channels, steps], data: data)
        if normalize { normalization.apply(&tensor) }
        return PreparedWindows(input: tensor, provenance: frames.provenance)
    }

    // MARK: Files

    /// Writes `pipeline.json` into `folder` atomically.
    ///
    /// - Throws: `AudioIOError.ioFailure` when the folder is missing or not writable.
    func save(to folder: URL) throws {
        try AtomicFile.write(JobJSON.encode(self), to: folder.appendingPathComponent(Self.fileName))
    }

    /// Reads and validates `pipeline.json` of a model folder.
    ///
    /// - Throws: `JobError.missingFile` when the folder lacks it, else as `JobJSON.load` and `validate`.
    static func load(folder: URL) throws -> ModelPipeline {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw JobError.missingFile(folder: folder.path, file: fileName)
        }
        let pipeline = try JobJSON.load(ModelPipeline.self, path: url.path)
        try pipeline.validate(file: url.path)
        return pipeline
    }

    /// Reads a whole model folder (`pipeline.json`, `config.json`, `weights.safetensors`) and checks that the
    /// model fits the pipeline (input channels, one output per class).
    ///
    /// - Throws: `JobError.missingFile` for a missing file, `JobError` / `TCNError` naming the damaged file.
    static func loadModel(folder: URL) throws -> (pipeline: ModelPipeline, model: TCNModel) {
        for name in ["config.json", "weights.safetensors", fileName]
        where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) {
            throw JobError.missingFile(folder: folder.path, file: name)
        }
        let pipeline = try load(folder: folder)
        var model = try TCNModel(contentsOf: folder)
        model.receptiveFieldPolicy = .ignore
        let config = folder.appendingPathComponent("config.json").path
        let channels = try pipeline.tcnChannels()
        guard model.configuration.backbone.inputChannels == channels else {
            throw JobError.invalidValue(
                file: config, key: "backbone.inputChannels", value: "\(model.configuration.backbone.inputChannels)",
                reason: "pipeline.json gives the TCN \(channels) input channels")
        }
        if let labels = pipeline.labels, model.configuration.head.outputs != labels.count {
            throw JobError.invalidValue(
                file: config, key: "head.outputs", value: "\(model.configuration.head.outputs)",
                reason: "pipeline.json has \(labels.count) labels")
        }
        return (pipeline, model)
    }
}
