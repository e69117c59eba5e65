import Foundation

/// What kind of reader a file needs.
enum InputKind: Equatable {
    case audio
    case sensorCSV
}

/// One input file found on the command line, with its label.
struct InputFile: Equatable {
    /// Absolute or as-given path.
    let path: String
    /// The path relative to the argument it was found under (used to name outputs without clashes).
    let relativeName: String
    let kind: InputKind
    /// The class label from the folder name or file-name regex, or `nil`.
    var label: String?
}

/// Errors in the command-line inputs, each naming the argument.
enum InputError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case noFiles(String)
    case badRegex(pattern: String, reason: String)
    case noLabel(path: String, pattern: String)

    var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file, folder or glob match"
        case .noFiles(let arg): return "\(arg): no audio or CSV files found"
        case .badRegex(let pattern, let reason): return "--label-regex '\(pattern)': \(reason)"
        case .noLabel(let path, let pattern): return "\(path): file name does not match --label-regex '\(pattern)'"
        }
    }
}

/// Where a file's label comes from.
enum LabelSource: Equatable {
    case none
    /// The name of the folder that holds the file (`digits/seven/a.wav` → `seven`).
    case folder
    /// The first capture group (or the whole match) of a regex applied to the file name.
    case regex(String)
}

/// Expands files, folders (recursively) and glob patterns into a sorted, de-duplicated list of input files.
enum InputExpander {
    /// File extensions read as audio through libsndfile.
    static let audioExtensions: Set<String> = [
        "wav", "wave", "flac", "ogg", "oga", "opus", "aif", "aiff", "aifc", "au", "snd", "w64", "rf64", "caf",
        "mp3", "voc", "sd2", "htk", "sf", "paf", "pvf", "xi", "mat", "mat4", "mat5",
    ]

    static func kind(of path: String) -> InputKind? {
        let ext = (path as NSString).pathExtension.lowercased()
        if ext == "csv" { return .sensorCSV }
        return audioExtensions.contains(ext) ? .audio : nil
    }

    /// - Throws: `InputError.notFound` for an argument that names nothing, `.noFiles` for a folder or glob
    ///   without any readable file, `.badRegex` / `.noLabel` for labels.
    static func expand(_ arguments: [String], labels: LabelSource) throws -> [InputFile] {
        var files: [InputFile] = []
        var seen = Set<String>()
        let regex: NSRegularExpression?
        if case .regex(let pattern) = labels {
            do {
                regex = try NSRegularExpression(pattern: pattern)
            } catch {
                throw InputError.badRegex(pattern: pattern, reason: "\(error.localizedDescription)")
            }
        } else {
            regex = nil
        }
        let fm = FileManager.default
        let cwd = fm.currentDirectoryPath
        for argument in arguments {
            var found: [(path: String, relative: String)] = []
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: argument, isDirectory: &isDirectory) {
                if isDirectory.boolValue {
                    // The file type comes from readdir (no stat per entry); names are relative to the argument.
                    let root = URL(fileURLWithPath: argument, isDirectory: true)
                    let base = root.path.hasSuffix("/") ? root.path : root.path + "/"
                    let enumerator = fm.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
                    while let url = enumerator?.nextObject() as? URL {
                        let full = url.path
                        guard full.hasPrefix(base) else { continue }
                        let relative = String(full.dropFirst(base.count))
                        guard kind(of: relative) != nil,
                            (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true
                        else { continue }
                        found.append(((argument as NSString).appendingPathComponent(relative), relative))
                    }
                    if found.isEmpty { throw InputError.noFiles(argument) }
                } else {
                    found.append((argument, (argument as NSString).lastPathComponent))
                }
            } else if argument.contains(where: { "*?[".contains($0) }) {
                let matches = globPaths(argument).filter { kind(of: $0) != nil }
                if matches.isEmpty { throw InputError.noFiles(argument) }
                found = matches.map { ($0, ($0 as NSString).lastPathComponent) }
            } else {
                throw InputError.notFound(argument)
            }
            for (path, relative) in found.sorted(by: { $0.relative < $1.relative }) {
                let key = ((path.hasPrefix("/") ? path : cwd + "/" + path) as NSString).standardizingPath
                guard seen.insert(key).inserted else { continue }
                // A file given directly whose extension we do not know is read as audio: libsndfile decides.
                let fileKind = kind(of: path) ?? .audio
                let label = try self.label(for: path, source: labels, regex: regex)
                files.append(InputFile(path: path, relativeName: relative, kind: fileKind, label: label))
            }
        }
        return files
    }

    static func label(for path: String, source: LabelSource, regex: NSRegularExpression?) throws -> String? {
        switch source {
        case .none:
            return nil
        case .folder:
            let folder = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
            return folder.isEmpty ? nil : folder
        case .regex(let pattern):
            let name = (path as NSString).lastPathComponent
            let range = NSRange(name.startIndex..., in: name)
            guard let regex, let match = regex.firstMatch(in: name, range: range) else {
                throw InputError.noLabel(path: path, pattern: pattern)
            }
            let group = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
            guard let swiftRange = Range(group, in: name) else {
                throw InputError.noLabel(path: path, pattern: pattern)
            }
            return String(name[swiftRange])
        }
    }

    private static func globPaths(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { i in
            result.gl_pathv[i].map { String(cString: $0) }
        }
    }
}
