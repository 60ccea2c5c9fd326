/// A parsed search query.
public indirect enum SearchQuery: Sendable, Hashable {
    /// One analysed term.
    case term(String)
    /// Analysed terms that must appear consecutively.
    case phrase([String])
    /// Every indexed term starting with this folded, unstemmed prefix.
    case prefix(String)
    case and([SearchQuery])
    case or([SearchQuery])
    case not(SearchQuery)
}

/// A query that cannot be parsed, with the position (in characters, from 0) of the problem.
public struct QuerySyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var position: Int

    public var description: String { "\(self.message) at position \(self.position)" }
}

/// Parses the query language:
///
/// ```
/// rubio dar                  both terms (AND is the default)
/// "climate resilience"       a phrase
/// trade OR energy            either
/// rubio -telephone           rubio, not telephone (also: rubio NOT telephone)
/// terror*                    any term starting with "terror"
/// (trade OR energy) rubio    grouping
/// ```
public struct SearchQueryParser: Sendable {
    public let analyzer: Analyzer
    /// The longest query accepted, in characters. Default: 4,096.
    public var maximumLength: Int
    /// The deepest nesting of parentheses and NOT accepted. Default: 32.
    public var maximumDepth: Int

    public init(analyzer: Analyzer = Analyzer(), maximumLength: Int = 4_096, maximumDepth: Int = 32) {
        self.analyzer = analyzer
        self.maximumLength = maximumLength
        self.maximumDepth = maximumDepth
    }

    private enum Lexeme: Equatable {
        case word(String, prefix: Bool)
        case phrase(String)
        case and, or, not, minus, open, close
    }

    public func parse(_ text: String) throws(QuerySyntaxError) -> SearchQuery {
        // Scalars are never fewer than characters: counting characters (grapheme breaking) only when needed.
        guard text.unicodeScalars.count <= self.maximumLength || text.count <= self.maximumLength else {
            throw QuerySyntaxError(message: "the query is longer than \(self.maximumLength) characters", position: self.maximumLength)
        }
        let scalars = Array(text.unicodeScalars)
        do throws(QuerySyntaxError) {
            let lexemes = try self.lex(text, scalars)
            guard !lexemes.isEmpty else { throw QuerySyntaxError(message: "the query is empty", position: 0) }
            var index = 0
            let query = try self.parseOr(lexemes, &index, end: scalars.count, depth: 0)
            if index < lexemes.count {
                throw QuerySyntaxError(message: "unexpected ')' (no '(' opened it)", position: lexemes[index].1)
            }
            guard Self.hasPositive(query) else {
                throw QuerySyntaxError(message: "the query only excludes terms; add at least one term to search for", position: 0)
            }
            return query
        } catch {
            // Lexing and parsing count Unicode scalars; the error says where in characters, as a reader counts.
            var error = error
            error.position = String(String.UnicodeScalarView(scalars.prefix(error.position))).count
            throw error
        }
    }

    static func hasPositive(_ query: SearchQuery) -> Bool {
        switch query {
        case .term, .phrase, .prefix: true
        case .not: false
        case .and(let parts): parts.contains(where: hasPositive)
        case .or(let parts): parts.allSatisfy(hasPositive)
        }
    }

    /// The lexemes of `text`, whose Unicode scalars are `scalars`, each with the scalar offset it starts at.
    private func lex(_ text: String, _ scalars: [Unicode.Scalar]) throws(QuerySyntaxError) -> [(Lexeme, Int)] {
        // Words and phrases are cut out of the text itself (a copy of its bytes), not rebuilt a scalar at a time.
        let view = text.unicodeScalars
        var indices = Array(view.indices)
        indices.append(view.endIndex)
        func cut(_ range: Range<Int>) -> String { String(view[indices[range.lowerBound]..<indices[range.upperBound]]) }
        func isQuote(_ scalar: Unicode.Scalar) -> Bool { scalar == "\"" || scalar == "“" || scalar == "”" }
        func endsWord(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar {
            case " ", "\t", "\n", "\r", "(", ")", "\"", "“", "”": true
            default: false
            }
        }
        var lexemes: [(Lexeme, Int)] = []
        var index = 0
        while index < scalars.count {
            switch scalars[index] {
            case " ", "\t", "\n", "\r":
                index += 1
            case "(":
                lexemes.append((.open, index))
                index += 1
            case ")":
                lexemes.append((.close, index))
                index += 1
            case "\"", "“", "”":
                let start = index
                index += 1
                while index < scalars.count, !isQuote(scalars[index]) { index += 1 }
                guard index < scalars.count else {
                    throw QuerySyntaxError(message: "unbalanced quote: the phrase opened here is never closed", position: start)
                }
                lexemes.append((.phrase(cut((start + 1)..<index)), start))
                index += 1
            case "-" where index + 1 < scalars.count && !scalars[index + 1].properties.isWhitespace:
                lexemes.append((.minus, index))
                index += 1
            default:
                let start = index
                while index < scalars.count, !endsWord(scalars[index]) { index += 1 }
                let word = cut(start..<index)
                switch word {
                case "AND": lexemes.append((.and, start))
                case "OR": lexemes.append((.or, start))
                case "NOT": lexemes.append((.not, start))
                default:
                    let isPrefix = word.hasSuffix("*")
                    let base = isPrefix ? String(word.dropLast()) : word
                    if isPrefix, base.contains("*") || base.isEmpty {
                        throw QuerySyntaxError(message: "'*' must end a word of at least two letters (e.g. terror*)", position: start)
                    }
                    lexemes.append((.word(base, prefix: isPrefix), start))
                }
            }
        }
        return lexemes
    }

