import AudioIO
import Foundation

extension Dataset {
    /// Reads the windows a `seqtool crop` run wrote (`manifest.csv` + `arrays/*.npy`): one `LoadedFile` per
    /// window, whose group is its source file (so a split never puts windows of one recording on both sides).
    ///
    /// - Throws: `JobError.badData` naming the manifest (line) or array for a missing column, a WAV-clip
    ///   manifest, an unreadable array, a row outside its array, or windows of different shapes or rates.
    static func loadManifest(_ path: String) throws -> [LoadedFile] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw JobError.badData(source: path, reason: "unreadable: \(error.localizedDescription)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let header = lines.first.map(parseCSVLine) else {
            throw JobError.badData(source: path, reason: "empty manifest")
        }
        var column: [String: Int] = [:]
        for name in ["array", "row", "source", "label", "sample_rate"] {
            guard let index = header.firstIndex(of: name) else {
                throw JobError.badData(source: path, reason: "no '\(name)' column (not a crop manifest)")
            }
            column[name] = index
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var arrays: [String: NPYArray] = [:]
        var files: [LoadedFile] = []
        for (n, line) in lines.enumerated().dropFirst() {
            let cells = parseCSVLine(line)
            func cell(_ name: String) -> String {
                let i = column[name] ?? 0
                return i < cells.count ? cells[i] : ""
            }
            let place = "\(path):\(n + 1)"
            let name = cell("array")
            guard name.lowercased().hasSuffix(".npy") else {
                throw JobError.badData(source: place, reason: "'\(name)' is not an .npy array (crop with --format npy)")
            }
            guard let row = Int(cell("row")), row >= 0, let rate = Double(cell("sample_rate")), rate > 0 else {
                throw JobError.badData(source: place, reason: "bad row or sample_rate")
            }
            if arrays[name] == nil {
                let arrayPath = folder.appendingPathComponent(name).path
                do {
                    arrays[name] = try NPY.read(path: arrayPath)
                } catch {
                    throw JobError.badData(source: arrayPath, reason: "unreadable: \(error)")
                }
            }
            guard let array = arrays[name], array.shape.count == 3, row < array.shape[0] else {
                throw JobError.badData(source: place, reason: "row \(row) is not a window of \(name)")
            }
            let (channels, length) = (array.shape[1], array.shape[2])
            let size = channels * length
            let signal = try Signal(
                samples: Array(array.values[(row * size)..<((row + 1) * size)]), channels: channels, sampleRate: rate)
            let label = cell("label")
            files.append(
                LoadedFile(
                    path: "\(cell("source"))#\(name)[\(row)]", label: label.isEmpty ? nil : label,
                    group: cell("source"), signal: signal))
        }
        guard !files.isEmpty else { throw JobError.badData(source: path, reason: "the manifest lists no windows") }
        if let first = files.first, let other = files.first(where: { $0.signal.frames != first.signal.frames }) {
            throw JobError.badData(
                source: other.path,
                reason: "\(other.signal.frames)-sample window, but \(first.path) has \(first.signal.frames)")
        }
        return files
    }

    /// The fields of one RFC 4180 CSV line (quoted fields may hold commas and doubled quotes).
    static func parseCSVLine(_ line: String) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var iterator = Array(line.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))).makeIterator()
        var pending: Character? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" {
                            field.append("\"")
                        } else {
                            quoted = false
                            pending = next
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(c)
            }
        }
        fields.append(field)
        return fields
    }
}
