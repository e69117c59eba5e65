import AudioIO
import Foundation

/// Times of the stream's steps and how they are written: dates in UTC when the file's timestamps are dates,
/// seconds otherwise (the step number / sample rate without a timestamp column).
struct TimeBook {
    let rate: Double
    /// Whether to write times as `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC).
    var datesInFile = false

    init(rate: Double) { self.rate = rate }

    /// The time of `step`: the row's own, or `step / rate`.
    func record(step: Int, time: Double?) -> Double { time ?? Double(step) / rate }

    /// `time` as written in the outputs.
    func format(_ time: Double) -> String {
        guard datesInFile else { return "\(time)" }
        let seconds = time.rounded(.down)
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        var text = String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        let micro = Int(((time - seconds) * 1e6).rounded())
        if micro > 0 { text += String(format: ".%06d", micro) }
        return text
    }

    /// One interval as a CSV row (`start,end,peak_time,peak_score,start_row,end_row`) or a JSON line.
    func line(_ interval: FlaggedInterval, json: Bool) -> String {
        let (start, end, peakTime) = (format(interval.startTime), format(interval.endTime), format(interval.peakTime))
        guard json else {
            return "\(start),\(end),\(peakTime),\(interval.peak),\(interval.start),\(interval.end)"
        }
        return
            "{\"start\":\"\(start)\",\"end\":\"\(end)\",\"peakTime\":\"\(peakTime)\",\"peakScore\":\(interval.peak),"
            + "\"startRow\":\(interval.start),\"endRow\":\(interval.end)}"
    }
}

/// A text file written through a 64 KiB buffer.
final class TextSink {
    private let handle: FileHandle
    private var buffer = Data()
    private var closed = false

    /// Creates (or truncates) the file at `url`.
    ///
    /// - Throws: `AudioIOError.ioFailure` naming the file when it cannot be created.
    init(url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
            let handle = FileHandle(forWritingAtPath: url.path)
        else { throw AudioIOError.ioFailure(path: url.path, reason: "cannot create the file") }
        self.handle = handle
        buffer.reserveCapacity(1 << 16)
    }

    /// Appends `text`.
    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes what is buffered and closes the file.
    func close() throws {
        try flush()
        closed = true
        try handle.close()
    }

    /// Closes the descriptor when a failed run drops the sink unclosed (its temporary file is then removed).
    deinit { if !closed { try? handle.close() } }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The score over time for an SVG plot, kept in at most `2 × capacity` buckets (each the maximum score over
/// its time span; neighbours merge pairwise when full), so a plot of any stream takes bounded memory and a
/// one-step spike is never averaged away.
struct ScorePlot {
    /// Bucket budget.
    let capacity: Int
    private(set) var buckets: [(start: Double, end: Double, score: Float)] = []
    private var perBucket = 1
    private var filling = 0

    init(capacity: Int = 2048) { self.capacity = capacity }

    /// Adds one step.
    mutating func add(time: Double, score: Float) {
        if filling > 0, var last = buckets.last {
            last.end = time
            last.score = max(last.score, score)
            buckets[buckets.count - 1] = last
        } else {
            buckets.append((time, time, score))
        }
        filling += 1
        if filling == perBucket { filling = 0 }
        if buckets.count >= 2 * capacity, filling == 0 {
            buckets = stride(from: 0, to: buckets.count, by: 2).map { i in
                let pair = buckets[i..<min(i + 2, buckets.count)]
                return (pair.first?.start ?? 0, pair.last?.end ?? 0, pair.map(\.score).max() ?? 0)
            }
            perBucket *= 2
        }
    }

    /// Fill of the labelled-window bands.
    static let labelFill = "#f6c4c4"
    /// Colour of the threshold line.
    static let thresholdStroke = "#d62728"

    /// An SVG line chart (drawn with the jobs' `SVGDocument`): the score, the threshold as a red line, the
    /// labelled windows as shaded bands behind them.
    func svg(threshold: Float, windows: [LabelInterval], title: String) -> String {
        var svg = SVGDocument(width: 960, height: 340)
        let (left, right, top, bottom) = (70.0, 940.0, 40.0, 290.0)
        let t0 = buckets.first?.start ?? 0
        let t1 = max(buckets.last?.end ?? 1, t0 + 1e-9)
        let scores = buckets.map { Double($0.score) }.filter(\.isFinite)
        let yMax = max(scores.max() ?? 1, Double(threshold)) * 1.05 + 1e-9
        func x(_ t: Double) -> Double { left + (t - t0) / (t1 - t0) * (right - left) }
        func y(_ v: Double) -> Double { bottom - max(0, min(v, yMax)) / yMax * (bottom - top) }
        for w in windows where w.end >= t0 && w.start <= t1 {
            let (a, b) = (x(max(w.start, t0)), x(min(w.end, t1)))
            svg.rect(a, top, max(b - a, 1), bottom - top, fill: Self.labelFill)
        }
        svg.text(480, 24, title, size: 15)
        svg.line(left, bottom, right, bottom, stroke: "#222")
        svg.line(left, top, left, bottom, stroke: "#222")
        for k in 0...4 {
            let v = yMax * Double(k) / 4
            svg.text(left - 8, y(v) + 4, String(format: "%.3g", v), size: 11, anchor: "end")
        }
        // One line per run of points: a logging gap (a step over 3× the median step) is left open, not bridged.
        let steps = zip(buckets.dropFirst(), buckets).map { $0.start - $1.start }.sorted()
        let longest = 3 * (steps.isEmpty ? 0 : steps[steps.count / 2])
        var run: [(Double, Double)] = []
        for (i, bucket) in buckets.enumerated() {
            if i > 0, longest > 0, bucket.start - buckets[i - 1].start > longest {
                svg.polyline(run, stroke: "#1f77b4")
                run = []
            }
            run.append((x((bucket.start + bucket.end) / 2), y(Double(bucket.score))))
        }
        svg.polyline(run, stroke: "#1f77b4")
        svg.line(left, y(Double(threshold)), right, y(Double(threshold)), stroke: Self.thresholdStroke)
        svg.text(
            right, 320, "score (blue), threshold \(String(format: "%.3g", Double(threshold))) (red), labelled (shaded)",
            size: 12, anchor: "end")
        svg.text(20, (top + bottom) / 2, "anomaly score", rotate: true)
        return svg.text
    }
}
