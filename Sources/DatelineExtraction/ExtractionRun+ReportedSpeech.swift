internal import DatelineProtocol

/// Reported speech: what someone said, told in the writer's words, with its speaker — "the Foreign Office
/// highlighted that …", "He also confirmed that …", "diplomatic observers believe …", "…, according to a
/// statement issued by Pakistan's Foreign Office". Each is an `ExtractedQuote` marked `reported`, whose text is
/// the clause reported (`body[start..<end]`), beside the direct quotes.
extension ExtractionRun {
    /// Verbs that report speech or belief, in the forms news writes them.
    static let reportingVerbs: Set<String> = [
        "said", "says", "stated", "states", "added", "adds", "noted", "notes", "confirmed", "confirms", "highlighted",
        "highlights", "indicated", "indicates", "believe", "believes", "believed", "announced", "announces", "warned",
        "warns", "stressed", "stresses", "emphasised", "emphasized", "underlined", "reiterated", "reiterates",
        "insisted", "insists", "argued", "argues", "claimed", "claims", "denied", "denies", "acknowledged",
        "acknowledges", "admitted", "explained", "maintained", "suggested", "suggests", "observed", "asserted",
        "affirmed", "assured", "told", "tell", "think", "thinks", "expect", "expects", "fear", "fears", "hope", "hopes",
    ]
    /// Words that may stand between a speaker and the verb ("He also confirmed", "the Office earlier indicated").
    static let speechAdverbs: Set<String> = [
        "also", "earlier", "further", "however", "again", "repeatedly", "later", "previously", "had", "has", "have",
        "publicly", "separately", "meanwhile", "today", "yesterday", "then", "now", "firmly", "strongly", "clearly",
    ]
    /// Nouns for unnamed speakers ("observers believe", "officials said").
    static let speakerNouns: Set<String> = [
        "observers", "officials", "analysts", "diplomats", "experts", "sources", "spokesperson", "spokesman",
        "spokeswoman", "ministry", "office", "government", "statement", "leaders", "critics", "witnesses", "police",
    ]
    /// Words after "said" that cannot open a reported clause ("said on Monday", "said in a statement").
    static let notAClause: Set<String> = [
        "on", "in", "at", "after", "before", "during", "earlier", "later", "last", "this", "by", "to", "of", "for",
        "with", "from", "about", "and", "or", "but", "through", "via", "while", "when", "as", "so", "too", "yes", "no",
    ]

    mutating func findReportedSpeech() {
        for sentence in self.text.sentences.indices {
            let range = self.afterDateline(self.text.sentences[sentence].tokens)
            guard !range.contains(where: { self.inQuote[$0] }) else { continue }
            if let quote = self.accordingTo(in: range) ?? self.trailingAttribution(in: range) ?? self.reportingClause(in: range) {
                self.quotes.append(quote)
                // A statement by whoever made it, dated by the sentence (an event of its own, as a direct quote's).
                if let speaker = quote.speaker {
                    let date = self.times.first { self.tokens[$0.first].sentence == sentence && $0.type != "DURATION" && $0.type != "SET" }
                    self.quoteSentences.append((sentence, speaker, date))
                }
            }
        }
        self.quotes.sort { $0.start < $1.start }
    }

    static let datelineDashes: Set<String> = ["-", "\u{2013}", "\u{2014}", "\u{2015}", "\u{2012}"]

    /// Where the body starts after the dateline that opens it ("WASHINGTON, March 5 - Baker met …": at "Baker"),
    /// 0 when it opens with none: the token after the first spaced dash, when the words before it start with the
    /// article's dateline place and the first sentence goes on after it.
    func datelineEnd() -> Int {
        guard let place = self.datelinePlace, !place.isEmpty, let first = self.text.sentences.first?.tokens else { return 0 }
        for k in first.prefix(24).dropFirst() where self.tokens[k].kind == .punctuation && Self.datelineDashes.contains(self.tokens[k].text) {
            guard !self.tokens[k].isJoinedToPrevious else { continue }
            guard self.text.text(tokens: first.lowerBound, k - 1).hasPrefix(place), k + 1 < first.upperBound else { return 0 }
            return k + 1
        }
        return 0
    }

