// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "FFCConsole",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ffc", targets: ["FFCConsole"]),
        .library(name: "FFCEngine", targets: ["FFCEngine"]),
        // For the theme parser's fuzz harness (Fuzzing/).
        .library(name: "FFCConsoleUI", targets: ["FFCConsoleUI"]),
        .library(name: "LRUCache", targets: ["LRUCache"]),
        .library(name: "FFCBench", targets: ["FFCBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Libraries
        // No unsafe flags on a library target (a package that has them cannot be depended on):
        // LRUCache's hot paths are @inlinable instead of cross-module-optimised, and the engine's
        // AVX2 code is chosen at run time in CChannelKernels instead of compiled in everywhere.
        .target(name: "LRUCache"),
        .target(
            name: "FFCEngine",
            dependencies: [
                "LRUCache", "CLMDB", "COpenBLAS", "CJPEG", "CScoreScan", "CChannelKernels", "CZlib", "CMPI",
                // The TensorBoard event file's Event/Summary messages (Control/TensorBoard).
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The live console: layout, panels, themes, keys; only UI/Terminal.swift calls curses.
        .target(name: "FFCConsoleUI", dependencies: ["FFCEngine", "CNcurses"]),
        // `ffc bench …`: the benchmark commands, ClassicLRU (the LRU benchmark's yardstick) and
        // the harness they share (median, load probe, Python reference runner, table and JSON).
        .target(
            name: "FFCBench",
            dependencies: [
                "FFCEngine", "FFCConsoleUI", "LRUCache", "CDNNL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // `ffc export --onnx`: a backbone as an ONNX graph. Generated/onnx.pb.swift is protoc's
        // output for the onnx package's onnx.proto (scripts/generate-onnx-swift regenerates it).
        .target(
            name: "FFCONNX",
            dependencies: ["FFCEngine", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),

        // C wrappers: a module map plus a shim header for what Swift cannot import.
        .systemLibrary(name: "CNcurses", providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // zlib's CRC-32: the checkpoint checksum, the one Python's `zlib.crc32` checks too.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Open MPI (data-parallel training): linked always, initialised only under mpirun.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // A real C target: libjpeg reports errors by longjmp, which Swift cannot do.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png")]),
        // A real C target: identification's per-score scan in SIMD registers.
        .target(name: "CScoreScan"),
        // A real C target: the per-channel loops of batch norm, PReLU and depthwise convolution,
        // each in a baseline (SSE2) and an AVX2 variant chosen once at run time.
        .target(name: "CChannelKernels"),
        // A real C target: the oneDNN convolution probe of `ffc bench engine --conv` (what oneDNN
        // picks on this CPU for fp32 and bf16, timed beside ours); libgomp is oneDNN's runtime.
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),

        // Executables
        .executableTarget(
            name: "FFCConsole",
            dependencies: [
                "FFCEngine", "FFCConsoleUI", "FFCBench", "FFCONNX",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Tests
        .testTarget(
            name: "FFCEngineTests", dependencies: ["FFCEngine", "CChannelKernels", "CZlib"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LRUCacheTests", dependencies: ["LRUCache", "FFCEngine"]),
        .testTarget(name: "FFCConsoleUITests", dependencies: ["FFCConsoleUI"], exclude: ["Golden"]),
        .testTarget(name: "FFCONNXTests", dependencies: ["FFCONNX", "FFCEngine", "CZlib"], resources: [.copy("Fixtures")]),
        .testTarget(name: "FFCBenchTests", dependencies: ["FFCBench", "FFCEngine", "LRUCache", "CDNNL"]),
    ]
)
