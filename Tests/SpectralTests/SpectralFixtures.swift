import Foundation
import TestSupport

/// Loads the fixtures written by scripts/fixtures/spectral_fixtures.py and spectral_torch_fixtures.py.
enum SpectralFixture {
    /// `Tests/Fixtures/Spectral/<name>.f32` as a flat array.
    static func array(_ name: String) throws -> [Float] {
        try loadFloat32Fixture(TestPaths.fixture("Spectral/\(name).f32"))
    }

    /// The shape recorded for `name` in `spectral.json` (or `spectral_torch.json`).
    static func shape(_ name: String) throws -> [Int] {
        for manifest in ["spectral.json", "spectral_torch.json"] {
            let url = TestPaths.fixture("Spectral/\(manifest)")
            guard let data = try? Data(contentsOf: url),
                let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let entry = object[name] as? [String: Any], let shape = entry["shape"] as? [Int]
            else { continue }
            return shape
        }
        throw FixtureError.missing(name)
    }

    /// The window table `spectral_windows.json`: name → values.
    static func windows() throws -> [String: [Double]] {
        let data = try Data(contentsOf: TestPaths.fixture("Spectral/spectral_windows.json"))
        return try JSONDecoder().decode([String: [Double]].self, from: data)
    }

    enum FixtureError: Error {
        case missing(String)
    }
}
