import AudioIO
import Foundation
import Windowing

/// What cropping one file produced.
struct CropOutcome: Sendable {
    var windows: Int
    /// Seconds of signal read.
    var seconds: Double
    /// `true` when the output already existed and was kept (a resumed run).
    var reused: Bool
    /// This file's `manifest.csv` lines (read from its manifest part when `reused`).
    var manifestLines: String
}

/// The per-file work of `seqtool crop`: read (streaming for audio), frame, write the array or clips and a
/// manifest part. Every file it creates is written under a temporary name and renamed when complete; the manifest
/// part is renamed last, so its presence marks the file as done for a resumed run (a killed run never leaves a
/// partial file; durability against power loss comes from one file-system sync before the manifest is written).
struct CropJob: Sendable {
    let outFolder: URL
    let window: TimeSpan
    let overlap: Double?
    let hop: TimeSpan?
    let boundary: BoundaryMode
    let format: OutputFormat
    let csvOptions: SensorCSVOptions
    let allowTruncated: Bool
    let force: Bool

    /// Audio is read in blocks of this many frames, so memory stays bounded whatever the file's length.
    static let blockFrames = 1 << 16

    static let manifestHeader =
        "array,row,source,label,segment,first_sample,start_seconds,center_seconds,pad_left,pad_right,sample_rate"

    var arraysFolder: URL { outFolder.appendingPathComponent("arrays") }
    var clipsFolder: URL { outFolder.appendingPathComponent("clips") }
    var partsFolder: URL { outFolder.appendingPathComponent("manifest.d") }

    /// The frame options for a file at `sampleRate`: window and hop rounded to whole samples, the hop from
    /// `--hop`, or `round(window × (1 − overlap))`, or the window length (no overlap).
    func frameOptions(sampleRate: Double) throws -> FrameOptions {
        let length = window.samples(at: sampleRate)
        let hopSamples: Int
        if let hop {
            hopSamples = hop.samples(at: sampleRate)
        } else {
            hopSamples = Int((Double(length) * (1 - (overlap ?? 0))).rounded())
        }
        return try FrameOptions(length: length, hop: max(hopSamples, 1), boundary: boundary)
    }

    /// Creates the output folders (once, before the files are cropped in parallel) and returns the names of the
    /// files whose manifest part shows them finished by an earlier run (empty with `force`).
    func prepareFolders() throws -> Set<String> {
        let fm = FileManager.default
        try fm.createDirectory(at: partsFolder, withIntermediateDirectories: true)
        try fm.createDirectory(at: format == .npy ? arraysFolder : clipsFolder, withIntermediateDirectories: true)
        guard !force else { return [] }
        let parts = try fm.contentsOfDirectory(atPath: partsFolder.path).filter { $0.hasSuffix(".csv") }
        return Set(parts.map { String($0.dropLast(4)) })
    }

    /// Crops one file; returns what it wrote, or what an earlier run wrote when `finished` holds its name.
    func crop(_ file: InputFile, name: String, finished: Bool) throws -> CropOutcome {
        let part = partsFolder.appendingPathComponent(name + ".csv")
        if finished, let reused = existingOutcome(part: part) { return reused }
        let rows: [ManifestRow]
        let seconds: Double
        switch file.kind {
        case .audio: (rows, seconds) = try cropAudio(file, name: name)
        case .sensorCSV: (rows, seconds) = try cropSensor(file, name: name)
        }
        let text = rows.map(\.csvLine).joined(separator: "\n") + (rows.isEmpty ? "" : "\n")
        let summary = "# windows=\(rows.count) seconds=\(seconds)\n"
        try AtomicFile.write(Data((summary + text).utf8), to: part, durability: .renameOnly)
        return CropOutcome(windows: rows.count, seconds: seconds, reused: false, manifestLines: text)
    }

