import Foundation
import TestSupport

/// The Python interpreter with numpy and soundfile used to cross-check files our code writes.
///
/// `SEQTOOL_PYTHON` if set, else `../venv/bin/python` beside the checkout; `nil` (tests skip with a message)
/// when neither can import numpy and soundfile.
enum PythonReference {
    static let executable: String? = {
        var candidates: [String] = []
        if let fromEnvironment = ProcessInfo.processInfo.environment["SEQTOOL_PYTHON"] {
            candidates.append(fromEnvironment)
        }
        candidates.append(
            TestPaths.packageRoot.deletingLastPathComponent().appendingPathComponent("venv/bin/python").path)
        return candidates.first { candidate in
            FileManager.default.isExecutableFile(atPath: candidate)
                && (try? run(candidate, ["-c", "import numpy, soundfile"])) == 0
        }
    }()

    /// Runs `audio_fixtures.py verify <folder>`, which writes `<file>.check.f32/.json` beside every file there.
    static func verify(_ folder: URL) throws {
        guard let python = executable else { throw PythonUnavailable() }
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/fixtures/audio_fixtures.py").path
        let status = try run(python, [script, "verify", folder.path])
        guard status == 0 else { throw PythonFailed(status: status) }
    }

    /// The `.check.json` report the verify script wrote for `file`.
    static func report(_ file: String) throws -> [String: JSONValue] {
        let data = try Data(contentsOf: URL(fileURLWithPath: file + ".check.json"))
        return try JSONDecoder().decode([String: JSONValue].self, from: data)
    }

    /// The values the verify script read from `file` (float32, C order / planar).
    static func values(_ file: String) throws -> [Float] {
        try loadFloat32Fixture(URL(fileURLWithPath: file + ".check.f32"))
    }

    struct PythonUnavailable: Error {}
    struct PythonFailed: Error { let status: Int32 }

    private static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
