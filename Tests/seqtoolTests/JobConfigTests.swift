import Foundation
import TestSupport
import Testing

@testable import seqtool

/// A small valid classification config over `folder` (clips in one sub-folder per class), as a JSON object.
func tinyConfig(folder: URL, epochs: Int = 3) -> [String: Any] {
    [
        "version": 1,
        "task": "classification",
        "seed": 3,
        "data": ["kind": "folder", "path": folder.path, "labels": "folder"],
        "split": ["by": "file", "testFraction": 0.25, "validationFraction": 0.2],
        "window": ["length": "0.7s", "hop": "0.7s", "boundary": "pad-end"],
        "features": ["preset": "kaldi", "melBands": 12],
        "augmentation": ["gainDb": 3, "timeShift": "0.01s", "timeMasks": 1, "timeMaskWidth": 4, "mixup": 0.2],
        "model": ["channels": [6, 6], "kernelSize": 3, "initialization": "kaimingNormal"],
        "training": [
            "epochs": epochs, "batchSize": 8, "learningRate": 0.01, "checkpointEvery": 1, "labelSmoothing": 0.05,
        ],
    ]
}

/// Writes a JSON object to `<folder>/<name>` and returns the path.
func writeJSON(_ object: [String: Any], to folder: URL, name: String = "job.json") throws -> String {
    let url = folder.appendingPathComponent(name)
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    return url.path
}

/// Decodes a config object in process (no file).
func decodeConfig(_ object: [String: Any]) throws -> JobConfig {
    let data = try JSONSerialization.data(withJSONObject: object)
    let config = try JobJSON.decode(JobConfig.self, from: data, file: "job.json")
    try config.validate(file: "job.json")
    return config
}

@Suite struct JobConfigTests {
    let folder = URL(fileURLWithPath: "/data")

    @Test func validConfigDecodesWithDefaults() throws {
        let config = try decodeConfig(tinyConfig(folder: folder))
        #expect(config.task == .classification)
        #expect(config.model.backbone.channels == [6, 6])
        #expect(config.model.head == .meanPool)
        #expect(config.training.optimizer == .adam)
        #expect(config.window?.length.span.samples(at: 8000) == 5600)
        #expect(config.augmentation.timeShift?.span.samples(at: 8000) == 80)
    }

    @Test func unknownKeysAreNamedAtAnyDepth() throws {
        var object = tinyConfig(folder: folder)
        object["epochs"] = 3
        #expect(throws: JobError.unknownKey(file: "job.json", key: "epochs")) { try decodeConfig(object) }
        object = tinyConfig(folder: folder)
        object["training"] = ["epochs": 3, "learningrate": 0.1]
        #expect(throws: JobError.unknownKey(file: "job.json", key: "training.learningrate")) {
            try decodeConfig(object)
        }
        object = tinyConfig(folder: folder)
        object["model"] = ["channels": [4], "kernel": 3]
        #expect(throws: JobError.unknownKey(file: "job.json", key: "model.kernel")) { try decodeConfig(object) }
    }

    @Test func wrongTypesAreNamed() throws {
        var object = tinyConfig(folder: folder)
        object["training"] = ["epochs": "many"]
        #expect(throws: JobError.wrongType(file: "job.json", key: "training.epochs", expected: "an integer")) {
            try decodeConfig(object)
        }
        object = tinyConfig(folder: folder)
        object["model"] = ["channels": 8]
        #expect(throws: JobError.wrongType(file: "job.json", key: "model.channels", expected: "an array")) {
            try decodeConfig(object)
        }
        object = tinyConfig(folder: folder)
        object["window"] = ["length": "long"]
        #expect(throws: JobError.self) { try decodeConfig(object) }
        object = tinyConfig(folder: folder)
        object["model"] = ["channels": [4], "skipConnections": true, "skipSource": "branches"]
        do {
            _ = try decodeConfig(object)
            Issue.record("an unknown skipSource was accepted")
        } catch let error as JobError {
            #expect(error.description.contains("model.skipSource"), "\(error)")
        }
    }

    @Test func impossibleCombinationsAreNamed() throws {
        func key(of object: [String: Any]) -> String? {
            do {
                _ = try decodeConfig(object)
                return nil
            } catch let JobError.invalidValue(_, key, _, _) {
                return key
            } catch {
                return "\(error)"
            }
        }
        var object = tinyConfig(folder: folder)
        object["training"] = ["earlyStoppingPatience": 3]
        object["split"] = ["validationFraction": 0]
        #expect(key(of: object) == "training.earlyStoppingPatience")
        object = tinyConfig(folder: folder)
        object["task"] = "anomaly"
        #expect(key(of: object) == "data.kind")
        object = tinyConfig(folder: folder)
        object["split"] = ["by": "group"]
        #expect(key(of: object) == "split.groupRegex")
        object = tinyConfig(folder: folder)
        object["features"] = ["preset": "raw"]
        object["augmentation"] = ["frequencyMasks": 1, "frequencyMaskWidth": 2]
        #expect(key(of: object) == "augmentation.frequencyMasks")
        object = tinyConfig(folder: folder)
        object["training"] = ["epochs": 0]
        #expect(key(of: object) == "training.epochs")
        object = tinyConfig(folder: folder)
        object["model"] = ["channels": [4], "dropout": 1.5]
        #expect(key(of: object) == "model.dropout")
        object = tinyConfig(folder: folder)
        object["window"] = ["length": 100, "boundary": "wrap"]
        #expect(key(of: object) == "window.boundary")
        object = tinyConfig(folder: folder)
        object["version"] = 9
        #expect(throws: JobError.unsupportedVersion(file: "job.json", version: 9, supported: 1)) {
            try decodeConfig(object)
        }
    }

    @Test func malformedJSONNamesTheFile() throws {
        let dir = try TestPaths.temporaryDirectory("config-bad")
        let path = dir.appendingPathComponent("job.json").path
        try Data("{\"version\": 1,".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: JobError.self) { try JobConfig.load(path: path) }
        do {
            _ = try JobConfig.load(path: path)
        } catch let error as JobError {
            #expect(error.description.hasPrefix(path))
        }
    }

    @Test func splitsKeepGroupsApartAndStratifyFiles() throws {
        let root = TestPaths.packageRoot.appendingPathComponent("Samples/digits")
        var object = tinyConfig(folder: root)
        object["split"] = [
            "by": "group", "groupRegex": "^([^_]+)_", "testGroups": ["fay"], "validationFraction": 0.2,
        ]
        let config = try decodeConfig(object)
        let data = try Dataset.load(config)
        let groups = [data.train, data.validation, data.test].map { Set($0.compactMap(\.group)) }
        #expect(groups[2] == ["fay"])
        #expect(groups[0].isDisjoint(with: groups[1]) && groups[0].isDisjoint(with: groups[2]))
        #expect(groups[1].count == 1)
        #expect(data.train.count + data.validation.count + data.test.count == 180)
        #expect(data.labels.count == 10)

        object["split"] = ["by": "file", "testFraction": 0.2, "validationFraction": 0]
        let byFile = try Dataset.load(try decodeConfig(object))
        // 18 clips per class: round(0.2 · 18) = 4 test clips of every class.
        for label in byFile.labels {
            #expect(byFile.test.filter { $0.label == label }.count == 4)
        }
        let again = try Dataset.load(try decodeConfig(object))
        #expect(again.test.map(\.path) == byFile.test.map(\.path))
    }
}
