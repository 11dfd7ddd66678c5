// SafeTensorsFile.decode: checkpoints and reference fixtures (length prefix, JSON header, data),
// including the CRC-32 check when the metadata states one.
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let file = try? SafeTensorsFile.decode(fuzzBytes(data, size), path: "<fuzz>") else { return 0 }
    for (_, t) in file.tensors {
        let size = t.dtype == .u8 ? 1 : (t.dtype == .f32 ? 4 : 8)
        precondition(t.bytes.count == t.shape.reduce(1, *) * size)
    }
    return 0
}

@_cdecl("FuzzSafeTensors_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
