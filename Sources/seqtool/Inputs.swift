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
        let ext = pathExtension(path).lowercased()
        if ext == "csv" { return .sensorCSV }
        return audioExtensions.contains(ext) ? .audio : nil
    }

    /// The text after the last `.` of the path's last component (`""` for none, or for a hidden file such as
    /// `.wav`), as `NSString.pathExtension` gives it, without bridging (this ran once per input file).
    static func pathExtension(_ path: String) -> String {
        guard let dot = extensionDot(path) else { return "" }
        let end = trimmedEnd(path)
        return String(Substring(path.utf8[path.utf8.index(after: dot)..<end]))
    }

    /// The path without its extension and its `.`, as `NSString.deletingPathExtension` gives it.
    static func deletingPathExtension(_ path: String) -> Substring {
        Substring(path.utf8[..<(extensionDot(path) ?? trimmedEnd(path))])
    }

    /// Where the last component's extension `.` is, if it has one (a leading `.` is part of the name, and `..` has
    /// none).
    private static func extensionDot(_ path: String) -> String.Index? {
        let utf8 = path.utf8[..<trimmedEnd(path)]
        let name = utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8[utf8.index(after: $0)...] } ?? utf8
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex, !name.elementsEqual("..".utf8)
        else { return nil }
        return dot
    }

    /// The end of `path` without trailing slashes (a lone `/` is kept).
    private static func trimmedEnd(_ path: String) -> String.Index {
        var utf8 = path.utf8[...]
        while utf8.count > 1, utf8.last == UInt8(ascii: "/") { utf8 = utf8.dropLast() }
        return utf8.endIndex
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
            // The de-duplication key of a file listed below a folder is the folder's key + "/" + the listed path
            // (which holds no `.`, `..` or empty component): normalised once per argument, not per file.
            var folderKey: String?
            if fm.fileExists(atPath: argument, isDirectory: &isDirectory) {
                if isDirectory.boolValue {
                    // `appendingPathComponent` tidies the folder's slashes; a listed path needs no tidying, so
                    // the prefix it puts before one name serves for every name.
                    let prefix = String((argument as NSString).appendingPathComponent("_").dropLast())
                    for relative in listFiles(below: argument) where kind(of: relative) != nil {
                        found.append((prefix + relative, relative))
                    }
                    if found.isEmpty { throw InputError.noFiles(argument) }
                    let key = lexicallyNormalized(argument.hasPrefix("/") ? argument : cwd + "/" + argument)
                    folderKey = key == "/" ? "" : key
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
                let key =
                    folderKey.map { $0 + "/" + relative }
                    ?? lexicallyNormalized(path.hasPrefix("/") ? path : cwd + "/" + path)
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

    /// An absolute path with `.`, `..` and repeated `/` resolved as text (no file-system access, unlike
    /// `NSString.standardizingPath`, which cost more per file than cropping it): the key that finds a file given
    /// twice. Symbolic links are not resolved, so a file reached through two links counts twice.
    static func lexicallyNormalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                _ = parts.popLast()
            } else {
                parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Every regular file below `root` (recursively, following links), as paths relative to it.
    ///
    /// Plain `readdir`: the entry's type comes with its name, so a folder of 2,000 clips costs a few system
    /// calls, not a `stat` per file (Foundation's enumerators took longer than cropping the clips).
    static func listFiles(below root: String) -> [String] {
        var result: [String] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let folder = relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
            guard let directory = opendir(folder) else { continue }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = relative.isEmpty ? name : relative + "/" + name
                var type = Int32(entry.pointee.d_type)
                if type == Int32(DT_LNK) || type == Int32(DT_UNKNOWN) {
                    var status = stat()
                    guard stat((root as NSString).appendingPathComponent(path), &status) == 0 else { continue }
                    type = status.st_mode & S_IFMT == S_IFDIR ? Int32(DT_DIR) : Int32(DT_REG)
                }
                if type == Int32(DT_DIR) {
                    pending.append(path)
                } else if type == Int32(DT_REG) {
                    result.append(path)
                }
            }
        }
        return result
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