    /// The outcome recorded in a finished file's manifest part, or `nil` when the part is unreadable.
    private func existingOutcome(part: URL) -> CropOutcome? {
        guard let text = try? String(contentsOf: part, encoding: .utf8), text.hasPrefix("# windows="),
            let newline = text.firstIndex(of: "\n")
        else { return nil }
        var windows: Int?
        var seconds: Double?
        for field in text[..<newline].dropFirst(2).split(separator: " ") {
            let pair = field.split(separator: "=")
            guard pair.count == 2 else { continue }
            if pair[0] == "windows" { windows = Int(pair[1]) }
            if pair[0] == "seconds" { seconds = Double(pair[1]) }
        }
        guard let windows, let seconds else { return nil }
        let lines = String(text[text.index(after: newline)...])
        return CropOutcome(windows: windows, seconds: seconds, reused: true, manifestLines: lines)
    }

    // MARK: Audio

    private func cropAudio(_ file: InputFile, name: String) throws -> ([ManifestRow], Double) {
        let reader = try AudioStreamReader(path: file.path, allowTruncated: allowTruncated)
        for warning in reader.warnings { printError("warning: \(warning)") }
        let rate = Double(reader.info.sampleRate)
        let options = try frameOptions(sampleRate: rate)
        var framer = try StreamingFramer(options, channels: reader.info.channels)
        let sink = try WindowSink(
            job: self, name: name, channels: reader.info.channels, length: options.length, sampleRate: rate,
            channelNames: nil)
        var rows: [ManifestRow] = []
        func emit(_ batch: FrameBatch) throws {
            try sink.write(batch)
            for p in batch.provenance {
                rows.append(
                    ManifestRow(
                        array: sink.arrayName, row: rows.count, source: file.path, label: file.label, segment: 0,
                        provenance: p, sampleRate: rate, timeOffset: 0))
            }
        }
        var frames = 0
        while let block = try reader.read(maxFrames: Self.blockFrames) {
            frames += block.frames
            try emit(try framer.push(block.samples))
        }
        try emit(try framer.finish())
        try sink.finish()
        return (rows, Double(frames) / rate)
    }

    // MARK: Sensor CSV

    private func cropSensor(_ file: InputFile, name: String) throws -> ([ManifestRow], Double) {
        let recording = try SensorCSV.read(path: file.path, options: csvOptions)
        let rate = recording.sampleRate
        let options = try frameOptions(sampleRate: rate)
        let channels = recording.channelNames.count
        let sink = try WindowSink(
            job: self, name: name, channels: channels, length: options.length, sampleRate: rate,
            channelNames: recording.channelNames)
        let framer = Framer(options)
        let origin = recording.segments.first?.startTime ?? 0
        var rows: [ManifestRow] = []
        for (s, segment) in recording.segments.enumerated() {
            let batch = try framer.frames(of: segment.signal.samples, channels: channels)
            try sink.write(batch)
            let offset =
                (segment.startTime ?? origin) - origin
                + (segment.startTime == nil ? Double(segment.range.lowerBound) / rate : 0)
            for p in batch.provenance {
                rows.append(
                    ManifestRow(
                        array: sink.arrayName, row: rows.count, source: file.path, label: file.label, segment: s,
                        provenance: p, sampleRate: rate, timeOffset: offset))
            }
        }
        try sink.finish()
        return (rows, Double(recording.frames) / rate)
    }

    // MARK: Names and manifest

    /// Output names for the inputs: the path below the argument it was found under, without extension, folders
    /// kept as `__` (`zero/ava_0.wav` → `zero__ava_0`); clashes get `-2`, `-3`, ….
    static func outputNames(for files: [InputFile]) -> [String] {
        var used: [String: Int] = [:]
        return files.map { file in
            let stem = (file.relativeName as NSString).deletingPathExtension
            let base = stem.split(separator: "/").joined(separator: "__")
                .map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? String($0) : "_" }.joined()
            let n = (used[base] ?? 0) + 1
            used[base] = n
            return n == 1 ? base : "\(base)-\(n)"
        }
    }

    /// Syncs every output to disk, then writes the manifest lines of the files in input order as `manifest.csv`
    /// (atomically, synced): a manifest on disk means every array it names is on disk too.
    ///
    /// Arrays and parts are committed with `.renameOnly` (one `fsync` per file cost 3–5 ms, more than cropping
    /// the file), so this one `sync` is what makes the run durable against a power failure.
    func writeManifest(outcomes: [CropOutcome]) throws {
        AtomicFile.syncAll()
        let text = Self.manifestHeader + "\n" + outcomes.map(\.manifestLines).joined()
        try AtomicFile.write(Data(text.utf8), to: outFolder.appendingPathComponent("manifest.csv"))
    }
}

