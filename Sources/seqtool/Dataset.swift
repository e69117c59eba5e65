import AudioIO
import Foundation
import TCN
import Windowing

/// One file (or UEA case, or sensor segment) read into memory with its label and group.
struct LoadedFile: Sendable {
    /// The path (`train.ts#12` for a UEA case, `pump.csv#0` for a sensor segment).
    var path: String
    /// The class name, or `nil` (anomaly data).
    var label: String?
    /// The split group (speaker), or `nil`.
    var group: String?
    var signal: Signal
    /// Per-sample labels of a sensor file (its `label` column), or `nil`.
    var sampleLabels: [String]?
}

/// The files of a job divided into training, validation and test parts, with the class names.
struct JobData: Sendable {
    var train: [LoadedFile]
    var validation: [LoadedFile]
    var test: [LoadedFile]
    /// Sorted class names (classification), the order of the model's outputs.
    var labels: [String]
}

/// Reading the data a `JobConfig` names.
enum Dataset {
    /// Reads every file of a folder with labels from sub-folder names or a file-name regex.
    ///
    /// - Throws: `JobError.badData` naming the folder (no files, no labels) or the unreadable file.
    static func loadFolder(_ folder: String, labels: LabelSource, groupRegex: String? = nil) throws -> [LoadedFile] {
        let inputs: [InputFile]
        do {
            inputs = try InputExpander.expand([folder], labels: labels)
        } catch InputError.noFiles {
            throw JobError.badData(source: folder, reason: "no audio files found")
        } catch let error as InputError {
            throw JobError.badData(source: folder, reason: "\(error)")
        }
        let audio = inputs.filter { $0.kind == .audio }
        guard !audio.isEmpty else { throw JobError.badData(source: folder, reason: "no audio files found") }
        let regex = try groupRegex.map { pattern -> NSRegularExpression in
            do {
                return try NSRegularExpression(pattern: pattern)
            } catch {
                throw JobError.invalidValue(file: "", key: "split.groupRegex", value: pattern, reason: "not a regex")
            }
        }
        var files: [LoadedFile] = []
        for input in audio {
            guard let label = input.label, !label.isEmpty else {
                throw JobError.badData(source: input.path, reason: "no label (put clips in one folder per class)")
            }
            let signal: Signal
            do {
                signal = try AudioFile.read(path: input.path)
            } catch {
                throw JobError.badData(source: input.path, reason: "unreadable: \(error)")
            }
            var group: String?
            if let regex, let pattern = groupRegex {
                guard let value = try? InputExpander.label(for: input.path, source: .regex(pattern), regex: regex)
                else {
                    throw JobError.badData(
                        source: input.path, reason: "file name does not match split.groupRegex '\(pattern)'")
                }
                group = value
            }
            files.append(LoadedFile(path: input.path, label: label, group: group, signal: signal))
        }
        return files
    }

    /// Reads a UEA `.ts` file: one `LoadedFile` per case.
    ///
    /// - Throws: `JobError.badData` naming the file.
    static func loadUEA(_ path: String) throws -> [LoadedFile] {
        let dataset: UEADataset
        do {
            dataset = try UEA.read(path: path)
        } catch {
            throw JobError.badData(source: path, reason: "unreadable: \(error)")
        }
        guard let labels = dataset.labels else {
            throw JobError.badData(source: path, reason: "the cases have no labels")
        }
        return zip(dataset.cases, labels).enumerated().map { i, pair in
            LoadedFile(path: "\(path)#\(i)", label: pair.1, group: nil, signal: pair.0)
        }
    }

