// Fuzzes the extractor the way dateline-ingest runs it on every article a client sends: the bytes are decoded
// (invalid UTF-8 repaired); with the first byte odd, the first line is the title, the second the dateline's place
// and the rest the body, else all of it is the body; the second bit says whether there is a publication date.
// Beyond "never traps": every mention, time expression and quote cuts its own text out of its field
// (`field[start..<end] == text`), mentions name an entity that exists, and event ids are e1, e2, ... in order.
import DatelineArticles
import DatelineExtraction
import DatelineProtocol
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    guard let mode = bytes.first else { return 0 }
    let (text, _) = TextNormalization.decode(Array(bytes.dropFirst()))
    var title: String?
    var dateline: String?
    var body = text
    if mode & 1 == 1 {
        let lines = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        title = lines.count > 0 ? String(lines[0]) : nil
        dateline = lines.count > 1 ? String(lines[1]) : nil
        body = lines.count > 2 ? String(lines[2]) : ""
    }
    let published = mode & 2 == 2 ? CivilDate(year: 2025, month: 8, day: 4) : nil
    let extraction = ArticleExtractor().extract(body: body, published: published, datelinePlace: dateline, title: title)
    check(extraction, fields: [.body: body, .title: title ?? "", .dateline: dateline ?? ""])
    return 0
}

/// The scalars `start..<end` of `text`, or nil when the range is not inside it.
func cut(_ text: String, _ start: UInt32, _ end: UInt32) -> String? {
    let scalars = Array(text.unicodeScalars)
    guard start <= end, Int(end) <= scalars.count else { return nil }
    return String(String.UnicodeScalarView(scalars[Int(start)..<Int(end)]))
}

func check(_ extraction: ArticleExtraction, fields: [ArticleField: String]) {
    for mention in extraction.mentions {
        guard Int(mention.entityIndex) < extraction.entities.count else {
            fuzzFailure("mention \(mention.text) names entity \(mention.entityIndex) of \(extraction.entities.count)")
        }
        guard cut(fields[mention.field] ?? "", mention.start, mention.end) == mention.text else {
            fuzzFailure("mention \(mention.text) is not \(mention.field)[\(mention.start)..<\(mention.end)]")
        }
    }
    for time in extraction.times where cut(fields[time.field] ?? "", time.start, time.end) != time.text {
        fuzzFailure("time \(time.text) is not \(time.field)[\(time.start)..<\(time.end)]")
    }
    for quote in extraction.quotes where cut(fields[.body] ?? "", quote.start, quote.end) != quote.text {
        fuzzFailure("quote \(quote.text) is not body[\(quote.start)..<\(quote.end)]")
    }
    for (index, event) in extraction.events.enumerated() where event.id != "e\(index + 1)" {
        fuzzFailure("event \(index) has id \(event.id)")
    }
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("ExtractionFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