    /// The body's first sentence without the dateline that opens it ("WASHINGTON, March 5 - Baker met …, a
    /// spokesman said": what the spokesman said starts at "Baker"); any other sentence as it is.
    func afterDateline(_ range: Range<Int>) -> Range<Int> {
        range.lowerBound == 0 && self.bodyStart > 0 ? self.bodyStart..<range.upperBound : range
    }

    /// An agency's credit in the dateline opening the body ("BEIJING (AP) —", "LONDON, Aug 4 (Reuters) -") says who
    /// filed the story, not whom it is about: its tokens are no mention of anything.
    mutating func coverDatelineCredit() {
        guard self.bodyStart > 0 else { return }
        let dateline = 0..<(self.bodyStart - 1)
        guard let open = dateline.last(where: { self.tokens[$0].text == "(" }),
              let close = (open..<dateline.upperBound).first(where: { self.tokens[$0].text == ")" })
        else { return }
        for k in open...close { self.covered[k] = true }
    }

    /// "SPEAKER [adverbs] VERB [that] CLAUSE".
    func reportingClause(in range: Range<Int>) -> ExtractedQuote? {
        for v in range where Self.reportingVerbs.contains(self.lower[v]) && v > range.lowerBound {
            var clause = v + 1
            var object: Int?
            // "told reporters that", "told Dawn that".
            if ["told", "tell", "assured"].contains(self.lower[v]), clause < range.upperBound, self.lower[clause] != "that" {
                object = clause
                while clause < range.upperBound, clause - v <= 3, self.lower[clause] != "that" { clause += 1 }
                guard clause < range.upperBound, self.lower[clause] == "that" else { continue }
            }
            if clause < range.upperBound, self.lower[clause] == "that" {
                clause += 1
            } else if object == nil {
                // Without "that", only a clause that starts like one ("said the talks were productive").
                guard clause < range.upperBound, self.tokens[clause].kind == .word, !Self.notAClause.contains(self.lower[clause]) else { continue }
                guard ["said", "says", "believe", "believes", "think", "thinks", "expect", "expects", "fear", "fears", "hope", "hopes"].contains(self.lower[v]) else { continue }
            }
            guard let speakerEnd = self.speakerEnd(before: v, from: range.lowerBound), let quote = self.clause(clause, range) else { continue }
            let speakerRange = self.speakerStart(speakerEnd, from: range.lowerBound)...speakerEnd
            var quoteWithSpeaker = quote
            quoteWithSpeaker.verb = self.lower[v]
            quoteWithSpeaker.speakerText = self.text.text(tokens: speakerRange.lowerBound, speakerRange.upperBound)
            quoteWithSpeaker.speaker = self.speaker(in: speakerRange)
            return quoteWithSpeaker
        }
        return nil
    }

    /// "CLAUSE, SPEAKER said [on Monday]." and "CLAUSE, said SPEAKER.": the attribution after the last comma.
    func trailingAttribution(in range: Range<Int>) -> ExtractedQuote? {
        guard let comma = range.last(where: { self.tokens[$0].text == "," }), comma - range.lowerBound >= 3 else { return nil }
        if let quote = self.attribution(after: comma, before: range.upperBound, clause: range.lowerBound..<comma) { return quote }
        // Between two commas: "… on Friday, the State Department said, in the latest effort to …".
        for first in range where self.tokens[first].text == "," && first - range.lowerBound >= 3 && first != comma {
            guard let second = (first + 1..<min(first + 10, range.upperBound)).first(where: { self.tokens[$0].text == "," }),
                  let quote = self.attribution(after: first, before: second, clause: range.lowerBound..<first)
            else { continue }
            return quote
        }
        return nil
    }

