// Fuzzes DatelineBinaryDecoder for every message type of the protocol: the first input byte picks the type
// (its index in DatelineMessageType.known, modulo their number), the rest is the payload. See
// FuzzSupport.checkPayload for what is checked beyond "does not crash".
import DatelineProtocol
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    checkMessageTable()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    guard let selector = bytes.first else { return 0 }
    checkPayload(messageTypes[Int(selector) % messageTypes.count], Array(bytes.dropFirst()))
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("PayloadDecoderFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
