// Datum.parse: the protobuf record around each stored image, straight from an LMDB value.
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    bytes.withUnsafeBytes { raw in
        guard let datum = try? Datum.parse(raw) else { return }
        // The image range the loaders slice must lie inside the record.
        precondition(datum.image.lowerBound >= 0 && datum.image.upperBound <= raw.count)
    }
    return 0
}

@_cdecl("FuzzDatum_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