    /// "SPEAKER VERB" or "VERB SPEAKER" (then times, "on Friday") filling the tokens between `comma` and `stop`, which
    /// report the clause `clause`.
    func attribution(after comma: Int, before stop: Int, clause range: Range<Int>) -> ExtractedQuote? {
        var end = stop - 1
        while end > comma, self.tokens[end].kind == .punctuation { end -= 1 }
        while end > comma, self.timeAt[end] != nil || ["on", "in", "at", "late", "early"].contains(self.lower[end]) { end -= 1 }
        guard end > comma, end - comma <= 8 else { return nil }
        let speakerRange: ClosedRange<Int>
        let verb: Int
        if Self.reportingVerbs.contains(self.lower[end]), let speakerEnd = self.speakerEnd(before: end, from: comma + 1) {
            // "…, officials said."
            speakerRange = self.speakerStart(speakerEnd, from: comma + 1)...speakerEnd
            verb = end
        } else if Self.reportingVerbs.contains(self.lower[comma + 1]), comma + 2 <= end {
            // "…, said Rubio."
            speakerRange = (comma + 2)...end
            verb = comma + 1
        } else {
            return nil
        }
        // Between the speaker and a verb after it, only adverbs ("officials also said").
        if verb > speakerRange.upperBound, !(speakerRange.upperBound + 1..<verb).allSatisfy({ Self.speechAdverbs.contains(self.lower[$0]) }) { return nil }
        guard speakerRange.lowerBound > comma, var quote = self.clause(range.lowerBound, range) else { return nil }
        quote.speakerText = self.text.text(tokens: speakerRange.lowerBound, speakerRange.upperBound)
        quote.speaker = self.speaker(in: speakerRange)
        quote.verb = self.lower[verb]
        return quote
    }

    /// "CLAUSE, according to SPEAKER" and "According to SPEAKER, CLAUSE".
    func accordingTo(in range: Range<Int>) -> ExtractedQuote? {
        guard let at = range.first(where: { self.lower[$0] == "according" }), at + 2 < range.upperBound, self.lower[at + 1] == "to" else { return nil }
        let speakerStart = at + 2
        if at == range.lowerBound {
            // "According to X, CLAUSE."
            guard let comma = (speakerStart..<range.upperBound).first(where: { self.tokens[$0].text == "," }), comma > speakerStart,
                  var quote = self.clause(comma + 1, range)
            else { return nil }
            quote.speakerText = self.text.text(tokens: speakerStart, comma - 1)
            quote.speaker = self.speaker(in: speakerStart...(comma - 1))
            quote.verb = "according to"
            return quote
        }
        // "CLAUSE, according to X."
        var clauseEnd = at - 1
        if self.tokens[clauseEnd].text == "," { clauseEnd -= 1 }
        var speakerEnd = range.upperBound - 1
        while speakerEnd > speakerStart, self.tokens[speakerEnd].kind == .punctuation { speakerEnd -= 1 }
        guard clauseEnd >= range.lowerBound, speakerEnd >= speakerStart else { return nil }
        let start = self.tokens[range.lowerBound].start, end = self.tokens[clauseEnd].end
        var quote = ExtractedQuote(text: self.text.text(start..<end), start: UInt32(start), end: UInt32(end))
        quote.speakerText = self.text.text(tokens: speakerStart, speakerEnd)
        quote.speaker = self.speaker(in: speakerStart...speakerEnd)
        quote.verb = "according to"
        quote.reported = true
        return quote
    }

    /// The clause from token `first` to the sentence's end, its closing punctuation left out.
    func clause(_ first: Int, _ range: Range<Int>) -> ExtractedQuote? {
        var last = range.upperBound - 1
        while last >= first, self.tokens[last].kind == .punctuation, self.tokens[last].text != ")" { last -= 1 }
        guard last - first >= 2 else { return nil }
        let start = self.tokens[first].start, end = self.tokens[last].end
        var quote = ExtractedQuote(text: self.text.text(start..<end), start: UInt32(start), end: UInt32(end))
        quote.reported = true
        return quote
    }

