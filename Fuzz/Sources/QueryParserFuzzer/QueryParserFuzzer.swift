// Fuzzes SearchQueryParser with the default limits and with small ones (64 characters, depth 4), so the limit
// paths are taken. A syntax error must point inside the query; a parsed query must have a positive part and
// is run against a small index (search, matches and snippets), as dateline-query would.
import DatelineSearch
import FuzzSupport

let parsers = [SearchQueryParser(), SearchQueryParser(maximumLength: 64, maximumDepth: 4)]

nonisolated(unsafe) let index: SearchIndex = {
    let index = SearchIndex()
    index.add(IndexedDocument(
        id: "a",
        title: "Rubio and Dar discuss counterterrorism",
        body: "ISLAMABAD — Secretary Rubio spoke with Deputy Prime Minister Dar by telephone about trade, energy and rare earth minerals."
    ))
    index.add(IndexedDocument(
        id: "b",
        title: "Climate resilience",
        body: "The U.S. and Pakistan discussed climate resilience, co-operation on floods, and the Lashkar-e-Taiba threat."
    ))
    index.add(IndexedDocument(id: "c", title: "", body: "Terrorists, terror, terrorism: a short note about words."))
    return index
}()

func check(_ query: SearchQuery) {
    switch query {
    case .term(let term): if term.isEmpty { fuzzFailure("an empty term in \(query)") }
    case .phrase(let terms): if terms.isEmpty { fuzzFailure("an empty phrase in \(query)") }
    case .prefix(let prefix): if prefix.isEmpty { fuzzFailure("an empty prefix in \(query)") }
    case .and(let parts), .or(let parts):
        if parts.isEmpty { fuzzFailure("an empty AND/OR in \(query)") }
        parts.forEach(check)
    case .not(let part): check(part)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, count), as: UTF8.self)
    for parser in parsers {
        do {
            let query = try parser.parse(text)
            check(query)
            let result = index.search(query, limit: 5, snippets: 2)
            guard result.hits.count <= min(5, result.total) else {
                fuzzFailure("\(result.hits.count) hits of \(result.total) for \(query)")
            }
            for hit in result.hits { _ = hit.score.isFinite }
        } catch {
            let length = text.count
            guard error.position >= 0, error.position <= max(length, parser.maximumLength) else {
                fuzzFailure("error position \(error.position) outside a query of \(length) characters: \(error); query \(hex(Array(text.utf8)))")
            }
        }
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("QueryParserFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
