import AudioIO
import Foundation
import Windowing

/// What cropping one shard (a run of consecutive input files) produced.
struct ShardOutcome: Sendable {
    /// Files cropped (or found cropped by an earlier run).
    var files: Int
    /// Files that failed and were skipped (`--on-error skip`).
    var failed: [(path: String, message: String)]
    var windows: Int
    /// Seconds of signal read.
    var seconds: Double
    /// `true` when an earlier run had finished this shard and it was kept as it was.
    var reused: Bool
    /// The shard's `manifest.csv` lines.
    var manifestLines: String
}

/// A run of consecutive input files whose windows share output arrays and one manifest part.
struct ShardPlan: Sendable {
    /// `shard-00003`, or the file's own output name when a shard holds one file.
    let name: String
    let files: Range<Int>
}

/// How `crop` labels sensor windows from per-sample labels.
struct SensorLabelling: Sendable {
    /// Intervals per data file (NAB `combined_windows.json` keys, or `*` for a CSV of intervals for every file).
    var intervals: [String: [AudioIO.LabelInterval]]?
    var intervalsPath: String?
    var reduction: LabelReduction
    /// The label of samples outside every interval, and the fallback of `any`, `all` and `fraction`.
    var background: String
}

/// The per-shard work of `seqtool crop`: read each file (audio streamed in blocks), frame it, append its windows
/// to the shard's arrays (or write WAV clips), and write the shard's manifest part.
///
/// Every file it creates is written under a temporary name and renamed when complete; the manifest part is renamed
/// last, so its presence marks the shard as done for a resumed run (a killed run never leaves a partial file).
/// Durability against power loss: the arrays are flushed to disk in the background as they grow, and each shard's
/// files when it is finished, while the cropping goes on; `manifest.csv` is written once they all are (see
/// ``writeManifest(outcomes:createdFolders:)``). A file that fails half-way is rolled back out of the shard's arrays.
struct CropJob: Sendable {
    let outFolder: URL
    let window: TimeSpan
    let overlap: Double?
    let hop: TimeSpan?
    let boundary: BoundaryMode
    let format: OutputFormat
    let csvOptions: SensorCSVOptions
    let labelling: SensorLabelling
    let allowTruncated: Bool
    let stopOnError: Bool
    /// Flushes the outputs to disk while the run goes on; `nil` with `--no-sync`.
    let durable: AtomicFile.BackgroundSync?
    /// Everything that changes a shard's content, so a resumed run with other options redoes the shard (made once:
    /// describing the options by reflection took longer than cropping a file).
    let optionsFingerprint: String

    init(
        outFolder: URL, window: TimeSpan, overlap: Double?, hop: TimeSpan?, boundary: BoundaryMode,
        format: OutputFormat, csvOptions: SensorCSVOptions, labelling: SensorLabelling, allowTruncated: Bool,
        stopOnError: Bool, durable: AtomicFile.BackgroundSync?
    ) {
        self.outFolder = outFolder
        self.window = window
        self.overlap = overlap
        self.hop = hop
        self.boundary = boundary
        self.format = format
        self.csvOptions = csvOptions
        self.labelling = labelling
        self.allowTruncated = allowTruncated
        self.stopOnError = stopOnError
        self.durable = durable
        optionsFingerprint = [
            "\(window)", "\(overlap.map { "\($0)" } ?? "-")", "\(hop.map { "\($0)" } ?? "-")", "\(boundary)",
            format.rawValue, "\(csvOptions)", "\(labelling.reduction)", labelling.background,
            labelling.intervalsPath ?? "-", "\(allowTruncated)",
        ].joined(separator: "|")
    }

    /// How arrays and manifest parts are committed: flushed by ``durable`` in the background, or (`--no-sync`)
    /// only renamed.
    var outputDurability: AtomicFile.Durability { durable.map { .background($0) } ?? .renameOnly }

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

    // MARK: Shards

    /// Splits `count` files into shards of `filesPerShard` consecutive files; a one-file shard takes the file's
    /// output name (`zero__ava_0`), a larger one `shard-00000`, `shard-00001`, ….
    static func plan(names: [String], filesPerShard: Int) -> [ShardPlan] {
        stride(from: 0, to: names.count, by: filesPerShard).enumerated().map { index, start in
            let files = start..<min(start + filesPerShard, names.count)
            let name = filesPerShard == 1 ? names[start] : String(format: "shard-%05d", index)
            return ShardPlan(name: name, files: files)
        }
    }

