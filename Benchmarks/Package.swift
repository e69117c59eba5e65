// swift-tools-version: 6.0
// Benchmarks live in their own package so their dependencies never enter the library's manifest.
// Run in release: `swift run -c release SpectralBench` (see spectral/README.md).
import PackageDescription

let package = Package(
    name: "seqtool-benchmarks",
    dependencies: [
        .package(name: "seqtool", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "SpectralBench",
            dependencies: [
                .product(name: "Spectral", package: "seqtool"),
                .product(name: "AudioIO", package: "seqtool"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
