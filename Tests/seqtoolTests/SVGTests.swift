import Foundation
import TestSupport
import Testing

@testable import seqtool

@Suite struct SVGTests {
    @Test func confusionMatrixHasOneCellPerPairAndEscapesLabels() {
        let m = ClassificationMetrics(labels: ["a<b", "c&d", "e"], truth: [0, 1, 2, 2], predicted: [0, 1, 2, 0])
        let svg = Charts.confusion(m, title: "t")
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>\n"))
        // background + 3 × 3 cells
        #expect(svg.components(separatedBy: "<rect ").count - 1 == 1 + 9)
        #expect(svg.contains("a&lt;b") && svg.contains("c&amp;d"))
        #expect(!svg.contains("a<b"))
    }

    @Test func lineChartSkipsMissingPointsAndScalesToTheBox() {
        let svg = Charts.lines(
            title: "loss", xLabel: "epoch", yLabel: "loss", x: [1, 2, 3],
            series: [("train", [3, 2, 1]), ("val", [.nan, 2, 1])])
        let polylines = svg.components(separatedBy: "<polyline points=\"").dropFirst().map {
            $0.prefix { $0 != "\"" }.split(separator: " ")
        }
        #expect(polylines.count == 2)
        #expect(polylines[0].count == 3)
        #expect(polylines[1].count == 2)
        // The first train point (x min, y max) is at the top-left corner of the plot box (70, 40).
        #expect(polylines[0].first == "70.00,40.00")
        #expect(polylines[0].last == "620.00,340.00")
    }

    @Test func epochTicksAreWholeNumbers() {
        #expect(Charts.xTicks(from: 1, to: 40, integral: true) == [1, 11, 21, 31])
        #expect(Charts.xTicks(from: 1, to: 3, integral: true) == [1, 2, 3])
        #expect(Charts.xTicks(from: 0, to: 1, integral: false) == [0, 0.25, 0.5, 0.75, 1])
        let svg = Charts.lines(title: "t", xLabel: "epoch", yLabel: "y", x: (1...40).map(Double.init), series: [])
        #expect(svg.contains(">11</text>") && !svg.contains(">10.8</text>"))
    }
}