    /// Creates the output folders (once, before the shards run in parallel) and returns the names of the
    /// manifest parts an earlier run finished (none with `force`).
    func prepareFolders(force: Bool) throws -> Set<String> {
        let fm = FileManager.default
        try fm.createDirectory(at: partsFolder, withIntermediateDirectories: true)
        try fm.createDirectory(at: format == .npy ? arraysFolder : clipsFolder, withIntermediateDirectories: true)
        guard !force else { return [] }
        let parts = try fm.contentsOfDirectory(atPath: partsFolder.path).filter { $0.hasSuffix(".csv") }
        return Set(parts.map { String($0.dropLast(4)) })
    }

    /// Crops the files of one shard, or returns what an earlier run recorded for it when `finished` and the
    /// recorded inputs and options are the same. `progress` is called after each file.
    func crop(
        shard: ShardPlan, files: [InputFile], names: [String], finished: Bool, progress: () -> Void
    ) throws -> ShardOutcome {
        let part = partsFolder.appendingPathComponent(shard.name + ".csv")
        let digest = Self.digest(files[shard.files].map(\.path) + [optionsFingerprint])
        if finished, let reused = existingOutcome(part: part, digest: digest) {
            for _ in shard.files { progress() }
            // Written by an earlier run, which may have been stopped before it made them durable.
            durable?.fallBackToSyncAll()
            return reused
        }
        let arrays = ShardArrays(job: self, shard: shard.name)
        var outcome = ShardOutcome(files: 0, failed: [], windows: 0, seconds: 0, reused: false, manifestLines: "")
        var lines: [String] = []
        for i in shard.files {
            defer { progress() }
            let mark = arrays.mark()
            let linesBefore = lines.count
            do {
                let seconds = try cropFile(files[i], name: names[i], arrays: arrays, lines: &lines)
                outcome.files += 1
                outcome.seconds += seconds
            } catch {
                try arrays.rollBack(to: mark)
                lines.removeSubrange(linesBefore...)
                if stopOnError { throw error }
                outcome.failed.append((files[i].path, "\(error)"))
            }
        }
        try arrays.finish()
        outcome.windows = lines.count
        outcome.manifestLines = lines.map { $0 + "\n" }.joined()
        var header = "# shard files=\(outcome.files) failed=\(outcome.failed.count) windows=\(outcome.windows)"
        header += " seconds=\(outcome.seconds) digest=\(digest)\n"
        try AtomicFile.write(Data((header + outcome.manifestLines).utf8), to: part, durability: outputDurability)
        // A clip file per window: one file-system sync at the end beats a flush each.
        if format == .wav { durable?.fallBackToSyncAll() }
        return outcome
    }

