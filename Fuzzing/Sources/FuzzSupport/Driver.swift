// The entry every harness's `<Target>_main` calls: libFuzzer's driver, given the harness's
// LLVMFuzzerTestOneInput. (SwiftPM links an executable with `--defsym main=<Target>_main`,
// and -parse-as-library leaves that symbol to us; libFuzzer's own `main` is then not used.)

public typealias FuzzTestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzTestOneInput
) -> CInt

/// Runs libFuzzer with the process's arguments over `testOneInput`.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ testOneInput: FuzzTestOneInput
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
}

/// The input as an array (what the parsers take), empty for libFuzzer's empty input.
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// The input as text when it is valid UTF-8 (what the file readers accept), else nil.
public func fuzzText(_ data: UnsafePointer<UInt8>?, _ size: Int) -> String? {
    String(validating: fuzzBytes(data, size), as: UTF8.self)
}
