// NPYArray.decode: `.npy` arrays (embeddings, labels), header shared with NPYFile.
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let array = try? NPYArray.decode(fuzzBytes(data, size), path: "<fuzz>") else { return 0 }
    switch array.dtype {
    case .float32: _ = try? array.floats()
    case .int64: _ = try? array.ints()
    }
    return 0
}

@_cdecl("FuzzNPY_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
