import CLibFuzzer

/// Stops the fuzzer with a message naming the broken rule. libFuzzer sees the trap, saves the input as
/// `crash-<sha1>` and prints the stack: an oracle failure is reported exactly like a crash.
public func fuzzFailure(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("FUZZ ORACLE FAILED: \(message())", file: file, line: line)
}

/// The input bytes libFuzzer hands over, as an array (empty when `count` is 0, when `data` may be null).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
    guard let data, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: count))
}

/// Renders bytes as lowercase hex (for oracle messages).
public func hex(_ bytes: some Sequence<UInt8>, limit: Int = 96) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for (index, byte) in bytes.enumerated() {
        if index == limit { return text + "..." }
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return text
}

/// Runs libFuzzer with `callback` as the fuzz target: what each fuzzer's `<Module>_main` does.
public func runLibFuzzer(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
