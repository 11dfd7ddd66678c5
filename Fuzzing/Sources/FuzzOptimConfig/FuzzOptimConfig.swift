// TrainingConfig.applyOptimConfig(json:path:): the original FFC's optimiser file (`--config`),
// typed pairs like {"LR": ["float", "0.1"]}, then validation.
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // applyOptimConfig(path:) reads the file as String(decoding:as: UTF8.self).
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    var config = TrainingConfig()
    guard (try? config.applyOptimConfig(json: text, path: "<fuzz>")) != nil, (try? config.validate()) != nil else {
        return 0
    }
    _ = config.summaryLines(identities: 1000, images: 10000)
    return 0
}

@_cdecl("FuzzOptimConfig_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