    /// The outcome an earlier run recorded in a shard's manifest part, or `nil` when the part is unreadable or
    /// was made from other inputs or options.
    private func existingOutcome(part: URL, digest: String) -> ShardOutcome? {
        guard let text = try? String(contentsOf: part, encoding: .utf8), text.hasPrefix("# shard "),
            let newline = text.firstIndex(of: "\n")
        else { return nil }
        var fields: [Substring: Substring] = [:]
        for field in text[..<newline].dropFirst(8).split(separator: " ") {
            let pair = field.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[pair[0]] = pair[1] }
        }
        guard fields["digest"].map(String.init) == digest, let files = fields["files"].flatMap({ Int($0) }),
            let windows = fields["windows"].flatMap({ Int($0) }),
            let seconds = fields["seconds"].flatMap({ Double($0) })
        else { return nil }
        return ShardOutcome(
            files: files, failed: [], windows: windows, seconds: seconds, reused: true,
            manifestLines: String(text[text.index(after: newline)...]))
    }

    /// FNV-1a 64 of the strings, as 16 hex digits: identifies a shard's inputs and options.
    static func digest(_ parts: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 + [0] {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
        }
        return String(format: "%016llx", hash)
    }

    // MARK: Files

    /// Crops one file into the shard; appends its manifest lines; returns the seconds of signal read.
    private func cropFile(
        _ file: InputFile, name: String, arrays: ShardArrays, lines: inout [String]
    ) throws
        -> Double
    {
        switch file.kind {
        case .audio: return try cropAudio(file, name: name, arrays: arrays, lines: &lines)
        case .sensorCSV: return try cropSensor(file, name: name, arrays: arrays, lines: &lines)
        }
    }

    private func cropAudio(
        _ file: InputFile, name: String, arrays: ShardArrays, lines: inout [String]
    ) throws
        -> Double
    {
        let reader = try AudioStreamReader(path: file.path, allowTruncated: allowTruncated)
        let rate = Double(reader.info.sampleRate)
        let options = try frameOptions(sampleRate: rate)
        var framer = try StreamingFramer(options, channels: reader.info.channels)
        let sink = try arrays.sink(for: name, channels: reader.info.channels, length: options.length, sampleRate: rate)
        func emit(_ batch: FrameBatch) throws {
            let rows = try sink.write(batch)
            for (p, row) in zip(batch.provenance, rows) {
                lines.append(
                    ManifestRow(
                        array: sink.arrayName, row: row, source: file.path, label: file.label, segment: 0,
                        provenance: p, sampleRate: rate, timeOffset: 0
                    ).csvLine)
            }
        }
        var frames = 0
        while let block = try reader.read(maxFrames: Self.blockFrames) {
            frames += block.frames
            try emit(try framer.push(block.samples))
        }
        try emit(try framer.finish())
        try sink.finish()
        // After the last block: a cut FLAC or Ogg file is only found out when decoding reaches the cut.
        for warning in reader.warnings { printError("warning: \(warning)") }
        return Double(frames) / rate
    }

    private func cropSensor(
        _ file: InputFile, name: String, arrays: ShardArrays, lines: inout [String]
    ) throws
        -> Double
    {
        let recording = try SensorCSV.read(path: file.path, options: csvOptions)
        let rate = recording.sampleRate
        let options = try frameOptions(sampleRate: rate)
        let channels = recording.channelNames.count
        let sink = try arrays.sink(
            for: name, channels: channels, length: options.length, sampleRate: rate,
            channelNames: recording.channelNames)
        let sampleLabels = try self.sampleLabels(for: file, recording: recording)
        let framer = Framer(options)
        let origin = recording.timestamps?.first ?? 0
        for (s, segment) in recording.segments.enumerated() {
            let batch = try framer.frames(of: segment.signal.samples, channels: channels)
            let rows = try sink.write(batch)
            let windowLabels = try sampleLabels.map { labels in
                try labelling.reduction.apply(
                    to: Array(labels[segment.range]), windows: batch.provenance, background: labelling.background)
            }
            let offset =
                segment.startTime.map { $0 - origin } ?? Double(segment.range.lowerBound) / rate
            for (w, (p, row)) in zip(batch.provenance, rows).enumerated() {
                lines.append(
                    ManifestRow(
                        array: sink.arrayName, row: row, source: file.path, label: windowLabels?[w] ?? file.label,
                        segment: s, provenance: p, sampleRate: rate, timeOffset: offset
                    ).csvLine)
            }
        }
        try sink.finish()
        return Double(recording.frames) / rate
    }

    /// Per-sample labels of a sensor file: from `--label-intervals` when given, else its label column, else none.
    private func sampleLabels(for file: InputFile, recording: SensorRecording) throws -> [String]? {
        guard let intervals = labelling.intervals else { return recording.labels }
        let keys = [IntervalLabels.nabKey(forDataFile: file.path), (file.path as NSString).lastPathComponent, "*"]
        guard let own = keys.lazy.compactMap({ intervals[$0] }).first else {
            throw AudioIOError.badEntry(
                path: labelling.intervalsPath ?? "--label-intervals", key: keys[0],
                reason: "no intervals for \(file.path) (looked up '\(keys[0])' and '\(keys[1])')")
        }
        guard let timestamps = recording.timestamps else {
            throw AudioIOError.badHeader(
                path: file.path, reason: "--label-intervals needs a timestamp column to place the intervals")
        }
        return IntervalLabels.sampleLabels(timestamps: timestamps, intervals: own, outside: labelling.background)
    }

    // MARK: Names and manifest

    /// Output names for the inputs: the path below the argument it was found under, without extension, folders
    /// kept as `__` (`zero/ava_0.wav` → `zero__ava_0`); clashes get `-2`, `-3`, ….
    static func outputNames(for files: [InputFile]) -> [String] {
        var used: [String: Int] = [:]
        return files.map { file in
            let stem = InputExpander.deletingPathExtension(file.relativeName)
            let base = safeName(stem.split(separator: "/").joined(separator: "__"))
            let n = (used[base] ?? 0) + 1
            used[base] = n
            return n == 1 ? base : "\(base)-\(n)"
        }
    }

    /// `text` with every character but letters, digits, `-`, `_` and `.` replaced by `_` (ASCII text byte by byte,
    /// which is what file names nearly always are; per `Character` otherwise).
    static func safeName(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 }) else {
            return text.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? String($0) : "_" }.joined()
        }
        let kept = bytes.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return byte
            default:
                return UInt8(ascii: "_")
            }
        }
        return String(decoding: kept, as: UTF8.self)
    }

    /// Waits until every output is on disk, then writes the manifest lines of the shards in input order as
    /// `manifest.csv` (atomically, synced): a manifest on disk means every array it names is on disk too.
    ///
    /// Arrays and parts are flushed by ``durable`` in the background (a flush per file on the cropping threads
    /// cost 3–5 ms each, more than cropping the file), so this wait is what makes the run durable against a power
    /// failure. With `--no-sync` (`durable` is `nil`) nothing is flushed: the outputs are still never partial, but
    /// a power failure may lose recent ones, as with `numpy.save`.
    /// - Parameter createdFolders: folders this run created above the output folder, and the folder holding them
    ///   (``missingAncestors(of:)`` before ``prepareFolders(force:)``), flushed too.
    /// - Throws: `AudioIOError.ioFailure` when an output could not be flushed or the manifest written.
    func writeManifest(outcomes: [ShardOutcome], createdFolders: [URL] = []) throws {
        let text = Self.manifestHeader + "\n" + outcomes.map(\.manifestLines).joined()
        let manifest = outFolder.appendingPathComponent("manifest.csv")
        guard let durable else {
            try AtomicFile.write(Data(text.utf8), to: manifest, durability: .renameOnly)
            return
        }
        var folders = [format == .npy ? arraysFolder : clipsFolder, partsFolder, outFolder].map(\.path)
        for folder in createdFolders.map(\.path) where !folders.contains(folder) { folders.append(folder) }
        try durable.finish(folders: folders)
        try AtomicFile.write(Data(text.utf8), to: manifest)
    }

    /// `folder` and its ancestors that do not exist yet, deepest first, then the existing folder that will hold
    /// the topmost: the folders whose entries creating `folder` changes.
    static func missingAncestors(of folder: URL) -> [URL] {
        var result: [URL] = []
        var current = folder.standardizedFileURL
        while !FileManager.default.fileExists(atPath: current.path) {
            result.append(current)
            let parent = current.deletingLastPathComponent()
            if parent.path == current.path { break }
            current = parent
        }
        if !result.isEmpty { result.append(current) }
        return result
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
        var line = csvField(array)
        for field in [
            String(row), csvField(source), csvField(label ?? ""), String(segment), String(provenance.firstSample),
            fixedPoint6(start), fixedPoint6(center), String(provenance.padLeft), String(provenance.padRight),
            formatNumber(sampleRate),
        ] {
            line += ","
            line += field
        }
        return line
    }
}

/// Quotes a CSV field when it holds a comma, quote or newline (RFC 4180).
func csvField(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A }) else {
        return text
    }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// `String(format: "%.6f", value)`: the value rounded to 6 decimals, as C's `printf` rounds it.
///
/// Computed with integers when the rounding is certain (the value × 10⁶ is more than one ulp from a half-way point,
/// and below 2⁵²), which is every time stamp in practice; otherwise formatted by Foundation. Twice per manifest
/// line, Foundation's formatter alone cost more than cropping the file.
func fixedPoint6(_ value: Double) -> String {
    let scaled = value * 1e6
    let fraction = scaled - scaled.rounded(.down)
    guard scaled.magnitude < 0x1p52, abs(fraction - 0.5) > scaled.ulp else { return String(format: "%.6f", value) }
    let units = Int64(scaled.magnitude.rounded())
    let whole = String(units / 1_000_000)
    let decimals = String(units % 1_000_000)
    let sign = value.sign == .minus ? "-" : ""
    return sign + whole + "." + String(repeating: "0", count: 6 - decimals.count) + decimals
}

/// `16000` for whole numbers, `0.1` otherwise.
func formatNumber(_ value: Double) -> String {
    value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
}
