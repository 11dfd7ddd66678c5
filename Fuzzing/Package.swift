// swift-tools-version:6.0
// libFuzzer harnesses for every parser of outside input (README, "Fuzzed parsers"). Build and
// run them with scripts/fuzz, which compiles this package with
//     swift build -c release --package-path Fuzzing -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// so the engine's own code is coverage-instrumented and checked by AddressSanitizer too. Each
// executable is one parser: its LLVMFuzzerTestOneInput, and a `<Target>_main` that hands over to
// libFuzzer (SwiftPM links executables with `main` renamed to that symbol).
import PackageDescription

/// Harness name → the main package's library it needs.
let harnesses: [(String, String)] = [
    ("FuzzDatum", "FFCEngine"),
    ("FuzzKVFile", "FFCEngine"),
    ("FuzzTheme", "FFCConsoleUI"),
    ("FuzzSafeTensors", "FFCEngine"),
    ("FuzzNPY", "FFCEngine"),
    ("FuzzInsightfaceBin", "FFCEngine"),
    ("FuzzPairList", "FFCEngine"),
    ("FuzzTrainingConfig", "FFCEngine"),
    ("FuzzOptimConfig", "FFCEngine"),
    ("FuzzControlMessage", "FFCEngine"),
]

let package = Package(
    name: "FFCFuzzing",
    platforms: [.macOS(.v15)],
    // Named, so the identity does not depend on the checkout's folder name.
    dependencies: [.package(name: "FFCConsole", path: "..")],
    targets: [.target(name: "FuzzSupport")]
        + harnesses.map { name, library in
            .executableTarget(
                name: name,
                dependencies: ["FuzzSupport", .product(name: library, package: "FFCConsole")]
            )
        }
)
