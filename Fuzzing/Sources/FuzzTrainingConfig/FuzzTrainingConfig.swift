// TrainingConfig.decode(json:): a run's config.json and a checkpoint's config metadata, then
// the validation every run does before it starts.
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // RunDirectory reads the file as String(decoding:as: UTF8.self): invalid bytes become U+FFFD.
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    guard let config = try? TrainingConfig.decode(json: text, path: "<fuzz>"),
        (try? config.validate()) != nil
    else { return 0 }
    // What a run prints once the config has passed validation (TrainingRun).
    _ = config.summaryLines(identities: 1000, images: 10000)
    _ = config.allImagesPerStep
    return 0
}

@_cdecl("FuzzTrainingConfig_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
