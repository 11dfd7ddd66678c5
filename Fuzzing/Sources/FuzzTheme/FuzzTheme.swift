// Theme files (`key = #rrggbb` lines), as ThemeLoader reads them.
import FFCConsoleUI
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? ThemeLoader.parse(fuzzBytes(data, size), path: "<fuzz>", fallbackName: "fuzz")
    return 0
}

@_cdecl("FuzzTheme_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, testOneInput)
}
