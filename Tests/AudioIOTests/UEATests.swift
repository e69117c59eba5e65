import Foundation
import TestSupport
import Testing

@testable import AudioIO

@Suite struct UEATests {
    static let header = """
        # a comment
        @problemName Tiny Test
        @timeStamps false
        @missing true
        @univariate false
        @dimensions 2
        @equalLength false
        @classLabel true up down

        """

    @Test func readsVariableLengthCasesLabelsAndMissingValues() throws {
        let path = try writeTemporary(
            Self.header + "@data\n1,2,3:4,5,6:up\r\n\n-1.5e-1,?:7,8:down\n", name: "tiny.ts")
        let d = try UEA.read(path: path)
        #expect(d.header.problemName == "Tiny Test")
        #expect(d.header.missing == true && d.header.univariate == false && d.header.dimensions == 2)
        #expect(d.header.equalLength == false && d.header.seriesLength == nil)
        #expect(d.classLabels == ["up", "down"])
        #expect(d.labels == ["up", "down"])
        #expect(d.classIndices == [0, 1])
        #expect(d.cases.count == 2)
        #expect(d.cases[0].channels == 2 && d.cases[0].frames == 3)
        #expect(d.cases[0].samples == [1, 2, 3, 4, 5, 6])
        #expect(d.cases[0].channelNames == ["dim_0", "dim_1"])
        #expect(d.cases[0].sampleRate == 1)
        #expect(d.cases[1].frames == 2)
        assertClose(d.cases[1].samples, [-0.15, .nan, 7, 8] as [Float], rtol: 0, atol: 0)
        #expect(try UEA.read(path: path, sampleRate: 100).cases[1].sampleRate == 100)
    }

    @Test func filesWithoutClassLabels() throws {
        let path = try writeTemporary("@problemName u\n@univariate true\n@classLabel false\n@data\n1,2\n3,4,5\n")
        let d = try UEA.read(path: path)
        #expect(d.labels == nil && d.classIndices == nil && d.header.dimensions == 1)
        #expect(d.cases.map(\.samples) == [[1, 2], [3, 4, 5]])
        let target = try writeTemporary("@targetLabel true\n@data\n1,2:0.5\n3,4:1.25\n")
        let t = try UEA.read(path: target)
        #expect(t.labels == ["0.5", "1.25"] && t.classIndices == nil)
        #expect(t.cases.map(\.channels) == [1, 1])
    }

    @Test func undeclaredLabelNamesItsLine() throws {
        let path = try writeTemporary(Self.header + "@data\n1:2:up\n1:2:sideways\n")
        #expect(
            throws: AudioIOError.unknownLabel(path: path, line: 11, label: "sideways", declared: ["up", "down"])
        ) { try UEA.read(path: path) }
    }

    @Test func malformedCasesNameTheirLine() throws {
        let cases: [(String, Int, String)] = [
            ("1,2:up\n", 10, "1 channels, expected 2"),
            ("1,2:3:4:up\n", 10, "3 channels, expected 2"),
            ("1,2:3:up\n", 10, "channel 1 has 1 values, channel 0 has 2"),
            ("1,x:3,4:up\n", 10, "channel 0 value 1: 'x' is not a number"),
            ("1,,2:3,4,5:up\n", 10, "channel 0 value 1: '' is not a number"),
            ("1:2:up\n@data\n", 11, "header tag after @data"),
            ("1,2,3\n", 10, "expected channels and a label"),
        ]
        for (data, line, reason) in cases {
            let path = try writeTemporary(Self.header + "@data\n" + data, name: "bad.ts")
            #expect(throws: AudioIOError.badRow(path: path, line: line, reason: reason), "\(data)") {
                try UEA.read(path: path)
            }
        }
    }

    @Test func headerRulesAreEnforced() throws {
        let equal = try writeTemporary("@equalLength true\n@classLabel false\n@data\n1,2\n3,4\n5,6,7\n")
        #expect(
            throws: AudioIOError.badRow(
                path: equal, line: 6,
                reason: "3 values per channel, but @equalLength true and the series length is 2")
        ) { try UEA.read(path: equal) }
        let declared = try writeTemporary("@equalLength true\n@seriesLength 3\n@data\n1,2\n")
        #expect(
            throws: AudioIOError.badRow(
                path: declared, line: 4,
                reason: "2 values per channel, but @equalLength true and the series length is 3")
        ) { try UEA.read(path: declared) }
        let noMissing = try writeTemporary("@missing false\n@data\n1,?\n")
        #expect(
            throws: AudioIOError.badRow(
                path: noMissing, line: 3,
                reason: "missing value '?' in channel 0 at 1, but the header says @missing false")
        ) { try UEA.read(path: noMissing) }
        let early = try writeTemporary("@problemName x\n1,2\n@data\n")
        #expect(throws: AudioIOError.badRow(path: early, line: 2, reason: "data before the @data line")) {
            try UEA.read(path: early)
        }
        let noData = try writeTemporary("@problemName x\n")
        #expect(throws: AudioIOError.badHeader(path: noData, reason: "no @data line")) { try UEA.read(path: noData) }
        let unknown = try writeTemporary("@problemName x\n@colour red\n@data\n")
        #expect(throws: AudioIOError.badRow(path: unknown, line: 2, reason: "unknown header tag '@colour'")) {
            try UEA.read(path: unknown)
        }
        let stamps = try writeTemporary("@timeStamps true\n@data\n")
        #expect(throws: AudioIOError.badHeader(path: stamps, reason: "line 1: @timeStamps true is not supported")) {
            try UEA.read(path: stamps)
        }
        let flag = try writeTemporary("@missing maybe\n@data\n")
        #expect(
            throws: AudioIOError.badRow(path: flag, line: 1, reason: "@missing expects true or false, found 'maybe'")
        ) {
            try UEA.read(path: flag)
        }
        let length = try writeTemporary("@seriesLength -3\n@data\n")
        #expect(
            throws: AudioIOError.badRow(
                path: length, line: 1, reason: "@seriesLength expects a positive integer, found '-3'")
        ) {
            try UEA.read(path: length)
        }
        let classes = try writeTemporary("@classLabel true\n@data\n")
        #expect(throws: AudioIOError.badRow(path: classes, line: 1, reason: "@classLabel true lists no class")) {
            try UEA.read(path: classes)
        }
        let empty = try writeTemporary("", name: "empty.ts")
        #expect(throws: AudioIOError.empty(path: empty)) { try UEA.read(path: empty) }
        #expect(throws: AudioIOError.invalidParameter(name: "sampleRate", value: "0.0", reason: "must be > 0")) {
            try UEA.read(path: empty, sampleRate: 0)
        }
    }

    @Test func emptyDataSection() throws {
        let path = try writeTemporary("@classLabel true a\n@data\n")
        let d = try UEA.read(path: path)
        #expect(d.cases.isEmpty && d.labels == [] && d.classIndices == [])
    }
}

