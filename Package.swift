// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "seqtool",
    products: [
        .library(name: "AudioIO", targets: ["AudioIO"]),
        .library(name: "Windowing", targets: ["Windowing"]),
        .library(name: "Spectral", targets: ["Spectral"]),
        .library(name: "TCN", targets: ["TCN"]),
        .executable(name: "seqtool", targets: ["seqtool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // MARK: C libraries (thin system-library targets; only the owning Swift module imports them)
        .systemLibrary(
            name: "CSndFile",
            pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]
        ),
        .systemLibrary(
            name: "CFFTW",
            pkgConfig: "fftw3f",
            providers: [.apt(["libfftw3-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // AVX2 logarithms from glibc's libmvec behind a run-time CPU check (Spectral's log-mel hot loop).
        .target(name: "CSpectralKernels", linkerSettings: [.linkedLibrary("mvec", .when(platforms: [.linux]))]),
        // AVX2 element-wise kernels behind a run-time CPU check (the TCN's fused ReLU, dropout and residual loops,
        // bias sums, transposes).
        .target(name: "CTCNKernels"),
        // oneDNN (Debian's libdnnl-dev) behind a small C layer: the TCN's channels-last convolution engine.
        .target(name: "CTCNDNNL", linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("dl")]),

        // MARK: Library modules (each imports only the stages to its left)
        .target(name: "AudioIO", dependencies: ["CSndFile"]),
        .target(name: "Windowing"),
        .target(name: "Spectral", dependencies: ["AudioIO", "Windowing", "CFFTW", "COpenBLAS", "CSpectralKernels"]),
        .target(name: "TCN", dependencies: ["AudioIO", "COpenBLAS", "CTCNKernels", "CTCNDNNL"]),

        // MARK: Command-line tool
        .executableTarget(
            name: "seqtool",
            dependencies: [
                "AudioIO", "Windowing", "Spectral", "TCN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Tests
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "AudioIOTests", dependencies: ["AudioIO", "TestSupport"]),
        .testTarget(name: "WindowingTests", dependencies: ["Windowing", "TestSupport"]),
        .testTarget(name: "SpectralTests", dependencies: ["Spectral", "TestSupport"]),
        .testTarget(name: "TCNTests", dependencies: ["TCN", "TestSupport"]),
        .testTarget(
            name: "seqtoolTests", dependencies: ["seqtool", "AudioIO", "Windowing", "Spectral", "TCN", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
