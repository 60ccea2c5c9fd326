import DatelineSearch
import Testing

@Suite("Query parser")
struct SearchQueryParserTests {
    let parser = SearchQueryParser()

    @Test func parsesTheQueryLanguage() throws {
        #expect(try self.parser.parse("counterterrorism") == .term("counterterror"))
        #expect(try self.parser.parse("\"rare earth\"") == .phrase(["rare", "earth"]))
        #expect(try self.parser.parse("Rubio -telephone") == .and([.term("rubio"), .not(.term("telephon"))]))
        #expect(try self.parser.parse("Rubio NOT telephone") == .and([.term("rubio"), .not(.term("telephon"))]))
        #expect(try self.parser.parse("trade OR energy") == .or([.term("trade"), .term("energi")]))
        #expect(try self.parser.parse("rubio AND dar") == .and([.term("rubio"), .term("dar")]))
        #expect(try self.parser.parse("terror*") == .prefix("terror"))
        #expect(try self.parser.parse("(trade OR energy) rubio") == .and([.or([.term("trade"), .term("energi")]), .term("rubio")]))
        #expect(try self.parser.parse("Lashkar-e-Taiba") == .phrase(["lashkar", "e", "taiba"]))
        #expect(try self.parser.parse("“climate resilience”") == .phrase(["climat", "resili"]))
        #expect(try self.parser.parse("U.S.") == .term("us"))
        #expect(try self.parser.parse("co-operation") == .phrase(["co", "oper"]))
        // A CRLF (one character of two scalars) separates words as a space does.
        #expect(try self.parser.parse("rubio\r\ndar") == .and([.term("rubio"), .term("dar")]))
        #expect(try self.parser.parse("\"rare\r\nearth\"") == .phrase(["rare", "earth"]))
    }

    @Test func theLengthLimitCountsCharactersNotScalars() throws {
        let accents = String(repeating: "e\u{301}", count: 4_096)  // 4,096 characters, 8,192 scalars
        _ = try self.parser.parse(accents)  // accepted
        #expect(throws: QuerySyntaxError.self) { try self.parser.parse(accents + "e") }
    }

    @Test func hugeOrDeeplyNestedQueriesAreRefusedNotAStackOverflow() throws {
        let deep = String(repeating: "(", count: 200_000) + "rubio" + String(repeating: ")", count: 200_000)
        let long = #expect(throws: QuerySyntaxError.self) { try self.parser.parse(deep) }
        #expect(long?.message == "the query is longer than 4096 characters")
        let nested = String(repeating: "(", count: 40) + "rubio" + String(repeating: ")", count: 40)
        let error = #expect(throws: QuerySyntaxError.self) { try self.parser.parse(nested) }
        #expect(error?.message == "the query nests deeper than 32 levels")
        let nots = String(repeating: "NOT ", count: 100) + "rubio"
        #expect(throws: QuerySyntaxError.self) { try self.parser.parse("dar " + nots) }
        #expect(try self.parser.parse(String(repeating: "(", count: 10) + "rubio" + String(repeating: ")", count: 10)) == .term("rubio"))
    }

    @Test(arguments: [
        ("", "the query is empty", 0),
        ("   ", "the query is empty", 0),
        ("\"rare earth", "unbalanced quote: the phrase opened here is never closed", 0),
        ("rubio \"rare", "unbalanced quote: the phrase opened here is never closed", 6),
        ("(trade OR energy", "unbalanced parenthesis: the '(' opened here is never closed", 0),
        ("rubio (", "unbalanced parenthesis: the '(' opened here is never closed", 6),
        ("trade)", "unexpected ')' (no '(' opened it)", 5),
        ("trade OR", "OR needs a term after it", 6),
        ("OR trade", "OR needs a term before it", 0),
        ("trade AND", "AND needs a term after it", 6),
        ("-telephone", "the query only excludes terms; add at least one term to search for", 0),
        ("rubio NOT", "NOT needs a term after it", 6),
        ("*", "'*' must end a word of at least two letters (e.g. terror*)", 0),
        ("t*", "'*' must end a word of at least two letters (e.g. terror*)", 0),
        ("()", "empty parentheses", 1),
        ("\"  \"", "the phrase has no words", 0),
        // Positions count characters, however many scalars one is made of (the lexer reads scalars).
        ("cafe\u{301} (", "unbalanced parenthesis: the '(' opened here is never closed", 5),
        ("🇫🇷 e\u{301}\u{301} trade OR", "OR needs a term after it", 10),
    ])
    func reportsErrorsWithTheirPosition(query: String, message: String, position: Int) {
        let error = #expect(throws: QuerySyntaxError.self) { try self.parser.parse(query) }
        #expect(error?.message == message)
        #expect(error?.position == position)
    }
}
