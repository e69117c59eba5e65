import ArgumentParser
import Foundation
import TestSupport
import Testing
import Windowing

@testable import seqtool

@Suite struct ArgumentTests {
    @Test(arguments: [
        ("1s", 16000), ("250ms", 4000), ("0.5s", 8000), ("400", 400), ("400samples", 400), ("2min", 1_920_000),
        ("1h", 57_600_000),
    ])
    func timeSpanParsesUnits(text: String, samplesAt16k: Int) throws {
        let span = try #require(TimeSpan(argument: text))
        #expect(span.samples(at: 16000) == samplesAt16k)
    }

    @Test(arguments: ["", "0", "-1s", "abc", "1.5samples", "1 parsec", "0ms", "nans"])
    func timeSpanRejectsNonsense(text: String) {
        #expect(TimeSpan(argument: text) == nil)
    }

    @Test func overlapTakesPercentOrFraction() {
        #expect(Overlap(argument: "50%")?.fraction == 0.5)
        #expect(Overlap(argument: "20 %")?.fraction == 0.2)
        #expect(Overlap(argument: "0.25")?.fraction == 0.25)
        #expect(Overlap(argument: "100%") == nil)
        #expect(Overlap(argument: "-10%") == nil)
    }

    @Test func cropRejectsConflictingOptions() {
        #expect(throws: (any Error).self) {
            try Crop.parse(["x.wav", "--out", "o", "--overlap", "50%", "--hop", "1s"])
        }
        #expect(throws: (any Error).self) { try Crop.parse(["x.wav", "--out", "o", "--jobs", "0"]) }
        #expect(throws: (any Error).self) { try Crop.parse(["x.wav", "--out", "o", "--label-from", "regex"]) }
        #expect(throws: (any Error).self) { try Crop.parse(["x.wav", "--out", "o", "--boundary", "sideways"]) }
        #expect(throws: (any Error).self) { try Crop.parse(["x.wav"]) }
        #expect(throws: (any Error).self) { try Crop.parse(["x.wav", "--out", "o", "--files-per-shard", "0"]) }
        #expect(throws: (any Error).self) { try Crop.parse(["x.wav", "--out", "o", "--label-reduce", "fraction:2"]) }
        #expect(throws: (any Error).self) { try Crop.parse(["x.csv", "--out", "o", "--label-intervals", "/no.json"]) }
    }

    @Test func labelReductionsParse() throws {
        #expect(LabelReduceArgument(argument: "any")?.reduction == .any)
        #expect(LabelReduceArgument(argument: "centre")?.reduction == .center)
        #expect(LabelReduceArgument(argument: "fraction:0.25")?.reduction == .fraction(0.25))
        #expect(LabelReduceArgument(argument: "fraction:0") == nil)
        #expect(LabelReduceArgument(argument: "median") == nil)
    }

    @Test func shardsGroupConsecutiveFiles() {
        let names = (0..<5).map { "f\($0)" }
        let plan = CropJob.plan(names: names, filesPerShard: 2)
        #expect(plan.map(\.name) == ["shard-00000", "shard-00001", "shard-00002"])
        #expect(plan.map(\.files) == [0..<2, 2..<4, 4..<5])
        #expect(CropJob.plan(names: names, filesPerShard: 1).map(\.name) == names)
        #expect(CropJob.digest(["a", "b"]) != CropJob.digest(["ab"]))
    }

    @Test func cropHopFromOverlapRoundsToSamples() throws {
        let crop = try Crop.parse(["x.wav", "--out", "o", "--window", "1s", "--overlap", "50%", "--boundary", "kaldi"])
        let job = CropJob(
            outFolder: URL(fileURLWithPath: "o"), window: crop.window, overlap: crop.overlap?.fraction, hop: crop.hop,
            boundary: crop.boundary.mode, format: crop.format, csvOptions: crop.csvOptions(),
            labelling: try crop.labelling(), allowTruncated: false, stopOnError: true, durable: nil)
        let options = try job.frameOptions(sampleRate: 8000)
        #expect(options.length == 8000)
        #expect(options.hop == 4000)
        #expect(options.boundary == .kaldiMirror)
    }

    @Test func cropSyncsUnlessToldNotTo() throws {
        #expect(try Crop.parse(["x.wav", "--out", "o"]).sync)
        #expect(try Crop.parse(["x.wav", "--out", "o", "--sync"]).sync)
        #expect(try !Crop.parse(["x.wav", "--out", "o", "--no-sync"]).sync)
    }

    @Test func boundaryNamesMapToModes() {
        #expect(BoundaryArgument.valid.mode == .valid)
        #expect(BoundaryArgument.centerReflect.mode == .center(.reflect))
        #expect(BoundaryArgument.padCover.mode == .padEndToCover())
        #expect(BoundaryArgument.allCases.count == 8)
    }
}

