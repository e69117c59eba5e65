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

    @Test func backgroundSyncFlushesEveryAddedFileAndFolder() throws {
        let scratch = try ScratchDirectory()
        let durable = AtomicFile.BackgroundSync()
        for n in 0..<5 {
            let destination = scratch.url.appendingPathComponent("part-\(n).bin")
            try AtomicFile.write(Data([UInt8(n)]), to: destination, durability: .renameOnly)
            durable.add([destination.path])
        }
        try durable.finish(folders: [scratch.url.path])
        #expect(try scratch.contents().count == 5)
    }

    @Test func backgroundSyncReportsTheFirstFileItCannotFlush() throws {
        let scratch = try ScratchDirectory()
        let good = scratch.url.appendingPathComponent("good.bin")
        try AtomicFile.write(Data([1]), to: good, durability: .renameOnly)
        let missing = scratch.url.appendingPathComponent("gone.bin").path
        let durable = AtomicFile.BackgroundSync()
        durable.add([good.path, missing])
        #expect {
            try durable.finish(folders: [scratch.url.path])
        } throws: { error in
            guard case .ioFailure(let path, _)? = error as? AudioIOError else { return false }
            return path == missing
        }
        let noFolder = AtomicFile.BackgroundSync()
        #expect(throws: AudioIOError.self) { try noFolder.finish(folders: [scratch.url.path + "/no-such-folder"]) }
    }

    @Test func backgroundSyncBeyondItsLimitSyncsEverythingOnceInstead() throws {
        let scratch = try ScratchDirectory()
        let durable = AtomicFile.BackgroundSync(fileLimit: 2)
        let files = (0..<2).map { scratch.url.appendingPathComponent("f\($0).bin") }
        for file in files { try AtomicFile.write(Data([7]), to: file, durability: .renameOnly) }
        durable.add(files.map(\.path))
        // Past the limit, files are no longer flushed one by one (this one would fail): one sync covers them.
        durable.add([scratch.url.appendingPathComponent("never-written.bin").path])
        try durable.finish(folders: [scratch.url.path])
        let fallback = AtomicFile.BackgroundSync()
        fallback.fallBackToSyncAll()
        try fallback.finish(folders: [])
    }

    @Test func backgroundDurabilityFlushesArraysAsTheyGrowAndWhenRenamed() throws {
        let scratch = try ScratchDirectory()
        let durable = AtomicFile.BackgroundSync()
        var rng = SplitMix64(seed: 17)
        let rows = (0..<1200).map { _ in rng.uniformArray(1024) }  // 4.9 MB: two flushes while it grows
        let path = scratch.path("grown.npy")
        let writer = try NPYStreamWriter(path: path, rowShape: [1024], durability: .background(durable))
        for row in rows { try writer.append(row) }
        try writer.finish()
        do {
            // Abandoned: its temporary file may be gone before its queued flush runs, which is no error.
            let abandoned = try NPYStreamWriter(
                path: scratch.path("abandoned.npy"), rowShape: [1024], durability: .background(durable))
            for row in rows.prefix(700) { try abandoned.append(row) }
        }
        try AtomicFile.write(
            Data([1, 2]), to: scratch.url.appendingPathComponent("part.csv"), durability: .background(durable))
        try durable.finish(folders: [scratch.url.path])
        #expect(try NPY.read(path: path) == NPYArray(shape: [1200, 1024], values: Array(rows.joined())))
        #expect(try scratch.contents() == ["grown.npy", "part.csv"])
    }

    @Test func durabilitiesCompareTheirFlusher() {
        let a = AtomicFile.BackgroundSync()
        let b = AtomicFile.BackgroundSync()
        #expect(AtomicFile.Durability.background(a) == .background(a))
        #expect(AtomicFile.Durability.background(a) != .background(b))
        #expect(AtomicFile.Durability.background(a) != .renameOnly)
        #expect(AtomicFile.Durability.synced != .renameOnly)
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
