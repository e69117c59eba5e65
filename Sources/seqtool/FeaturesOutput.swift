import AudioIO
import Foundation
import Spectral

/// One output array, as `features.json` lists it.
struct FeatureOutput: Encodable, Equatable, Sendable {
    /// The input file, or the crop array the windows came from.
    var source: String
    /// The file name under the output folder (`zero__ava_0.npy`, `shard-00000.npy`).
    var output: String
    /// Hz (the first window's rate for a crop array).
    var sampleRate: Double
    var channels: Int
    /// Windows (rows) of a crop array; `nil` for a file.
    var windows: Int?
    /// Feature frames per channel (per window for a crop array).
    var frames: Int
    /// The array's shape: `[frames, dims]`, `[channels, frames, dims]`, `[windows, frames, dims]` or
    /// `[windows, channels, frames, dims]`.
    var shape: [Int]
    /// Seconds of audio it was computed from.
    var seconds: Double
    /// Kept from an earlier run (not written to `features.json`).
    var reused = false

    private enum CodingKeys: String, CodingKey {
        case source, output, sampleRate, channels, windows, frames, shape, seconds
    }
}

/// An input that failed with `--on-error skip`.
struct FailedInput: Encodable, Equatable, Sendable {
    var source: String
    var error: String
}

/// The effective feature options, as `features.json` records them (names follow librosa where it has one).
struct OptionsRecord: Encodable, Equatable, Sendable {
    /// `nil`: each file's own rate.
    var sampleRate: Double?
    var frameLength: Int
    var hopLength: Int
    var nFFT: Int
    var winLength: Int
    var window: String
    var periodicWindow: Bool
    var boundary: String
    var spectrum: String
    var nMels: Int?
    var fmin: Double?
    var fmax: Double?
    var melScale: String?
    var melNorm: String?
    var log: String
    var nMFCC: Int?
    var lifter: String?
    var energy: String
    /// Values per frame (the last dimension of every array).
    var dims: Int

    init(_ options: FeatureOptions, sampleRate: Double?) {
        self.sampleRate = sampleRate
        frameLength = options.frameLength
        hopLength = options.hopLength
        nFFT = options.nFFT
        winLength = options.windowLength ?? options.frameLength
        window = "\(options.window)"
        periodicWindow = options.periodicWindow
        boundary = "\(options.boundary)"
        spectrum = "\(options.spectrum)"
        nMels = options.mel?.bands
        fmin = options.mel?.minHz
        fmax = options.mel?.maxHz
        melScale = options.mel.map { "\($0.scale)" }
        melNorm = options.mel.map { "\($0.norm)" }
        log = "\(options.log)"
        nMFCC = options.cepstrum?.count
        lifter = options.cepstrum.map { "\($0.lifter)" }
        energy = "\(options.energy)"
        dims = options.dims
    }

    private enum CodingKeys: String, CodingKey {
        case sampleRate, frameLength, hopLength, winLength, window, periodicWindow, boundary, spectrum, fmin, fmax
        case melScale, melNorm, log, lifter, energy, dims
        case nFFT = "n_fft"
        case nMels = "n_mels"
        case nMFCC = "n_mfcc"
    }
}

/// `features.json`: what a `seqtool features` run computed, and from what.
struct FeaturesDocument: Encodable, Equatable, Sendable {
    /// `running` while outputs are being written, `complete` at the end.
    var status = "running"
    /// Identifies preset, options and mode; a rerun keeps existing outputs only when it matches.
    var fingerprint: String
    var preset: String
    /// `files` or `crop`.
    var mode: String
    var layout: String
    var framing: String
    var options: OptionsRecord
    /// The crop manifest the windows were listed in (`--from-crop`).
    var cropManifest: String?
    var outputs: [FeatureOutput] = []
    var failed: [FailedInput] = []

