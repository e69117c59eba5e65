/// Timing analysis and the gap and missing-value policies: turns the parsed rows into `SensorRecording`.
extension SensorCSV {
    /// The most samples `GapPolicy.fill` may insert in one file, so a gap of years at 100 Hz fails with an error
    /// instead of exhausting memory.
    static let maximumInsertedSamples = 100_000_000

    static func assemble(_ input: SensorTable, path: String, options: SensorCSVOptions) throws -> SensorRecording {
        var table = input
        let rows = table.lines.count
        var period: Double
        var inferredRate: Double?
        var jitter: SensorJitter?
        var gaps: [SensorGap] = []
        var gapRows: [Int] = []
        if let times = table.times, rows >= 2 {
            let steps = (1..<rows).map { times[$0] - times[$0 - 1] }
            let positive = steps.filter { $0 > 0 }.sorted()
            guard !positive.isEmpty else {
                throw AudioIOError.badHeader(
                    path: path, reason: "all \(rows) timestamps are equal: cannot infer a sample rate")
            }
            let half = positive.count / 2
            let median = positive.count % 2 == 1 ? positive[half] : (positive[half - 1] + positive[half]) / 2
            inferredRate = 1 / median
            period = median
            if let rate = options.sampleRate {
                period = 1 / rate
                guard abs(median - period) <= 0.01 * period else {
                    throw AudioIOError.invalidParameter(
                        name: "sampleRate", value: "\(rate)",
                        reason: "\(path): the timestamps step by a median \(median) s (\(1 / median) Hz)")
                }
            }
            var squares = 0.0
            var largest = 0.0
            var regular = 0
            for (i, step) in steps.enumerated() where step > 0 {
                if step > options.gapFactor * period {
                    let missing = max(0, Int((step / period).rounded()) - 1)
                    gaps.append(
                        SensorGap(line: table.lines[i + 1], start: times[i], end: times[i + 1], missingSamples: missing)
                    )
                    gapRows.append(i + 1)
                } else {
                    let deviation = abs(step - period)
                    squares += deviation * deviation
                    largest = max(largest, deviation)
                    regular += 1
                }
            }
            if regular > 0 {
                jitter = SensorJitter(rms: (squares / Double(regular)).squareRoot(), max: largest, steps: regular)
            }
        } else if let rate = options.sampleRate {
            period = 1 / rate
        } else {
            throw AudioIOError.badHeader(
                path: path,
                reason: "\(rows) data row\(rows == 1 ? "" : "s"): too few timestamps to infer a sample rate; "
                    + "give SensorCSVOptions.sampleRate")
        }
        let sampleRate = options.sampleRate ?? 1 / period

        if options.gapPolicy == .error, let gap = gaps.first {
            throw AudioIOError.gap(path: path, line: gap.line, seconds: gap.duration, expected: period)
        }
        var ranges = [0..<rows]
        if options.gapPolicy == .split {
            let bounds = [0] + gapRows + [rows]
            ranges = (0..<(bounds.count - 1)).map { bounds[$0]..<bounds[$0 + 1] }
        }
        if table.hasMissing {
            for range in ranges {
                for c in table.values.indices {
                    try fillMissing(
                        &table.values[c], range: range, times: table.times, policy: options.missingValues,
                        line: table.lines.isEmpty ? 1 : table.lines[range.lowerBound],
                        column: table.channelNames[c], path: path)
                }
            }
        }
        if case .fill(let method) = options.gapPolicy, !gaps.isEmpty, let times = table.times {
            try fillGaps(&table, times: times, gaps: gaps, gapRows: gapRows, period: period, method: method, path: path)
            ranges = [0..<table.lines.count]
        }

        let segments = try ranges.map { range in
            var samples: [Float] = []
            samples.reserveCapacity(range.count * table.values.count)
            for column in table.values { samples.append(contentsOf: column[range]) }
            let signal = try Signal(
                samples: samples, channels: table.values.count, sampleRate: sampleRate,
                channelNames: table.channelNames)
            return SensorSegment(
                signal: signal, startTime: range.isEmpty ? nil : table.times?[range.lowerBound], range: range)
        }
        return SensorRecording(
            segments: segments, timestamps: table.times, labels: table.labels, sampleRate: sampleRate,
            inferredRate: inferredRate, jitter: jitter, gaps: gaps, unorderedLines: table.unorderedLines,
            droppedLines: table.droppedLines, channelNames: table.channelNames)
    }

