// KVFile: the `key label` text file beside each LMDB.
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let kv = try? KVFile(bytes: fuzzBytes(data, size), path: "<fuzz>") else { return 0 }
    for i in 0..<kv.count { _ = kv.key(i) }
    return 0
}

@_cdecl("FuzzKVFile_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