@Suite struct InputTests {
    @Test func foldersExpandRecursivelyWithFolderLabels() throws {
        let root = try copyDigits(["one", "two"])
        defer { try? FileManager.default.removeItem(at: root) }
        try Data("not audio".utf8).write(to: root.appendingPathComponent("one/notes.txt"))
        let files = try InputExpander.expand([root.path], labels: .folder)
        #expect(files.count == 36)
        #expect(Set(files.compactMap(\.label)) == ["one", "two"])
        #expect(files.allSatisfy { $0.kind == .audio })
        #expect(files.map(\.relativeName) == files.map(\.relativeName).sorted())
    }

    @Test func regexLabelsTakeTheFirstGroup() throws {
        let root = try copyDigits(["three"])
        defer { try? FileManager.default.removeItem(at: root) }
        let files = try InputExpander.expand([root.path + "/three/*.wav"], labels: .regex("^([a-z]+)_"))
        #expect(files.count == 18)
        #expect(Set(files.compactMap(\.label)) == ["ava", "ben", "cal", "dee", "eli", "fay"])
        #expect(throws: InputError.noLabel(path: files[0].path, pattern: "^(\\d)_")) {
            try InputExpander.expand([files[0].path], labels: .regex("^(\\d)_"))
        }
        #expect(throws: (any Error).self) { try InputExpander.expand([root.path], labels: .regex("([")) }
    }

    @Test func missingInputsAreNamed() throws {
        #expect(throws: InputError.notFound("/no/such/file.wav")) {
            try InputExpander.expand(["/no/such/file.wav"], labels: .none)
        }
        let empty = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: InputError.noFiles(empty.path)) { try InputExpander.expand([empty.path], labels: .none) }
    }

    @Test func pathsNormaliseAsText() {
        #expect(InputExpander.lexicallyNormalized("/a/./b//c/../d.wav") == "/a/b/d.wav")
        #expect(InputExpander.lexicallyNormalized("/../x") == "/x")
        #expect(InputExpander.lexicallyNormalized("/") == "/")
    }

    @Test func sameFileGivenTwiceIsCroppedOnce() throws {
        let root = try copyDigits(["six"])
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("six/ava_0.wav").path
        let files = try InputExpander.expand(
            [file, root.path + "/six/../six/ava_0.wav", root.path + "/six"], labels: .none)
        #expect(files.count == 18)
        let listed = try FileManager.default.contentsOfDirectory(atPath: root.path + "/six").map { "six/" + $0 }
        #expect(InputExpander.listFiles(below: root.path).sorted() == listed.sorted())
    }

    @Test func outputNamesAreUniqueAndFlat() {
        let files = [
            InputFile(path: "a/x.wav", relativeName: "one/x.wav", kind: .audio),
            InputFile(path: "b/x.wav", relativeName: "one/x.wav", kind: .audio),
            InputFile(path: "c/y z.csv", relativeName: "y z.csv", kind: .sensorCSV),
        ]
        #expect(CropJob.outputNames(for: files) == ["one__x", "one__x-2", "y_z"])
    }
}