    /// Reads sensor CSVs: one `LoadedFile` per regular segment (gaps split the stream).
    ///
    /// - Throws: `JobError.badData` naming the file.
    static func loadSensor(_ paths: [String], sampleRate: Double?) throws -> [LoadedFile] {
        var files: [LoadedFile] = []
        for path in paths {
            let recording: SensorRecording
            do {
                recording = try SensorCSV.read(
                    path: path, options: SensorCSVOptions(sampleRate: sampleRate, gapPolicy: .split))
            } catch {
                throw JobError.badData(source: path, reason: "unreadable: \(error)")
            }
            var offset = 0
            for (i, segment) in recording.segments.enumerated() {
                let n = segment.signal.frames
                let labels = recording.labels.map { Array($0[offset..<(offset + n)]) }
                files.append(
                    LoadedFile(
                        path: "\(path)#\(i)", label: nil, group: nil, signal: segment.signal, sampleLabels: labels))
                offset += n
            }
        }
        guard !files.isEmpty else {
            throw JobError.badData(source: paths.joined(separator: ", "), reason: "no samples")
        }
        return files
    }

    /// Reads and splits the data of `config`.
    ///
    /// - Throws: `JobError.badData` for unusable data (no labelled files, one class, an empty part).
    static func load(_ config: JobConfig) throws -> JobData {
        let data = config.data
        var pool: [LoadedFile]
        var givenTest: [LoadedFile]?
        let labelSource: LabelSource = data.labels == .regex ? .regex(data.labelRegex ?? "") : .folder
        switch data.kind {
        case .folder:
            let folder = config.resolve(data.path ?? ".")
            pool = try loadFolder(folder, labels: labelSource, groupRegex: config.split.groupRegex)
            if config.split.by == .given, let test = data.test {
                givenTest = try loadFolder(
                    config.resolve(test), labels: labelSource, groupRegex: config.split.groupRegex)
            }
        case .uea:
            pool = try loadUEA(config.resolve(data.train ?? ""))
            givenTest = try loadUEA(config.resolve(data.test ?? ""))
        case .manifest:
            pool = try loadManifest(config.resolve(data.path ?? "manifest.csv"))
            if let pattern = config.split.groupRegex {
                let regex = try? NSRegularExpression(pattern: pattern)
                for i in pool.indices {
                    let source = pool[i].group ?? ""
                    guard let value = try? InputExpander.label(for: source, source: .regex(pattern), regex: regex)
                    else {
                        throw JobError.badData(
                            source: source, reason: "file name does not match split.groupRegex '\(pattern)'")
                    }
                    pool[i].group = value
                }
            }
        case .sensor:
            pool = try loadSensor((data.files ?? []).map(config.resolve), sampleRate: data.sampleRate)
        }
        try checkConsistent(pool + (givenTest ?? []))
        let source = data.path.map(config.resolve) ?? data.train.map(config.resolve) ?? "data"
        var labels: [String] = []
        if config.task == .classification {
            labels = Array(Set(pool.compactMap(\.label))).sorted()
            guard labels.count >= 2 else {
                throw JobError.badData(
                    source: source,
                    reason: "only one class (\(labels.first ?? "none")) in the training data; need at least two")
            }
            if let test = givenTest, let unknown = test.first(where: { !labels.contains($0.label ?? "") }) {
                throw JobError.badData(
                    source: unknown.path, reason: "class '\(unknown.label ?? "")' does not occur in the training data")
            }
        }
        var random = TCNRandom(seed: config.seed &+ 0x5EED)
        let split = config.split
        var train: [LoadedFile]
        var test: [LoadedFile]
        switch split.by {
        case .given:
            (train, test) = (pool, givenTest ?? [])
        case .file where data.kind == .manifest:
            // Windows of one source stay together: split the sources, not the windows.
            (train, test) = try grouped(
                pool, names: nil, fraction: split.testFraction, key: "split.testFraction", random: &random)
        case .file:
            (train, test) = stratified(pool, fraction: split.testFraction, random: &random)
        case .group:
            (train, test) = try grouped(
                pool, names: split.testGroups, fraction: split.testFraction, key: "split.testGroups", random: &random)
        }
        var validation: [LoadedFile] = []
        if split.validationFraction > 0 {
            if split.by == .group || data.kind == .manifest {
                (train, validation) = try grouped(
                    train, names: split.validationGroups, fraction: split.validationFraction,
                    key: "split.validationGroups", random: &random)
            } else {
                (train, validation) = stratified(train, fraction: split.validationFraction, random: &random)
            }
        }
        guard !train.isEmpty else { throw JobError.badData(source: source, reason: "the training part is empty") }
        if config.task == .classification, Set(train.compactMap(\.label)).count < 2 {
            throw JobError.badData(source: source, reason: "the training part holds fewer than two classes")
        }
        return JobData(train: train, validation: validation, test: test, labels: labels)
    }

