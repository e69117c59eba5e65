// swift-tools-version: 6.0
// TCNBench lives in its own package (beside the other benchmarks, so neither manifest touches the other) and
// depends on the library by path. Run in release: `cd Benchmarks/tcn && swift run -c release TCNBench`.
import PackageDescription

let package = Package(
    name: "seqtool-tcn-benchmark",
    dependencies: [
        .package(name: "seqtool", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "TCNBench",
            dependencies: [.product(name: "TCN", package: "seqtool")]
        )
    ],
    swiftLanguageModes: [.v6]
)
