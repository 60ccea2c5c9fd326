// Fuzzes reading a JSON Lines article file the way `dateline ingest` does: the bytes are decoded (invalid
// UTF-8 repaired), ArticleInput.submissions(fromJSONLines:) reads each line, and each article is processed.
import DatelineArticles
import DatelineProtocol
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    let (text, _) = TextNormalization.decode(bytes)
    for (line, result) in ArticleInput.submissions(fromJSONLines: text) {
        guard line >= 1 else { fuzzFailure("line number \(line) reported for a JSON Lines input") }
        if case .success(let submission) = result { checkSubmission(submission) }
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("JSONLinesArticleFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
