// Fuzzes the Reuters-21578 SGML reader the way `dateline ingest` uses it: ReutersReader.items(in:), then
// each item's submission processed as ingest would.
import DatelineArticles
import DatelineProtocol
import FuzzSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    for item in ReutersReader.items(in: Data(bytes)) {
        checkSubmission(item.submission)
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("ReutersArticleFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