/// One window's line in `manifest.csv`.
struct ManifestRow {
    var array: String
    var row: Int
    var source: String
    var label: String?
    var segment: Int
    var provenance: WindowProvenance
    var sampleRate: Double
    /// Seconds from the file's first sample to its segment's first sample.
    var timeOffset: Double

    var csvLine: String {
        let start = timeOffset + provenance.startSeconds(sampleRate: sampleRate)
        let center = timeOffset + provenance.centerSeconds(sampleRate: sampleRate)
        return [
            csvField(array), String(row), csvField(source), csvField(label ?? ""), String(segment),
            String(provenance.firstSample), String(format: "%.6f", start), String(format: "%.6f", center),
            String(provenance.padLeft), String(provenance.padRight), formatNumber(sampleRate),
        ].joined(separator: ",")
    }
}

/// Quotes a CSV field when it holds a comma, quote or newline (RFC 4180).
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// `16000` for whole numbers, `0.1` otherwise.
func formatNumber(_ value: Double) -> String {
    value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
}

/// Where one file's windows go: a streaming `.npy` `[windows, channels, length]`, or one WAV clip per window.
final class WindowSink {
    let arrayName: String
    private let npy: NPYStreamWriter?
    private let clipFolder: URL?
    private let temporaryClipFolder: URL?
    private let channels: Int
    private let length: Int
    private let sampleRate: Double
    private let channelNames: [String]?
    private var count = 0

    init(job: CropJob, name: String, channels: Int, length: Int, sampleRate: Double, channelNames: [String]?) throws {
        self.channels = channels
        self.length = length
        self.sampleRate = sampleRate
        self.channelNames = channelNames
        switch job.format {
        case .npy:
            arrayName = "arrays/\(name).npy"
            npy = try NPYStreamWriter(
                path: job.arraysFolder.appendingPathComponent(name + ".npy").path, rowShape: [channels, length],
                durability: .renameOnly)
            clipFolder = nil
            temporaryClipFolder = nil
        case .wav:
            guard sampleRate.rounded() == sampleRate, sampleRate >= 1 else {
                throw AudioIOError.invalidParameter(
                    name: "--format wav", value: "\(sampleRate) Hz",
                    reason: "WAV needs a whole-number sample rate; use --format npy for this file")
            }
            arrayName = "clips/\(name)"
            npy = nil
            let folder = job.clipsFolder.appendingPathComponent(name)
            let temporary = job.clipsFolder.appendingPathComponent(".\(name).tmp-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
            clipFolder = folder
            temporaryClipFolder = temporary
        }
    }

    deinit {
        if let temporaryClipFolder { try? FileManager.default.removeItem(at: temporaryClipFolder) }
    }

    func write(_ batch: FrameBatch) throws {
        if let npy {
            try npy.append(rows: batch.samples)
        } else if let temporaryClipFolder {
            for w in 0..<batch.count {
                let start = w * channels * length
                let clip = try Signal(
                    samples: Array(batch.samples[start..<(start + channels * length)]), channels: channels,
                    sampleRate: sampleRate, channelNames: channelNames)
                let url = temporaryClipFolder.appendingPathComponent(String(format: "%06d.wav", count + w))
                try AudioFile.write(clip, to: url.path, format: .wav, sampleFormat: .float32, durability: .renameOnly)
            }
        }
        count += batch.count
    }

    func finish() throws {
        if let npy { try npy.finish() }
        if let clipFolder, let temporaryClipFolder {
            let fm = FileManager.default
            if fm.fileExists(atPath: clipFolder.path) { try fm.removeItem(at: clipFolder) }
            try fm.moveItem(at: temporaryClipFolder, to: clipFolder)
        }
    }
}
