// PairList.parse: pairs files in index, keys or LFW form. The first input byte picks the form
// the way `--pairs-format` does (0 detect, 1 index, 2 keys, 3 lfw, mod 4); the rest is the file,
// which must be UTF-8 as PairList.read requires. Parsed lists are then turned into row pairs.
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let selector = bytes.first, let text = String(validating: bytes.dropFirst(), as: UTF8.self) else {
        return 0
    }
    let formats: [PairList.Format?] = [nil, .index, .keys, .lfw]
    guard let list = try? PairList.parse(text: text, path: "<fuzz>", format: formats[Int(selector % 4)]) else {
        return 0
    }
    _ = try? list.indexPairs()
    _ = try? list.keyPairs(keys: list.entries.prefix(8).map(\.first))
    return 0
}

@_cdecl("FuzzPairList_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