    private func parseOr(_ lexemes: [(Lexeme, Int)], _ index: inout Int, end: Int, depth: Int) throws(QuerySyntaxError) -> SearchQuery {
        var parts = [try self.parseAnd(lexemes, &index, end: end, depth: depth)]
        while index < lexemes.count, lexemes[index].0 == .or {
            let position = lexemes[index].1
            index += 1
            guard index < lexemes.count, lexemes[index].0 != .close, lexemes[index].0 != .or else {
                throw QuerySyntaxError(message: "OR needs a term after it", position: position)
            }
            parts.append(try self.parseAnd(lexemes, &index, end: end, depth: depth))
        }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    private func parseAnd(_ lexemes: [(Lexeme, Int)], _ index: inout Int, end: Int, depth: Int) throws(QuerySyntaxError) -> SearchQuery {
        var parts: [SearchQuery] = []
        while index < lexemes.count {
            switch lexemes[index].0 {
            case .or, .close:
                guard !parts.isEmpty else {
                    throw QuerySyntaxError(message: lexemes[index].0 == .or ? "OR needs a term before it" : "empty parentheses", position: lexemes[index].1)
                }
                return parts.count == 1 ? parts[0] : .and(parts)
            case .and:
                let position = lexemes[index].1
                guard !parts.isEmpty else { throw QuerySyntaxError(message: "AND needs a term before it", position: position) }
                index += 1
                guard index < lexemes.count, lexemes[index].0 != .or, lexemes[index].0 != .close else {
                    throw QuerySyntaxError(message: "AND needs a term after it", position: position)
                }
            default:
                if let part = try self.parseUnary(lexemes, &index, end: end, depth: depth) { parts.append(part) }
            }
        }
        guard !parts.isEmpty else { throw QuerySyntaxError(message: "the query has no terms", position: end) }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    /// nil for a word that analyses to nothing (punctuation only).
    private func parseUnary(_ lexemes: [(Lexeme, Int)], _ index: inout Int, end: Int, depth: Int) throws(QuerySyntaxError) -> SearchQuery? {
        let (lexeme, position) = lexemes[index]
        guard depth < self.maximumDepth else {
            throw QuerySyntaxError(message: "the query nests deeper than \(self.maximumDepth) levels", position: position)
        }
        index += 1
        switch lexeme {
        case .not, .minus:
            guard index < lexemes.count, ![.or, .and, .close].contains(lexemes[index].0) else {
                throw QuerySyntaxError(message: "\(lexeme == .not ? "NOT" : "'-'") needs a term after it", position: position)
            }
            guard let inner = try self.parseUnary(lexemes, &index, end: end, depth: depth + 1) else { return nil }
            return .not(inner)
        case .open:
            guard index < lexemes.count else {
                throw QuerySyntaxError(message: "unbalanced parenthesis: the '(' opened here is never closed", position: position)
            }
            let inner = try self.parseOr(lexemes, &index, end: end, depth: depth + 1)
            guard index < lexemes.count, lexemes[index].0 == .close else {
                throw QuerySyntaxError(message: "unbalanced parenthesis: the '(' opened here is never closed", position: position)
            }
            index += 1
            return inner
        case .phrase(let text):
            let terms = self.analyzer.terms(text)
            guard !terms.isEmpty else { throw QuerySyntaxError(message: "the phrase has no words", position: position) }
            return terms.count == 1 ? .term(terms[0]) : .phrase(terms)
        case .word(let word, let isPrefix):
            if isPrefix {
                let folded = Analyzer(stems: false).terms(word)
                guard folded.count == 1, folded[0].count >= 2 else {
                    throw QuerySyntaxError(message: "'*' must end a word of at least two letters (e.g. terror*)", position: position)
                }
                return .prefix(folded[0])
            }
            let terms = self.analyzer.terms(word)
            switch terms.count {
            case 0: return nil
            case 1: return .term(terms[0])
            default: return .phrase(terms)  // Lashkar-e-Taiba, U.S.-based
            }
        case .and, .or, .close:
            throw QuerySyntaxError(message: "unexpected operator", position: position)
        }
    }
}
