// Fuzzes reading a JSON article file (one object or an array of them) the way `dateline ingest` does:
// ArticleInput.submissions(fromJSON:), then each submission processed as ingest would.
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
    guard let submissions = try? ArticleInput.submissions(fromJSON: Data(bytes)) else { return 0 }
    for submission in submissions { checkSubmission(submission) }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("JSONArticleFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
