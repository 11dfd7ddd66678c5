// InsightfaceBin.decode: the pickle reader for lfw.bin-style verification sets.
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let bin = try? InsightfaceBin.decode(fuzzBytes(data, size), path: "<fuzz>") else { return 0 }
    _ = bin.pairs
    return 0
}

@_cdecl("FuzzInsightfaceBin_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
