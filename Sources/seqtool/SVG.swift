import Foundation

/// A minimal SVG writer for the job pictures (line charts, confusion matrices): plain text, no dependency.
struct SVGDocument {
    let width: Double
    let height: Double
    private var elements: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// `&`, `<`, `>`, `"` escaped for text and attributes.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func number(_ x: Double) -> String { String(format: "%.2f", x) }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#888") {
        elements.append(
            "<line x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" x2=\"\(Self.number(x2))\" "
                + "y2=\"\(Self.number(y2))\" stroke=\"\(stroke)\" stroke-width=\"1\"/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String) {
        elements.append(
            "<rect x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(w))\" "
                + "height=\"\(Self.number(h))\" fill=\"\(fill)\"/>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String) {
        guard !points.isEmpty else { return }
        let text = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(text)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"2\"/>")
    }

    mutating func text(
        _ x: Double, _ y: Double, _ content: String, size: Double = 12, anchor: String = "middle",
        fill: String = "#222", rotate: Bool = false
    ) {
        let transform = rotate ? " transform=\"rotate(-90 \(Self.number(x)) \(Self.number(y)))\"" : ""
        elements.append(
            "<text x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" font-size=\"\(Self.number(size))\" "
                + "font-family=\"sans-serif\" text-anchor=\"\(anchor)\" fill=\"\(fill)\"\(transform)>"
                + Self.escape(content) + "</text>")
    }

    /// The document text.
    var text: String {
        let header =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        return header + elements.joined(separator: "\n") + "\n</svg>\n"
    }
}

/// The pictures of a job.
enum Charts {
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]

    /// About five x-axis tick values from `low` to `high`; whole numbers only when the x values are (epochs).
    static func xTicks(from low: Double, to high: Double, integral: Bool) -> [Double] {
        guard integral else { return (0...4).map { low + (high - low) * Double($0) / 4 } }
        let step = max(1, ((high - low) / 4).rounded(.up))
        return stride(from: low, through: high, by: step).map { $0 }
    }

    /// A line chart of named series over a shared x axis (NaN points are skipped).
    static func lines(
        title: String, xLabel: String, yLabel: String, x: [Double], series: [(name: String, values: [Double])]
    ) -> String {
        var svg = SVGDocument(width: 640, height: 400)
        let (left, right, top, bottom) = (70.0, 620.0, 40.0, 340.0)
        let ys = series.flatMap(\.values).filter(\.isFinite)
        let xMin = x.min() ?? 0
        let xMax = max((x.max() ?? 1), xMin + 1e-9)
        var yMin = ys.min() ?? 0
        var yMax = ys.max() ?? 1
        if yMax - yMin < 1e-9 {
            yMin -= 0.5
            yMax += 0.5
        }
        func px(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * (right - left) }
        func py(_ v: Double) -> Double { bottom - (v - yMin) / (yMax - yMin) * (bottom - top) }
        svg.text(320, 24, title, size: 16)
        svg.line(left, bottom, right, bottom, stroke: "#222")
        svg.line(left, top, left, bottom, stroke: "#222")
        for k in 0...4 {
            let v = yMin + (yMax - yMin) * Double(k) / 4
            svg.line(left - 4, py(v), right, py(v), stroke: "#ddd")
            svg.text(left - 8, py(v) + 4, String(format: "%.3g", v), size: 11, anchor: "end")
        }
        for xv in xTicks(from: xMin, to: xMax, integral: x.allSatisfy { $0.rounded() == $0 }) {
            svg.text(px(xv), bottom + 18, String(format: "%.3g", xv), size: 11)
        }
        svg.text((left + right) / 2, 380, xLabel)
        svg.text(20, (top + bottom) / 2, yLabel, rotate: true)
        for (i, s) in series.enumerated() {
            let colour = palette[i % palette.count]
            let points = zip(x, s.values).filter { $0.1.isFinite }.map { (px($0.0), py($0.1)) }
            svg.polyline(points, stroke: colour)
            svg.rect(right - 150, top + 8 + Double(i) * 18, 12, 12, fill: colour)
            svg.text(right - 132, top + 18 + Double(i) * 18, s.name, size: 12, anchor: "start")
        }
        return svg.text
    }

    /// A confusion matrix as a heat map with counts (rows: true class, columns: predicted).
    static func confusion(_ metrics: ClassificationMetrics, title: String) -> String {
        let k = max(metrics.labels.count, 1)
        let cell = max(24.0, min(60.0, 480.0 / Double(k)))
        let (left, top) = (110.0, 70.0)
        var svg = SVGDocument(width: left + cell * Double(k) + 30, height: top + cell * Double(k) + 60)
        svg.text(svg.width / 2, 24, title, size: 16)
        svg.text(left + cell * Double(k) / 2, 50, "predicted", size: 12)
        svg.text(16, top + cell * Double(k) / 2, "true", size: 12, rotate: true)
        for (i, row) in metrics.confusion.enumerated() {
            let total = max(row.reduce(0, +), 1)
            svg.text(left - 6, top + cell * (Double(i) + 0.5) + 4, metrics.labels[i], size: 11, anchor: "end")
            for (j, count) in row.enumerated() {
                let share = Double(count) / Double(total)
                let shade = Int(255 - 200 * share)
                let fill = String(format: "#%02x%02xff", shade, shade)
                svg.rect(left + cell * Double(j), top + cell * Double(i), cell - 1, cell - 1, fill: fill)
                svg.text(
                    left + cell * (Double(j) + 0.5), top + cell * (Double(i) + 0.5) + 4, "\(count)", size: 11,
                    fill: share > 0.6 ? "white" : "#222")
            }
        }
        for (j, label) in metrics.labels.enumerated() {
            svg.text(left + cell * (Double(j) + 0.5), top + cell * Double(k) + 16, String(label.prefix(8)), size: 11)
        }
        return svg.text
    }

    /// A precision-recall curve.
    static func precisionRecall(_ curve: PrecisionRecallCurve, title: String) -> String {
        lines(
            title: title + String(format: " (AP %.3f)", curve.averagePrecision), xLabel: "recall",
            yLabel: "precision", x: curve.recall, series: [("precision", curve.precision)])
    }
}