    /// Every file must share the first file's sample rate and channel count.
    static func checkConsistent(_ files: [LoadedFile]) throws {
        guard let first = files.first else { return }
        for file in files {
            if file.signal.sampleRate != first.signal.sampleRate {
                throw JobError.badData(
                    source: file.path,
                    reason:
                        "sample rate \(file.signal.sampleRate) Hz, but \(first.path) has \(first.signal.sampleRate) Hz")
            }
            if file.signal.channels != first.signal.channels {
                throw JobError.badData(
                    source: file.path,
                    reason: "\(file.signal.channels) channels, but \(first.path) has \(first.signal.channels)")
            }
        }
    }

    /// Seeded, per class: `round(fraction · n)` files of each class go to the second part (files without a label
    /// form one class).
    static func stratified(
        _ files: [LoadedFile], fraction: Double, random: inout TCNRandom
    ) -> ([LoadedFile], [LoadedFile]) {
        guard fraction > 0 else { return (files, []) }
        var byClass: [String: [Int]] = [:]
        for (i, file) in files.enumerated() { byClass[file.label ?? "", default: []].append(i) }
        var second = Set<Int>()
        for key in byClass.keys.sorted() {
            var members = byClass[key] ?? []
            shuffle(&members, &random)
            let take = min(members.count - 1, Int((fraction * Double(members.count)).rounded()))
            second.formUnion(members.prefix(max(0, take)))
        }
        let indices = files.indices
        return (
            indices.filter { !second.contains($0) }.map { files[$0] }, indices.filter(second.contains).map { files[$0] }
        )
    }

    /// By group: the named groups (or a seeded `fraction` of the groups, at least one) go to the second part.
    ///
    /// - Throws: `JobError.badData` when a named group does not exist or fewer than two groups remain.
    static func grouped(
        _ files: [LoadedFile], names: [String]?, fraction: Double, key: String, random: inout TCNRandom
    ) throws -> ([LoadedFile], [LoadedFile]) {
        let groups = Array(Set(files.map { $0.group ?? "" })).sorted()
        var chosen: Set<String>
        if let names {
            for name in names where !groups.contains(name) {
                throw JobError.invalidValue(
                    file: "", key: key, value: name, reason: "no such group (groups: \(groups.joined(separator: ", ")))"
                )
            }
            chosen = Set(names)
        } else {
            guard fraction > 0 else { return (files, []) }
            guard groups.count >= 2 else {
                throw JobError.badData(
                    source: key, reason: "only one group (\(groups.first ?? "")); cannot split by group")
            }
            var order = groups
            shuffle(&order, &random)
            let take = min(groups.count - 1, max(1, Int((fraction * Double(groups.count)).rounded())))
            chosen = Set(order.prefix(take))
        }
        guard chosen.count < groups.count else {
            throw JobError.invalidValue(
                file: "", key: key, value: "\(chosen.sorted())", reason: "no group left to train on")
        }
        return (files.filter { !chosen.contains($0.group ?? "") }, files.filter { chosen.contains($0.group ?? "") })
    }

    private static func shuffle<T>(_ values: inout [T], _ random: inout TCNRandom) {
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
    }
}