@Suite(.enabled(if: TestPaths.sharedData("uea") != nil, "needs ../shared/data/uea"))
struct UEASharedDataTests {
    func check(_ file: String, cases: Int, channels: Int) throws {
        let reference = try SensorReference.load().uea(file)
        let d = try UEA.read(path: try #require(TestPaths.sharedData("uea/" + file)).path)
        #expect(d.cases.count == cases && reference.cases == cases)
        #expect(d.cases.allSatisfy { $0.channels == channels } && reference.channels == channels)
        #expect(d.cases.map(\.frames) == reference.lengths)
        #expect(d.classLabels == reference.classes)
        #expect(d.labels == reference.labels)
        let first = d.cases[0]
        assertClose(first.channel(0).prefix(5), reference.firstCaseChannel0, rtol: 0, atol: 0)
        assertClose(first.channel(channels - 1).prefix(5), reference.firstCaseLastChannel, rtol: 0, atol: 0)
        let sum = d.cases.reduce(0.0) { total, signal in signal.samples.reduce(total) { $0 + Double($1) } }
        #expect(abs(sum - reference.sum) <= 1e-9 * max(1, abs(reference.sum)), "\(sum) vs \(reference.sum)")
    }

    @Test func japaneseVowels() throws {
        try check("JapaneseVowels/JapaneseVowels_TRAIN.ts", cases: 270, channels: 12)
        let reference = try SensorReference.load().uea("JapaneseVowels/JapaneseVowels_TRAIN.ts")
        #expect(reference.lengths.min() == 7 && reference.lengths.max() == 26)
        let test = try UEA.read(
            path: try #require(TestPaths.sharedData("uea/JapaneseVowels/JapaneseVowels_TEST.ts")).path)
        #expect(test.cases.count == 370)
        #expect(test.cases.map(\.frames).min() == 7 && test.cases.map(\.frames).max() == 29)
    }

    @Test func basicMotions() throws {
        try check("BasicMotions/BasicMotions_TRAIN.ts", cases: 40, channels: 6)
    }

    @Test func everySharedFileReads() throws {
        let root = try #require(TestPaths.sharedData("uea"))
        let files = try #require(FileManager.default.enumerator(atPath: root.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".ts") }.sorted()
        #expect(files.count == 8)
        for file in files {
            let path = root.appendingPathComponent(file).path
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            let dataLines = lines.filter { !$0.hasPrefix("@") && !$0.hasPrefix("#") && !$0.allSatisfy(\.isWhitespace) }
            let d = try UEA.read(path: path)
            #expect(d.cases.count == dataLines.count, "\(file)")
            #expect(d.labels?.count == d.cases.count && d.classIndices != nil, "\(file)")
            if let length = d.header.seriesLength { #expect(d.cases.allSatisfy { $0.frames == length }, "\(file)") }
            if let channels = d.header.dimensions { #expect(d.cases.allSatisfy { $0.channels == channels }, "\(file)") }
        }
    }
}
