import ArgumentParser
import Foundation
import Spectral
import TestSupport
import Testing

@testable import seqtool

/// `seqtool features` in process: presets, size flags, validation, the manifest reader and the summary.
@Suite struct FeaturesTests {
    @Test func presetNamesMapToTheLibraryPresets() throws {
        let expected: [String: FeatureOptions] = [
            "librosa": .librosa, "librosa-mfcc": .librosaMFCC, "torchaudio": .torchaudio, "kaldi": .kaldi,
            "kaldi-streaming": .kaldiStreaming, "kaldi-mfcc": .kaldiMFCC, "whisper": .whisper, "psf": .psf,
            "psf-logfbank": .psfLogFbank,
        ]
        #expect(FeaturePreset.allCases.count == expected.count)
        for (name, options) in expected {
            let command = try FeaturesCommand.parse(["a.wav", "--out", "o", "--preset", name.uppercased()])
            #expect(try command.featureOptions() == options, "\(name)")
        }
    }

    @Test func centredPresetsTakeNFFTAsTheFrame() throws {
        let command = try FeaturesCommand.parse([
            "a.wav", "--out", "o", "--preset", "librosa", "--n-fft", "1024", "--win-length", "800", "--hop", "256",
            "--n-mels", "64", "--fmin", "20", "--fmax", "4000",
        ])
        let options = try command.featureOptions()
        #expect(options.frameLength == 1024 && options.nFFT == 1024 && options.windowLength == 800)
        #expect(options.hopLength == 256 && options.mel?.bands == 64)
        #expect(options.mel?.minHz == 20 && options.mel?.maxHz == 4000)
        #expect(options.boundary == FeatureOptions.librosa.boundary)
    }

    @Test func kaldiWindowsRoundTheFFTUpToAPowerOfTwo() throws {
        let options = try FeaturesCommand.parse(["a.wav", "--out", "o", "--preset", "kaldi", "--win-length", "600"])
            .featureOptions()
        #expect(options.frameLength == 600 && options.nFFT == 1024 && options.windowLength == nil)
        let exact = try FeaturesCommand.parse([
            "a.wav", "--out", "o", "--preset", "kaldi-mfcc", "--win-length", "200", "--n-mfcc", "20", "--n-mels", "40",
        ]).featureOptions()
        #expect(exact.frameLength == 200 && exact.nFFT == 256)
        #expect(exact.cepstrum?.count == 20 && exact.cepstrum?.lifter == .kaldi(22) && exact.dims == 20)
    }

