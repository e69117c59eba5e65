import AudioIO
import Foundation
import Spectral

/// The work of `seqtool features`: files (or a crop run's window arrays) → feature arrays and `features.json`.
///
/// `features.json` is written first with `"status": "running"` and the options' fingerprint, and rewritten with
/// every output's shape at the end. A rerun whose fingerprint matches keeps each output that exists (outputs are
/// renamed into place only when complete, so an existing one is whole); other runs recompute everything.
/// Arrays are committed with `.renameOnly` and made durable by one `AtomicFile.syncAll()` before the final
/// `features.json`, as `crop` does.
struct FeaturesJob: Sendable {
    let outFolder: URL
    let preset: FeaturePreset
    /// The effective options; `sampleRate` is replaced by each file's rate.
    let options: FeatureOptions
    /// `--sample-rate`: files at another rate fail.
    let requiredRate: Double?
    let jobs: Int
    let stopOnError: Bool
    let force: Bool
    let quiet: Bool
    let extractors: ExtractorCache

    init(
        outFolder: URL, preset: FeaturePreset, options: FeatureOptions, requiredRate: Double?, jobs: Int,
        stopOnError: Bool, force: Bool, quiet: Bool
    ) {
        self.outFolder = outFolder
        self.preset = preset
        self.options = options
        self.requiredRate = requiredRate
        self.jobs = jobs
        self.stopOnError = stopOnError
        self.force = force
        self.quiet = quiet
        extractors = ExtractorCache(options: options)
    }

    var documentURL: URL { outFolder.appendingPathComponent("features.json") }

    /// Identifies the options (and the mode), so a resumed run with other options recomputes its outputs.
    func fingerprint(mode: String) -> String {
        CropJob.digest([mode, preset.rawValue, "\(options)", requiredRate.map { "\($0)" } ?? "file rate"])
    }

    // MARK: Files

    /// Computes the features of every file in parallel.
    ///
    /// - Throws: `FeaturesFailure` naming the file when one fails and `stopOnError` is set; I/O errors of the
    ///   output folder.
    func runFiles(_ files: [InputFile]) throws -> FeaturesSummary {
        let names = CropJob.outputNames(for: files)
        var document = FeaturesDocument(job: self, mode: "files")
        let keep = try prepare(&document)
        let progress = ProgressReporter(total: files.count, label: "files", quiet: quiet)
        let results = ParallelRunner.run(count: files.count, jobs: jobs, stopOnError: stopOnError) { i in
            defer { progress.advance() }
            return try self.features(of: files[i], name: names[i], keep: keep)
        }
        var summary = FeaturesSummary(unit: "file")
        for (file, result) in zip(files, results) {
            switch result {
            case .success(let output)?:
                document.outputs.append(output)
                summary.add(output)
            case .failure(let error)?:
                let message = describe(error, at: file.path)
                if stopOnError { throw FeaturesFailure(message: message) }
                printError("skipped \(message)")
                document.failed.append(FailedInput(source: file.path, error: message))
                summary.failed += 1
            case nil:
                break  // not started: another file failed with --on-error fail
            }
        }
        try finish(document)
        return summary
    }

    /// The features of one file written to `<name>.npy`, or the existing output when `keep` allows it.
    func features(of file: InputFile, name: String, keep: Bool) throws -> FeatureOutput {
        let url = outFolder.appendingPathComponent(name + ".npy")
        if keep, FileManager.default.fileExists(atPath: url.path) {
            let shape = try NPY.readHeader(path: url.path).shape
            let info = try AudioFile.info(path: file.path)
            let rate = Double(info.sampleRate)
            return FeatureOutput(
                source: file.path, output: url.lastPathComponent, sampleRate: rate, channels: info.channels,
                windows: nil, frames: shape.count >= 2 ? shape[shape.count - 2] : 0, shape: shape,
                seconds: Double(info.frames) / rate, reused: true)
        }
        guard file.kind == .audio else {
            throw FeaturesFailure(message: "sensor CSV files have no audio features; give audio files")
        }
        let signal = try AudioFile.read(path: file.path)
        try checkRate(signal.sampleRate)
        let features = try extractors.extractor(sampleRate: signal.sampleRate)(signal)
        // Mono: [frames, dims]; multichannel: [channels, frames, dims].
        let rowShape = signal.channels == 1 ? [features.dims] : [features.frames, features.dims]
        let writer = try NPYStreamWriter(path: url.path, rowShape: rowShape, durability: .renameOnly)
        try writer.append(rows: features.values)
        try writer.finish()
        return FeatureOutput(
            source: file.path, output: url.lastPathComponent, sampleRate: signal.sampleRate,
            channels: signal.channels, windows: nil, frames: features.frames, shape: [writer.rowCount] + rowShape,
            seconds: signal.duration, reused: false)
    }

