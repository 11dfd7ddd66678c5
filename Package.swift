// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "FFCConsole",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ffc", targets: ["FFCConsole"]),
        .library(name: "FFCEngine", targets: ["FFCEngine"]),
        .library(name: "LRUCache", targets: ["LRUCache"]),
        .library(name: "FFCBench", targets: ["FFCBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // Libraries
        .target(name: "LRUCache", swiftSettings: [.unsafeFlags(["-cross-module-optimization"])]),
        .target(
            name: "FFCEngine",
            dependencies: ["LRUCache", "CLMDB", "COpenBLAS", "CJPEG", "CScoreScan", "CZlib"],
            // AVX2 + FMA: the channel-lane loops of batch norm, PReLU and depthwise convolution run
            // 8 wide instead of 4 (about 10% of a mobilefacenet training step); `ffc` checks the CPU
            // first (Sources/FFCConsole/CPUFeatures.swift).
            swiftSettings: [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"])]
        ),
        // The live console: layout, panels, themes, keys; only UI/Terminal.swift calls curses.
        .target(name: "FFCConsoleUI", dependencies: ["FFCEngine", "CNcurses"]),
        // `ffc bench …`: the benchmark commands, ClassicLRU (the LRU benchmark's yardstick) and
        // the harness they share (median, load probe, Python reference runner, table and JSON).
        .target(
            name: "FFCBench",
            dependencies: [
                "FFCEngine", "FFCConsoleUI", "LRUCache",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // C wrappers: a module map plus a shim header for what Swift cannot import.
        .systemLibrary(name: "CNcurses", providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // zlib's CRC-32: the checkpoint checksum, the one Python's `zlib.crc32` checks too.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // A real C target: libjpeg reports errors by longjmp, which Swift cannot do.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png")]),
        // A real C target: identification's per-score scan in SIMD registers.
        .target(name: "CScoreScan"),

        // Executables
        .executableTarget(
            name: "FFCConsole",
            dependencies: [
                "FFCEngine", "FFCConsoleUI", "FFCBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Tests
        .testTarget(name: "FFCEngineTests", dependencies: ["FFCEngine"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LRUCacheTests", dependencies: ["LRUCache", "FFCEngine"]),
        .testTarget(name: "FFCConsoleUITests", dependencies: ["FFCConsoleUI"], exclude: ["Golden"]),
        .testTarget(name: "FFCBenchTests", dependencies: ["FFCBench", "FFCEngine", "LRUCache"]),
    ]
)