    @Test func kaldiTakesANonPositiveFmaxAsAnOffsetFromNyquist() throws {
        let options = try FeaturesCommand.parse(["a.wav", "--out", "o", "--preset", "kaldi", "--fmax=-400"])
            .featureOptions()
        #expect(options.mel?.maxHz == -400)
        #expect(throws: (any Error).self) {
            try FeaturesCommand.parse(["a.wav", "--out", "o", "--preset", "librosa", "--fmax=-400"])
        }
    }

    @Test func psfScalesItsPowerSpectrumByTheFFTSize() throws {
        let options = try FeaturesCommand.parse(["a.wav", "--out", "o", "--preset", "psf", "--n-fft", "1024"])
            .featureOptions()
        #expect(options.nFFT == 1024 && options.frameLength == 400)
        #expect(options.spectrumScale == 1.0 / 1024)
        #expect(FeatureOptions.psf.spectrumScale == 1.0 / 512)
    }

    @Test(arguments: [
        (["--preset", "librosaa"], "unknown --preset 'librosaa'"),
        (["--preset", "librosa", "--n-mels", "0"], "--n-mels must be ≥ 1"),
        (["--preset", "kaldi", "--hop", "0"], "--hop must be ≥ 1"),
        (["--preset", "librosa", "--n-fft", "256", "--win-length", "400"], "--win-length 400 is longer"),
        (["--preset", "kaldi", "--n-fft", "256"], "--n-fft 256 is smaller than the window"),
        (["--preset", "psf", "--win-length", "600"], "--n-fft 512 is smaller than the window"),
        (["--preset", "librosa", "--n-mfcc", "13"], "--n-mfcc needs an MFCC preset"),
        (["--preset", "kaldi-mfcc", "--n-mfcc", "30"], "--n-mfcc 30 exceeds the 23 mel bands"),
        (["--preset", "librosa", "--fmin", "500", "--fmax", "400"], "--fmax 400.0 Hz must be above"),
        (["--preset", "librosa", "--fmin=-1"], "--fmin must be ≥ 0"),
        (["--preset", "librosa", "--jobs", "0"], "--jobs must be ≥ 1"),
        (["--preset", "librosa", "--sample-rate=-8000"], "--sample-rate must be > 0"),
    ])
    func badFlagsAreValidationErrors(flags: [String], message: String) {
        do {
            _ = try FeaturesCommand.parse(["a.wav", "--out", "o"] + flags)
            Issue.record("\(flags) was accepted")
        } catch {
            #expect(FeaturesCommand.exitCode(for: error) == .validationFailure, "\(flags)")
            #expect(FeaturesCommand.message(for: error).contains(message), "\(FeaturesCommand.message(for: error))")
        }
    }

    @Test func inputsAndFromCropExcludeEachOther() {
        #expect(throws: (any Error).self) { try FeaturesCommand.parse(["--out", "o", "--preset", "kaldi"]) }
        #expect(throws: (any Error).self) {
            try FeaturesCommand.parse(["a.wav", "--from-crop", "c", "--out", "o", "--preset", "kaldi"])
        }
        #expect(throws: Never.self) {
            try FeaturesCommand.parse(["--from-crop", "c", "--out", "o", "--preset", "kaldi"])
        }
    }

    @Test func csvParserKeepsQuotedCommasQuotesAndNewlines() {
        let text = "a,b,c\n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\"\n,,\n"
        #expect(parseCSV(text) == [["a", "b", "c"], ["x,1", "say \"hi\"", "two\nlines"], ["", "", ""]])
        #expect(parseCSV("") == [])
        #expect(parseCSV("last,line") == [["last", "line"]])
    }

    @Test func cropManifestGivesArraysInOrderWithRowRates() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let header = CropJob.manifestHeader
        let lines = [
            header, "arrays/b.npy,0,\"x,1.wav\",,0,0,0,0,0,0,8000", "arrays/a.npy,0,y.wav,,0,0,0,0,0,0,16000",
            "arrays/b.npy,1,z.wav,,0,0,0,0,0,0,8000",
        ]
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: dir.appendingPathComponent("manifest.csv"))
        let arrays = try CropSource(path: dir.path).arrays()
        #expect(arrays.map(\.name) == ["arrays/b.npy", "arrays/a.npy"])
        #expect(arrays[0].rates == [0: 8000, 1: 8000] && arrays[1].rates == [0: 16000])
        let fromFile = try CropSource(path: dir.appendingPathComponent("manifest.csv").path)
        #expect(fromFile.folder.standardizedFileURL.path == dir.standardizedFileURL.path)
        try Data((header + "\nclips/x,0,x.wav,,0,0,0,0,0,0,8000\n").utf8).write(
            to: dir.appendingPathComponent("manifest.csv"))
        #expect(throws: FeaturesFailure.self) { try CropSource(path: dir.path).arrays() }
        #expect(throws: FeaturesFailure.self) { try CropSource(path: dir.appendingPathComponent("none").path) }
    }

    @Test func summaryCountsFramesOfEveryChannelAndWindow() {
        var summary = FeaturesSummary(unit: "array")
        summary.add(
            FeatureOutput(
                source: "s", output: "o.npy", sampleRate: 8000, channels: 2, windows: 3, frames: 5,
                shape: [3, 2, 5, 4],
                seconds: 1.5))
        summary.add(
            FeatureOutput(
                source: "t", output: "p.npy", sampleRate: 8000, channels: 1, windows: 2, frames: 5, shape: [2, 5, 4],
                seconds: 1, reused: true))
        summary.elapsed = 0.5
        #expect(summary.frames == 3 * 2 * 5 + 2 * 5)
        #expect(summary.seconds == 1.5)
        #expect(summary.description.contains("2 arrays, 5 windows, 40 frames, 1 already done"))
        #expect(summary.description.contains("(3× real time)"))
    }

    @Test func extractorCacheBuildsOncePerRateAndKeepsErrors() throws {
        var options = FeatureOptions.librosa
        options.frameLength = 64
        options.nFFT = 64
        let cache = ExtractorCache(options: options)
        #expect(throws: SpectralError.self) { try cache.extractor(sampleRate: 8000) }
        options.mel?.bands = 8
        let small = ExtractorCache(options: options)
        #expect(try small.extractor(sampleRate: 8000).options.sampleRate == 8000)
        #expect(try small.extractor(sampleRate: 16000).options.sampleRate == 16000)
    }
}