    private func checkRate(_ rate: Double) throws {
        if let requiredRate, rate != requiredRate {
            throw FeaturesFailure(
                message: "sample rate \(formatNumber(rate)) Hz, but --sample-rate is \(formatNumber(requiredRate)) Hz "
                    + "(seqtool does not resample)")
        }
    }

    // MARK: Crop windows

    /// Windows processed per parallel task (large enough to amortise scheduling, small enough to balance).
    static let windowsPerTask = 32

    /// Computes the features of every window of a crop run's arrays, each window on its own.
    ///
    /// - Throws: `FeaturesFailure` naming the array (and row) when one fails and `stopOnError` is set; errors
    ///   reading the manifest.
    func runCrop(_ source: CropSource) throws -> FeaturesSummary {
        let arrays = try source.arrays()
        var document = FeaturesDocument(job: self, mode: "crop")
        document.cropManifest = source.manifest.path
        let keep = try prepare(&document)
        var summary = FeaturesSummary(unit: "array")
        let mapped = try arrays.map { try NPYMappedArray(path: source.folder.appendingPathComponent($0.name).path) }
        let progress = ProgressReporter(
            total: mapped.reduce(0) { $0 + $1.rowCount }, label: "windows", quiet: quiet)
        for (entry, array) in zip(arrays, mapped) {
            do {
                let output = try features(of: array, entry: entry, keep: keep, progress: progress)
                document.outputs.append(output)
                summary.add(output)
            } catch {
                let message = describe(error, at: array.path)
                if stopOnError { throw FeaturesFailure(message: message) }
                printError("skipped \(message)")
                document.failed.append(FailedInput(source: array.path, error: message))
                summary.failed += 1
            }
        }
        try finish(document)
        return summary
    }

    /// The features of every window of one crop array, `[windows, frames, dims]` (mono windows) or
    /// `[windows, channels, frames, dims]`, written to `<shard>.npy`.
    private func features(
        of array: NPYMappedArray, entry: CropSource.ArrayEntry, keep: Bool, progress: ProgressReporter
    ) throws -> FeatureOutput {
        let url = outFolder.appendingPathComponent((entry.name as NSString).lastPathComponent)
        guard array.rowShape.count == 2 else {
            throw FeaturesFailure(message: "expected windows [windows, channels, samples], got shape \(array.shape)")
        }
        let channels = array.rowShape[0]
        let length = array.rowShape[1]
        let rates = try (0..<array.rowCount).map { row in
            guard let rate = entry.rates[row] ?? requiredRate else {
                throw FeaturesFailure(message: "manifest.csv has no row \(row) for \(entry.name)")
            }
            return rate
        }
        let seconds = zip(rates, 0..<array.rowCount).reduce(0) { $0 + Double(length) / $1.0 }
        if keep, FileManager.default.fileExists(atPath: url.path) {
            let shape = try NPY.readHeader(path: url.path).shape
            for _ in 0..<array.rowCount { progress.advance() }
            return FeatureOutput(
                source: array.path, output: url.lastPathComponent, sampleRate: rates.first ?? options.sampleRate,
                channels: channels, windows: array.rowCount, frames: shape.count >= 3 ? shape[shape.count - 2] : 0,
                shape: shape, seconds: seconds, reused: true)
        }
        for rate in Set(rates) { try checkRate(rate) }
        let taskCount = (array.rowCount + Self.windowsPerTask - 1) / Self.windowsPerTask
        let results = ParallelRunner.run(count: taskCount, jobs: jobs, stopOnError: true) { task in
            let rows = (task * Self.windowsPerTask)..<min((task + 1) * Self.windowsPerTask, array.rowCount)
            var values: [Float] = []
            var frames = 0
            for row in rows {
                defer { progress.advance() }
                do {
                    let features = try self.extractors.extractor(sampleRate: rates[row])
                        .features(samples: try array.row(row), channels: channels)
                    frames = features.frames
                    values += features.values
                } catch {
                    throw FeaturesFailure(message: "row \(row): \(error)")
                }
            }
            return (values: values, frames: frames)
        }
        // The shape of an empty array comes from a silent window at the first rate.
        let silentFrames = {
            try self.extractors.extractor(sampleRate: rates.first ?? self.options.sampleRate)
                .features(samples: [Float](repeating: 0, count: channels * length), channels: channels).frames
        }
        var frames = 0
        if case .success(let first)?? = results.first { frames = first.frames } else { frames = try silentFrames() }
        let dims = options.dims
        let rowShape = channels == 1 ? [frames, dims] : [channels, frames, dims]
        let writer = try NPYStreamWriter(path: url.path, rowShape: rowShape, durability: .renameOnly)
        for result in results {
            switch result {
            case .success(let chunk)?: try writer.append(rows: chunk.values)
            case .failure(let error)?: throw error
            case nil: break  // not started after another task failed; that failure is thrown above
            }
        }
        try writer.finish()
        return FeatureOutput(
            source: array.path, output: url.lastPathComponent, sampleRate: rates.first ?? options.sampleRate,
            channels: channels, windows: array.rowCount, frames: frames, shape: [writer.rowCount] + rowShape,
            seconds: seconds, reused: false)
    }

