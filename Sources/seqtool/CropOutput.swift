import AudioIO
import Foundation
import Windowing

/// The `.npy` arrays of one shard: one streaming writer per distinct window shape `[channels, length]`, in order
/// of first use (`arrays/shard-00000.npy`, then `arrays/shard-00000-2x8000.npy` if a file of another shape
/// follows). With `--format wav` it holds no arrays and each file gets a folder of clips instead.
final class ShardArrays {
    /// Where a shard's writers stood before a file started: restoring it removes that file's windows.
    struct Mark {
        fileprivate let rows: [Int]
    }

    private let job: CropJob
    private let shard: String
    private var writers: [(shape: [Int], name: String, writer: NPYStreamWriter)] = []

    init(job: CropJob, shard: String) {
        self.job = job
        self.shard = shard
    }

    func mark() -> Mark { Mark(rows: writers.map(\.writer.rowCount)) }

    /// Drops every row written since `mark`, and every array first opened since then (its temporary file goes).
    func rollBack(to mark: Mark) throws {
        writers.removeSubrange(mark.rows.count...)
        for (writer, rows) in zip(writers.map(\.writer), mark.rows) where writer.rowCount > rows {
            try writer.truncate(toRows: rows)
        }
    }

    /// Finishes (renames into place) every array of the shard.
    func finish() throws {
        for entry in writers { try entry.writer.finish() }
    }

    /// Where the windows of the file `name` go.
    func sink(
        for name: String, channels: Int, length: Int, sampleRate: Double, channelNames: [String]? = nil
    ) throws -> WindowSink {
        switch job.format {
        case .npy:
            let shape = [channels, length]
            if let entry = writers.first(where: { $0.shape == shape }) {
                return WindowSink(npy: entry.writer, arrayName: entry.name)
            }
            let file = writers.isEmpty ? "\(shard).npy" : "\(shard)-\(channels)x\(length).npy"
            let writer = try NPYStreamWriter(
                path: job.arraysFolder.appendingPathComponent(file).path, rowShape: shape,
                durability: job.outputDurability)
            writers.append((shape, "arrays/\(file)", writer))
            return WindowSink(npy: writer, arrayName: "arrays/\(file)")
        case .wav:
            return try WindowSink(
                clipsIn: job.clipsFolder, name: name, sampleRate: sampleRate, channelNames: channelNames)
        }
    }
}

/// Where one file's windows go: rows of a shard's `.npy`, or one WAV clip per window in `clips/<name>/`.
final class WindowSink {
    /// The manifest's `array` column: `arrays/shard-00000.npy` or `clips/<name>`.
    let arrayName: String
    private let npy: NPYStreamWriter?
    private let clipFolder: URL?
    private let temporaryClipFolder: URL?
    private let sampleRate: Double
    private let channelNames: [String]?
    private var clips = 0

    init(npy: NPYStreamWriter, arrayName: String) {
        self.npy = npy
        self.arrayName = arrayName
        clipFolder = nil
        temporaryClipFolder = nil
        sampleRate = 0
        channelNames = nil
    }

    /// Clips are written into a hidden temporary folder, renamed onto `clips/<name>` by ``finish()``.
    init(clipsIn folder: URL, name: String, sampleRate: Double, channelNames: [String]?) throws {
        guard sampleRate.rounded() == sampleRate, sampleRate >= 1 else {
            throw AudioIOError.invalidParameter(
                name: "--format wav", value: "\(sampleRate) Hz",
                reason: "WAV needs a whole-number sample rate; use --format npy for this file")
        }
        npy = nil
        arrayName = "clips/\(name)"
        self.sampleRate = sampleRate
        self.channelNames = channelNames
        clipFolder = folder.appendingPathComponent(name)
        let temporary = folder.appendingPathComponent(".\(name).tmp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
        temporaryClipFolder = temporary
    }

    deinit {
        if let temporaryClipFolder { try? FileManager.default.removeItem(at: temporaryClipFolder) }
    }

    /// Writes the windows; returns each window's row in its array (or its clip number).
    func write(_ batch: FrameBatch) throws -> Range<Int> {
        if let npy {
            let first = npy.rowCount
            try npy.append(rows: batch.samples)
            return first..<npy.rowCount
        }
        guard let temporaryClipFolder else { return 0..<0 }
        let size = batch.channels * batch.length
        for w in 0..<batch.count {
            let clip = try Signal(
                samples: Array(batch.samples[(w * size)..<((w + 1) * size)]), channels: batch.channels,
                sampleRate: sampleRate, channelNames: channelNames)
            let url = temporaryClipFolder.appendingPathComponent(String(format: "%06d.wav", clips + w))
            try AudioFile.write(clip, to: url.path, format: .wav, sampleFormat: .float32, durability: .renameOnly)
        }
        clips += batch.count
        return (clips - batch.count)..<clips
    }

    /// Renames the clip folder into place (arrays are finished by their shard).
    func finish() throws {
        guard let clipFolder, let temporaryClipFolder else { return }
        let fm = FileManager.default
        if fm.fileExists(atPath: clipFolder.path) { try fm.removeItem(at: clipFolder) }
        try fm.moveItem(at: temporaryClipFolder, to: clipFolder)
    }
}