    /// Replaces the NaNs of one channel in `range` as `policy` says (`times` or the row index is the x axis).
    static func fillMissing(
        _ values: inout [Float], range: Range<Int>, times: [Double]?, policy: SensorCSVOptions.MissingValuePolicy,
        line: Int, column: String, path: String
    ) throws {
        switch policy {
        case .error, .dropRow, .keepNaN:
            return
        case .zero:
            for i in range where values[i].isNaN { values[i] = 0 }
        case .previous, .interpolate:
            guard let first = range.first(where: { !values[$0].isNaN }) else {
                if range.isEmpty { return }
                throw AudioIOError.missingValue(path: path, line: line, column: column)
            }
            for i in range.lowerBound..<first { values[i] = values[first] }
            var last = first
            for i in (first + 1)..<range.upperBound where !values[i].isNaN {
                if i - last > 1 {
                    for j in (last + 1)..<i {
                        if policy == .previous {
                            values[j] = values[last]
                        } else {
                            let x0 = times?[last] ?? Double(last)
                            let x1 = times?[i] ?? Double(i)
                            let x = times?[j] ?? Double(j)
                            let y0 = Double(values[last])
                            values[j] = Float(y0 + (Double(values[i]) - y0) * (x - x0) / (x1 - x0))
                        }
                    }
                }
                last = i
            }
            for j in (last + 1)..<range.upperBound { values[j] = values[last] }
        }
    }

    /// Inserts `missingSamples` samples into every gap at `t_before + k · period`, valued by `method`.
    static func fillGaps(
        _ table: inout SensorTable, times: [Double], gaps: [SensorGap], gapRows: [Int], period: Double,
        method: SensorCSVOptions.FillMethod, path: String
    ) throws {
        let inserted = gaps.reduce(0) { $0 + $1.missingSamples }
        guard inserted <= maximumInsertedSamples else {
            let worst = gaps.max { $0.missingSamples < $1.missingSamples } ?? gaps[0]
            throw AudioIOError.badRow(
                path: path, line: worst.line,
                reason: "filling the gaps would insert \(inserted) samples (more than \(maximumInsertedSamples))")
        }
        let total = times.count + inserted
        var newTimes: [Double] = []
        newTimes.reserveCapacity(total)
        var newValues = table.values.map { _ in [Float]() }
        for c in newValues.indices { newValues[c].reserveCapacity(total) }
        var newLabels: [String]? = table.labels == nil ? nil : []
        var newLines: [Int] = []
        newLines.reserveCapacity(total)
        var next = 0
        for row in times.indices {
            if next < gapRows.count && gapRows[next] == row {
                let count = gaps[next].missingSamples
                let t0 = times[row - 1]
                let t1 = times[row]
                for k in 0..<count {
                    let t = t0 + Double(k + 1) * period
                    newTimes.append(t)
                    for c in newValues.indices {
                        let v0 = table.values[c][row - 1]
                        let v1 = table.values[c][row]
                        let value: Float
                        switch method {
                        case .nan: value = .nan
                        case .zero: value = 0
                        case .previous: value = v0
                        case .linear: value = Float(Double(v0) + (Double(v1) - Double(v0)) * (t - t0) / (t1 - t0))
                        }
                        newValues[c].append(value)
                    }
                    if let labels = table.labels { newLabels?.append(labels[row - 1]) }
                    newLines.append(table.lines[row])
                }
                next += 1
            }
            newTimes.append(times[row])
            for c in newValues.indices { newValues[c].append(table.values[c][row]) }
            if let labels = table.labels { newLabels?.append(labels[row]) }
            newLines.append(table.lines[row])
        }
        table.times = newTimes
        table.values = newValues
        table.labels = newLabels
        table.lines = newLines
    }
}