    /// Verbs that frame someone's words as a quotation without reporting a clause ("Badenoch called the deal “a
    /// humiliation”", "described the talks as “frank”").
    static let quoteFramingVerbs: Set<String> = ["called", "calls", "described", "describes", "dubbed", "labelled", "labeled", "termed"]

    /// The speaker of the reporting clause a quote opening at token `open` lies in ("Wang told Blinken that the
    /// relationship was “…”"): the last reporting verb before it in its sentence that has a speaker before it.
    func reportingSpeaker(before open: Int) -> (verb: String, speaker: String, speakerText: String)? {
        let first = self.afterDateline(self.text.sentences[self.tokens[open].sentence].tokens).lowerBound
        guard open > first else { return nil }
        for v in stride(from: open - 1, to: first, by: -1)
        where Self.reportingVerbs.contains(self.lower[v]) || Self.speechVerbs.contains(self.lower[v]) || Self.quoteFramingVerbs.contains(self.lower[v]) {
            guard !self.inQuote[v], let end = self.speakerEnd(before: v, from: first) else { continue }
            let span = self.speakerStart(end, from: first)...end
            guard let speaker = self.speaker(in: span) else { continue }
            return (self.lower[v], speaker, self.text.text(tokens: span.lowerBound, span.upperBound))
        }
        return nil
    }

    /// The last token of the speaker before the verb at `v`: past any adverbs, a name, a pronoun or a speaker noun.
    func speakerEnd(before v: Int, from first: Int) -> Int? {
        var k = v - 1
        while k >= first, Self.speechAdverbs.contains(self.lower[k]) || self.tokens[k].text == "," { k -= 1 }
        guard k >= first else { return nil }
        if ["he", "she", "they", "it", "we"].contains(self.lower[k]) { return k }
        if !self.tokenEntities[k].isEmpty || self.mentionEnds(at: k) || Self.speakerNouns.contains(self.lower[k]) { return k }
        return nil
    }

    /// Whether a mention ends at token `k`.
    func mentionEnds(at k: Int) -> Bool {
        let end = UInt32(self.tokens[k].end)
        return self.mentions.contains { $0.end == end }
    }

    /// Where the speaker ending at `last` starts: the mention ending there, or the noun phrase's first word.
    func speakerStart(_ last: Int, from first: Int) -> Int {
        let end = UInt32(self.tokens[last].end)
        if let mention = self.mentions.filter({ $0.end == end }).min(by: { $0.start < $1.start }),
           let start = self.tokens[first...last].firstIndex(where: { UInt32($0.start) == mention.start })
        {
            return start
        }
        var k = last
        while k > first, self.tokens[k - 1].kind == .word, !["that", "and", "but", "which", "who", "while"].contains(self.lower[k - 1]),
              Self.speakerNouns.contains(self.lower[k]) || self.tokens[k - 1].isCapitalized || ["the", "a", "diplomatic", "senior", "government", "foreign", "some", "many"].contains(self.lower[k - 1])
        {
            k -= 1
            if ["the", "a", "some", "many"].contains(self.lower[k]) { break }
        }
        return k
    }

    /// The speaker's entity: a person named in the span, else an organisation or office, else for "he"/"she" the
    /// last person named before.
    func speaker(in span: ClosedRange<Int>) -> String? {
        let ids = span.flatMap { self.tokenEntities[$0] }
        if let person = ids.last(where: { $0.hasPrefix("person:") }) { return person }
        if let other = ids.last(where: { $0.hasPrefix("org:") || $0.hasPrefix("office:") || $0.hasPrefix("country:") }) { return other }
        if span.count == 1, ["he", "she"].contains(self.lower[span.lowerBound]) {
            return self.lastPeople(before: self.tokens[span.lowerBound].start, count: 1).first
        }
        return nil
    }
}
