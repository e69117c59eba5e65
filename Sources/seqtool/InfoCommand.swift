import ArgumentParser
import AudioIO
import Foundation

/// `seqtool info FILE...`: a table of what each audio or sensor file holds, and what is wrong with it.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show format, rate, channels, frames, duration and problems of audio and sensor files.",
        discussion: """
            Audio is read through libsndfile (WAV, FLAC, Ogg Vorbis/Opus, AIFF, …); `.csv` files as sensor logs \
            (timestamps, rate inferred, gaps reported). Exits 1 when a file cannot be read at all; a truncated \
            file or a gap is listed under PROBLEMS and does not change the exit code.
            """
    )

    @Argument(help: "Audio or sensor CSV files, folders (searched recursively) or glob patterns.")
    var inputs: [String]

    @Flag(help: "One JSON object per file instead of the table.")
    var json = false

    func run() throws {
        let files = try InputExpander.expand(inputs, labels: .none)
        let rows = files.map { Self.describe($0) }
        if json {
            for row in rows { print(row.jsonLine) }
        } else {
            print(InfoRow.table(rows))
        }
        if rows.contains(where: { $0.failed }) { throw ExitCode(1) }
    }

    static func describe(_ file: InputFile) -> InfoRow {
        do {
            switch file.kind {
            case .audio:
                let info = try AudioFile.info(path: file.path)
                var problems: [String] = []
                if let declared = info.declaredFrames, info.isTruncated {
                    problems.append("truncated: \(info.frames) of \(declared) frames present")
                }
                return InfoRow(
                    path: file.path, format: "\(info.format)/\(info.subtype)", sampleRate: Double(info.sampleRate),
                    channels: info.channels, frames: info.frames, duration: info.duration, problems: problems)
            case .sensorCSV:
                var options = SensorCSVOptions()
                options.gapPolicy = .keep
                options.missingValues = .keepNaN
                options.unorderedTimestamps = .keep
                let recording = try SensorCSV.read(path: file.path, options: options)
                var problems: [String] = []
                if !recording.gaps.isEmpty {
                    let missing = recording.gaps.reduce(0) { $0 + $1.missingSamples }
                    problems.append("\(recording.gaps.count) gap(s), \(missing) samples missing")
                }
                let nanCount = recording.segments.reduce(0) { $0 + $1.signal.samples.filter(\.isNaN).count }
                if nanCount > 0 { problems.append("\(nanCount) missing value(s)") }
                if !recording.unorderedLines.isEmpty {
                    problems.append("\(recording.unorderedLines.count) out-of-order timestamp(s)")
                }
                let span =
                    recording.timestamps.flatMap { t in t.last.map { $0 - t[0] + 1 / recording.sampleRate } }
                    ?? Double(recording.frames) / recording.sampleRate
                return InfoRow(
                    path: file.path, format: "CSV/\(recording.channelNames.joined(separator: ","))",
                    sampleRate: recording.sampleRate, channels: recording.channelNames.count,
                    frames: recording.frames, duration: span, problems: problems)
            }
        } catch {
            return InfoRow(
                path: file.path, format: "-", sampleRate: nil, channels: nil, frames: nil, duration: nil,
                problems: ["error: \(error)"], failed: true)
        }
    }
}

/// One line of `seqtool info`.
struct InfoRow: Equatable {
    var path: String
    var format: String
    var sampleRate: Double?
    var channels: Int?
    var frames: Int?
    var duration: Double?
    var problems: [String]
    var failed = false

    var cells: [String] {
        [
            path, format, sampleRate.map { formatRate($0) } ?? "-", channels.map(String.init) ?? "-",
            frames.map(String.init) ?? "-", duration.map { formatSeconds($0) } ?? "-",
            problems.isEmpty ? "ok" : problems.joined(separator: "; "),
        ]
    }

    static func table(_ rows: [InfoRow]) -> String {
        let header = ["FILE", "FORMAT", "RATE", "CHANNELS", "FRAMES", "DURATION", "PROBLEMS"]
        let all = [header] + rows.map(\.cells)
        let widths = (0..<header.count).map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { cells in
            cells.enumerated().map { c, cell in
                c == cells.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    var jsonLine: String {
        var object: [String: Any] = ["path": path, "format": format, "problems": problems, "ok": !failed]
        if let sampleRate { object["sample_rate"] = sampleRate }
        if let channels { object["channels"] = channels }
        if let frames { object["frames"] = frames }
        if let duration { object["duration"] = duration }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// `16000 Hz`, `0.1 Hz`.
func formatRate(_ rate: Double) -> String {
    rate.rounded() == rate ? "\(Int(rate)) Hz" : String(format: "%.4g Hz", rate)
}

/// `1.250 s`, `2 min 5.0 s`, `1 h 2 min`.
func formatSeconds(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.3f s", seconds) }
    if seconds < 3600 {
        return String(format: "%d min %.1f s", Int(seconds) / 60, seconds.truncatingRemainder(dividingBy: 60))
    }
    return String(format: "%d h %d min", Int(seconds) / 3600, (Int(seconds) % 3600) / 60)
}
