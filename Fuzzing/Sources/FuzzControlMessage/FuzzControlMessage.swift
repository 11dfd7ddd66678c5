// Control-socket lines, decoded as the server decodes a client's request and as a client
// decodes the server's messages (ControlCoding.decode: JSON with "inf"/"nan" strings).
import FFCEngine
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let line = fuzzBytes(data, size)
    _ = try? ControlCoding.decode(ClientMessage.self, line: line)
    _ = try? ControlCoding.decode(ServerMessage.self, line: line)
    return 0
}

@_cdecl("FuzzControlMessage_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
