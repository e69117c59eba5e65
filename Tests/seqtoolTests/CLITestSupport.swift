import Foundation
import TestSupport

/// The result of running the built `seqtool` binary.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the `seqtool` binary built beside the test bundle with `arguments`, in the package root.
func runSeqtool(_ arguments: [String]) throws -> RunResult {
    let process = Process()
    process.executableURL = seqtoolBinary
    process.arguments = arguments
    process.currentDirectoryURL = TestPaths.packageRoot
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// `.build/<config>/seqtool`: the folder that holds the test bundle holds the products too.
let seqtoolBinary: URL = {
    let candidates = [
        Bundle.main.bundleURL.appendingPathComponent("seqtool"),
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("seqtool"),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("seqtool"),
        TestPaths.packageRoot.appendingPathComponent(".build/debug/seqtool"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[3]
}()

/// Every regular file below `folder`, relative paths, sorted.
func filesBelow(_ folder: URL) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: folder.path)
    var files: [String] = []
    while let path = enumerator?.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path, isDirectory: &isDirectory),
            !isDirectory.boolValue
        {
            files.append(path)
        }
    }
    return files.sorted()
}

/// Copies `Samples/digits/<word>/` clips into a fresh folder `<tmp>/<word>/` and returns the temp root.
func copyDigits(_ words: [String]) throws -> URL {
    let root = try TestPaths.temporaryDirectory("crop-in")
    for word in words {
        let source = TestPaths.packageRoot.appendingPathComponent("Samples/digits/\(word)")
        try FileManager.default.copyItem(at: source, to: root.appendingPathComponent(word))
    }
    return root
}
