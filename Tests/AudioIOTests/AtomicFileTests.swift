import AudioIO
import Foundation
import TestSupport
import Testing

struct AtomicFileTests {
    struct Boom: Error {}

    @Test func successReplacesTheDestinationAndLeavesNothingElse() throws {
        let scratch = try ScratchDirectory()
        let destination = scratch.url.appendingPathComponent("out.txt")
        try Data("old".utf8).write(to: destination)
        var seen: URL?
        let result = try AtomicFile.write(to: destination) { temporary in
            seen = temporary
            #expect(!FileManager.default.fileExists(atPath: temporary.path))
            try Data("new".utf8).write(to: temporary)
            return 42
        }
        #expect(result == 42)
        #expect(try String(contentsOf: destination, encoding: .utf8) == "new")
        #expect(try scratch.contents() == ["out.txt"])
        let temporary = try #require(seen)
        #expect(temporary.deletingLastPathComponent().path == scratch.url.path)
        #expect(temporary.pathExtension == "txt")
        #expect(temporary.lastPathComponent.hasPrefix(".out.txt.tmp-"))
    }

    @Test(arguments: [AtomicFile.Durability.synced, .renameOnly])
    func everyDurabilityReplacesAndLeavesNoTemporary(durability: AtomicFile.Durability) throws {
        let scratch = try ScratchDirectory()
        let destination = scratch.url.appendingPathComponent("model.bin")
        try AtomicFile.write(to: destination, durability: durability) { try Data([1, 2, 3]).write(to: $0) }
        #expect(try Data(contentsOf: destination) == Data([1, 2, 3]))
        try AtomicFile.write(Data([4, 5]), to: destination, durability: durability)
        #expect(try Data(contentsOf: destination) == Data([4, 5]))
        #expect(try scratch.contents() == ["model.bin"])
    }

    @Test func dataWriterIntoAMissingFolderNamesTheDestination() throws {
        let scratch = try ScratchDirectory()
        let destination = scratch.url.appendingPathComponent("missing/out.bin")
        #expect(throws: AudioIOError.self) { try AtomicFile.write(Data([1]), to: destination) }
        #expect(try scratch.contents().isEmpty)
    }

    @Test func failureLeavesTheOldFileAndNoTemporary() throws {
        let scratch = try ScratchDirectory()
        let destination = scratch.url.appendingPathComponent("out.txt")
        try Data("old".utf8).write(to: destination)
        #expect(throws: Boom.self) {
            try AtomicFile.write(to: destination) { temporary in
                try Data("partial".utf8).write(to: temporary)
                throw Boom()
            }
        }
        #expect(try String(contentsOf: destination, encoding: .utf8) == "old")
        #expect(try scratch.contents() == ["out.txt"])
    }

    @Test func bodyThatWritesNothingIsAnError() throws {
        let scratch = try ScratchDirectory()
        let destination = scratch.url.appendingPathComponent("new.bin")
        #expect(throws: AudioIOError.ioFailure(path: destination.path, reason: "the writer produced no file")) {
            try AtomicFile.write(to: destination) { _ in }
        }
        #expect(try scratch.contents().isEmpty)
    }

    @Test func missingFolderIsAnError() throws {
        let scratch = try ScratchDirectory()
        let destination = scratch.url.appendingPathComponent("no/such/out.txt")
        let folder = scratch.url.appendingPathComponent("no/such").path
        #expect(throws: AudioIOError.ioFailure(path: destination.path, reason: "folder \(folder) does not exist")) {
            try AtomicFile.write(to: destination) { try Data().write(to: $0) }
        }
    }
}