    // MARK: features.json

    /// Creates the output folder, decides whether existing outputs may be kept (same fingerprint, no `--force`)
    /// and writes the `running` document.
    private func prepare(_ document: inout FeaturesDocument) throws -> Bool {
        try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)
        var keep = false
        if !force, let data = try? Data(contentsOf: documentURL),
            let previous = try? JSONDecoder().decode(FeaturesFingerprint.self, from: data)
        {
            keep = previous.fingerprint == document.fingerprint
            if !keep && !quiet {
                printError("features: \(documentURL.path) was made with other options; recomputing every output")
            }
        }
        document.status = "running"
        try AtomicFile.write(try FeaturesDocument.encoder.encode(document), to: documentURL, durability: .renameOnly)
        return keep
    }

    /// Syncs every output, then writes the complete document.
    private func finish(_ document: FeaturesDocument) throws {
        var document = document
        document.status = "complete"
        AtomicFile.syncAll()
        try AtomicFile.write(try FeaturesDocument.encoder.encode(document), to: documentURL)
    }
}

/// One `FeatureExtractor` per sample rate met, built once (FFTW planning and the mel bank) and shared by threads.
final class ExtractorCache: @unchecked Sendable {  // `cache` is guarded by `lock`; extractors are thread-safe values
    let options: FeatureOptions
    private let lock = NSLock()
    private var cache: [Double: Result<FeatureExtractor, SpectralError>] = [:]

    init(options: FeatureOptions) { self.options = options }

    /// The extractor for `options` at `sampleRate`.
    ///
    /// - Throws: the `SpectralError` of `FeatureExtractor(options:)` (e.g. an empty mel band at this rate).
    func extractor(sampleRate: Double) throws(SpectralError) -> FeatureExtractor {
        let result = lock.withLock {
            if let cached = cache[sampleRate] { return cached }
            var options = self.options
            options.sampleRate = sampleRate
            let made = Result { () throws(SpectralError) in try FeatureExtractor(options: options) }
            cache[sampleRate] = made
            return made
        }
        return try result.get()
    }
}

/// `error`'s message, prefixed with `path` unless it names it already (AudioIO errors do).
func describe(_ error: Error, at path: String) -> String {
    let message = "\(error)"
    return message.contains(path) ? message : "\(path): \(message)"
}

/// The one field of an earlier `features.json` that decides whether its outputs can be kept.
struct FeaturesFingerprint: Decodable {
    let fingerprint: String
}

/// A runtime failure of `features` that has already been described (exit 1).
struct FeaturesFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// What `features` did, for the closing summary.
struct FeaturesSummary: CustomStringConvertible {
    /// `file` or `array`.
    let unit: String
    var outputs = 0
    var reused = 0
    var failed = 0
    var windows = 0
    var frames = 0
    /// Seconds of audio computed (not counting reused outputs).
    var seconds = 0.0
    var elapsed = 0.0

    mutating func add(_ output: FeatureOutput) {
        outputs += 1
        windows += output.windows ?? 0
        frames += output.frames * max(output.windows ?? 1, 1) * output.channels
        if output.reused { reused += 1 } else { seconds += output.seconds }
    }

    var description: String {
        var parts = [outputs == 1 ? "1 \(unit)" : "\(outputs) \(unit)s"]
        if unit == "array" { parts.append("\(windows) windows") }
        parts.append("\(frames) frames")
        if reused > 0 { parts.append("\(reused) already done") }
        if failed > 0 { parts.append("\(failed) failed") }
        parts.append(
            String(
                format: "%.1f s of audio computed in %.2f s (%.0f× real time)", seconds, elapsed,
                elapsed > 0 ? seconds / elapsed : 0))
        return "features: " + parts.joined(separator: ", ")
    }
}
