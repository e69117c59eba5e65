import Foundation
import TestSupport
import Testing

@testable import AudioIO

/// Numbers read from `../shared/data` by `scripts/fixtures/sensor_reference.py` (Python csv/json/datetime).
struct SensorReference: Decodable {
    struct Gap: Decodable {
        let line: Int
        let seconds: Double
    }

    struct NAB: Decodable {
        let file: String
        let rows: Int
        let firstTime: Double
        let lastTime: Double
        let period: Double
        let unorderedLines: [Int]
        let rowsKeptWhenDroppingUnordered: Int
        let gaps: [Gap]
        let firstValues: [Float]
        let lastValue: Float
        let sum: Double
        let windows: [[Double]]
        let labelledSamples: Int
    }

    struct UEA: Decodable {
        let file: String
        let cases: Int
        let channels: Int
        let lengths: [Int]
        let classes: [String]
        let labels: [String]
        let firstCaseChannel0: [Float]
        let firstCaseLastChannel: [Float]
        let sum: Double
    }

    let nab: [NAB]
    let uea: [UEA]

    static func load() throws -> SensorReference {
        let url = TestPaths.fixture("AudioIO/sensor/reference.json")
        return try JSONDecoder().decode(SensorReference.self, from: Data(contentsOf: url))
    }

    func nab(_ file: String) throws -> NAB { try #require(nab.first { $0.file == file }) }
    func uea(_ file: String) throws -> UEA { try #require(uea.first { $0.file == file }) }
}

@Suite(.enabled(if: TestPaths.sharedData("nab") != nil, "needs ../shared/data/nab"))
struct SensorCSVSharedDataTests {
    static let machine = "realKnownCause/machine_temperature_system_failure.csv"
    static let ambient = "realKnownCause/ambient_temperature_system_failure.csv"

    func path(_ file: String) throws -> String { try #require(TestPaths.sharedData("nab/data/" + file)).path }

    @Test func machineTemperatureHasABackwardStep() throws {
        let path = try path(Self.machine)
        let line = try SensorReference.load().nab(Self.machine).unorderedLines[0]
        #expect(throws: AudioIOError.nonMonotonicTimestamp(path: path, line: line, previousLine: line - 1)) {
            try SensorCSV.read(path: path)
        }
    }

    @Test func machineTemperatureWithTheNABPreset() throws {
        let reference = try SensorReference.load().nab(Self.machine)
        let r = try SensorCSV.read(path: path(Self.machine), options: .nab)
        #expect(r.channelNames == ["value"])
        #expect(r.frames == reference.rows)
        #expect(r.inferredRate == 1 / reference.period)
        #expect(1 / r.sampleRate == 300)
        #expect(r.gaps.count == reference.gaps.count)
        #expect(r.unorderedLines == reference.unorderedLines)
        let times = try #require(r.timestamps)
        #expect(times.first == reference.firstTime && times.last == reference.lastTime)
        let samples = r.segments[0].signal.samples
        assertClose(samples.prefix(5), reference.firstValues, rtol: 0, atol: 0)
        #expect(samples.last == reference.lastValue)
        let sum = samples.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - reference.sum) <= 1e-9 * abs(reference.sum))

        let dropped = try SensorCSV.read(
            path: path(Self.machine), options: SensorCSVOptions(unorderedTimestamps: .dropRow))
        #expect(dropped.frames == reference.rowsKeptWhenDroppingUnordered)
        #expect(dropped.gaps.isEmpty && dropped.jitter?.max == 0)
    }

    @Test func ambientTemperatureGaps() throws {
        let reference = try SensorReference.load().nab(Self.ambient)
        let path = try path(Self.ambient)
        let first = try #require(reference.gaps.first)
        #expect(throws: AudioIOError.gap(path: path, line: first.line, seconds: first.seconds, expected: 3600)) {
            try SensorCSV.read(path: path)
        }
        let r = try SensorCSV.read(path: path, options: SensorCSVOptions(gapPolicy: .split))
        #expect(r.gaps.map(\.line) == reference.gaps.map(\.line))
        #expect(r.gaps.map(\.duration) == reference.gaps.map(\.seconds))
        #expect(r.segments.count == reference.gaps.count + 1)
        #expect(r.frames == reference.rows)
        #expect(r.segments.allSatisfy { $0.signal.sampleRate == 1.0 / 3600 })
        let filled = try SensorCSV.read(path: path, options: SensorCSVOptions(gapPolicy: .fill(.linear)))
        let missing = reference.gaps.reduce(0) { $0 + Int(($1.seconds / 3600).rounded()) - 1 }
        #expect(filled.frames == reference.rows + missing)
        let times = try #require(filled.timestamps)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 == 3600 })
    }

    @Test func everyNABFileReadsWithThePreset() throws {
        let root = try #require(TestPaths.sharedData("nab/data"))
        let files = try #require(FileManager.default.enumerator(atPath: root.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".csv") }.sorted()
        #expect(files.count == 58)
        for file in files {
            let path = root.appendingPathComponent(file).path
            // Rows counted independently: non-blank byte lines (some files end lines in CR LF) minus the header.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let rows = bytes.split(separator: 10).filter { !$0.allSatisfy { $0 == 13 || $0 == 32 } }.count - 1
            let r = try SensorCSV.read(path: path, options: .nab)
            #expect(r.frames == rows, "\(file)")
            #expect(r.timestamps?.count == rows && r.channelNames == ["value"], "\(file)")
            #expect(r.gaps.allSatisfy { $0.duration > 1.5 / r.sampleRate }, "\(file)")
        }
    }
}