    init(job: FeaturesJob, mode: String) {
        fingerprint = job.fingerprint(mode: mode)
        preset = job.preset.rawValue
        self.mode = mode
        options = OptionsRecord(job.options, sampleRate: job.requiredRate)
        if mode == "crop" {
            layout =
                "[windows, frames, dims] for mono windows, [windows, channels, frames, dims] otherwise; row w of "
                + "<shard>.npy is window w of the crop's arrays/<shard>.npy (manifest.csv rows of that array)"
            framing =
                "each window is analysed as a whole signal: frames follow the boundary rule inside the window "
                + "(padding never takes neighbouring windows' samples); global log clamps are per window"
        } else {
            layout = "[frames, dims] for mono files, [channels, frames, dims] for multichannel files"
            framing = "each file is analysed whole at its own sample rate, with the boundary rule of the options"
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// A `seqtool crop` output folder: its `manifest.csv` and the `.npy` arrays it lists.
struct CropSource {
    /// One array of the crop run and the sample rate of each of its rows.
    struct ArrayEntry {
        /// The manifest's `array` column, relative to the crop folder (`arrays/shard-00000.npy`).
        var name: String
        /// Row → sample rate (Hz).
        var rates: [Int: Double]
    }

    let folder: URL
    let manifest: URL

    /// `path` is the crop folder or its `manifest.csv`.
    ///
    /// - Throws: `FeaturesFailure` when neither exists.
    init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FeaturesFailure(message: "--from-crop \(path): no such folder or manifest")
        }
        if isDirectory.boolValue {
            folder = URL(fileURLWithPath: path)
            manifest = folder.appendingPathComponent("manifest.csv")
        } else {
            manifest = URL(fileURLWithPath: path)
            folder = manifest.deletingLastPathComponent()
        }
    }

    /// The arrays the manifest lists, in order of first appearance.
    ///
    /// - Throws: `FeaturesFailure` naming the manifest and line for a missing file, a missing column, a bad row
    ///   or sample rate, or WAV clips (`--format wav`) instead of arrays.
    func arrays() throws -> [ArrayEntry] {
        guard let text = try? String(contentsOf: manifest, encoding: .utf8) else {
            throw FeaturesFailure(message: "\(manifest.path): cannot read the crop manifest")
        }
        let records = parseCSV(text)
        guard let header = records.first, let arrayColumn = header.firstIndex(of: "array"),
            let rowColumn = header.firstIndex(of: "row"), let rateColumn = header.firstIndex(of: "sample_rate")
        else {
            throw FeaturesFailure(message: "\(manifest.path): not a crop manifest (needs array, row, sample_rate)")
        }
        var entries: [ArrayEntry] = []
        var index: [String: Int] = [:]
        for (line, record) in records.enumerated().dropFirst() where record != [""] {
            guard record.count == header.count, let row = Int(record[rowColumn]), row >= 0,
                let rate = Double(record[rateColumn]), rate > 0
            else {
                throw FeaturesFailure(message: "\(manifest.path) line \(line + 1): bad row or sample_rate")
            }
            let name = record[arrayColumn]
            guard name.hasSuffix(".npy") else {
                throw FeaturesFailure(
                    message: "\(manifest.path) line \(line + 1): \(name) is not an array (crop --format wav made "
                        + "clips; give their folder as INPUT instead)")
            }
            if index[name] == nil {
                index[name] = entries.count
                entries.append(ArrayEntry(name: name, rates: [:]))
            }
            if let i = index[name] { entries[i].rates[row] = rate }
        }
        return entries
    }
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, `""` and newlines).
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var quoted = false
    var iterator = text.makeIterator()
    while let character = iterator.next() {
        if quoted {
            if character == "\"" {
                // A doubled quote is a literal quote; otherwise the quoted part ends (read on as plain text).
                if let next = iterator.next() {
                    if next == "\"" {
                        field.append("\"")
                    } else {
                        quoted = false
                        if next == "," {
                            record.append(field)
                            field = ""
                        } else if next == "\n" || next == "\r\n" {
                            record.append(field)
                            records.append(record)
                            record = []
                            field = ""
                        } else {
                            field.append(next)
                        }
                    }
                } else {
                    quoted = false
                }
            } else {
                field.append(character)
            }
        } else if character == "\"" && field.isEmpty {
            quoted = true
        } else if character == "," {
            record.append(field)
            field = ""
        } else if character == "\n" || character == "\r\n" {
            record.append(field)
            records.append(record)
            record = []
            field = ""
        } else {
            field.append(character)
        }
    }
    if !field.isEmpty || !record.isEmpty {
        record.append(field)
        records.append(record)
    }
    return records
}
