// Fuzzes reading a plain-text article file the way `dateline ingest` does: the bytes are decoded (invalid
// UTF-8 repaired), submitted as format plainText, and processed (PlainTextArticleParser, dates, dateline,
// language guess, tidying, deduplication keys).
import DatelineArticles
import DatelineProtocol
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    let (text, _) = TextNormalization.decode(bytes)
    checkSubmission(ArticleSubmission(externalID: nil, body: text, format: .plainText))
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("PlainTextArticleFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
