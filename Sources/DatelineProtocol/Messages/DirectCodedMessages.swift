// The messages of the hot paths (pings, searches, ingest batches and their replies) read and write their fields
// directly, in the order and with the numbers of their `CodingKeys` and `protocol/dateline.proto`. Their
// Codable conformances stay the reference; `DirectCodingTests` checks both agree on random and damaged input.

extension Ping: ProtobufDirectCodable {
    public static var _directCoding: DatelineDirectCoding? { DatelineDirectCoding(Self.self) }

    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.bytes(1, self.payload)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var payload: ProtobufFieldEntry?
        while let entry = try reader.next() {
            if entry.field == 1 { payload = entry }
        }
        self.init(payload: try reader.bytes(payload, "payload"))
    }
}

extension Pong: ProtobufDirectCodable {
    public static var _directCoding: DatelineDirectCoding? { DatelineDirectCoding(Self.self) }

    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.bytes(1, self.payload)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var payload: ProtobufFieldEntry?
        while let entry = try reader.next() {
            if entry.field == 1 { payload = entry }
        }
        self.init(payload: try reader.bytes(payload, "payload"))
    }
}

// MARK: - Search

extension SearchRequest: ProtobufDirectCodable {
    public static var _directCoding: DatelineDirectCoding? { DatelineDirectCoding(Self.self) }

    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.query)
        writer.unsigned(2, self.limit)
        writer.string(3, self.cursor)
        writer.date(4, self.from)
        writer.date(5, self.to)
        writer.strings(6, self.sources)
        writer.strings(7, self.tags)
        writer.strings(8, self.languages)
        writer.enumeration(9, self.sort)
        writer.unsigned(10, self.minimumOffset)
        writer.bool(11, self.facets)
        writer.enumeration(12, self.histogramInterval)
        writer.strings(13, self.entities)
        writer.strings(14, self.topics)
        writer.date(15, self.eventFrom)
        writer.date(16, self.eventTo)
        writer.string(17, self.fromText)
        writer.string(18, self.toText)
        writer.string(19, self.eventFromText)
        writer.string(20, self.eventToText)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        // The last entry of each singular field, on the stack: an Array of our own element type would look its
        // generic metadata up at run time on every message.
        self = try withUnsafeTemporaryAllocation(of: ProtobufFieldEntry?.self, capacity: 21) { last throws(DatelineError) in
            last.initialize(repeating: nil)
            var sources: [String] = []
            var tags: [String] = []
            var languages: [String] = []
            var entities: [String] = []
            var topics: [String] = []
            while let entry = try reader.next() {
                switch entry.field {
                case 6: try reader.appendString(entry, "sources", to: &sources)
                case 7: try reader.appendString(entry, "tags", to: &tags)
                case 8: try reader.appendString(entry, "languages", to: &languages)
                case 13: try reader.appendString(entry, "entities", to: &entities)
                case 14: try reader.appendString(entry, "topics", to: &topics)
                case 1...20: last[Int(entry.field)] = entry
                default: break
                }
            }
            return SearchRequest(
                query: try reader.string(last[1], "query"),
                limit: try reader.unsigned(last[2], "limit"),
                cursor: try reader.optionalString(last[3], "cursor"),
                from: try reader.optionalDate(last[4], "from"),
                to: try reader.optionalDate(last[5], "to"),
                sources: sources,
                tags: tags,
                languages: languages,
                sort: try reader.enumeration(last[9], "sort"),
                minimumOffset: try reader.optionalUnsigned(last[10], "minimumOffset"),
                facets: try reader.bool(last[11], "facets"),
                histogramInterval: try reader.enumeration(last[12], "histogramInterval"),
                entities: entities,
                topics: topics,
                eventFrom: try reader.optionalDate(last[15], "eventFrom"),
                eventTo: try reader.optionalDate(last[16], "eventTo"),
                fromText: try reader.optionalString(last[17], "fromText"),
                toText: try reader.optionalString(last[18], "toText"),
                eventFromText: try reader.optionalString(last[19], "eventFromText"),
                eventToText: try reader.optionalString(last[20], "eventToText")
            )
        }
    }
}

extension SearchHit: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.articleID)
        writer.double(2, self.score)
        writer.string(3, self.title)
        writer.string(4, self.source)
        writer.date(5, self.publishedAt)
        writer.strings(6, self.snippets)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var articleID, score, title, source, publishedAt: ProtobufFieldEntry?
        var snippets: [String] = []
        while let entry = try reader.next() {
            switch entry.field {
            case 1: articleID = entry
            case 2: score = entry
            case 3: title = entry
            case 4: source = entry
            case 5: publishedAt = entry
            case 6: try reader.appendString(entry, "snippets", to: &snippets)
            default: break
            }
        }
        self.init(
            articleID: try reader.string(articleID, "articleID"),
            score: try reader.double(score, "score"),
            title: try reader.string(title, "title"),
            source: try reader.string(source, "source"),
            publishedAt: try reader.optionalDate(publishedAt, "publishedAt"),
            snippets: snippets
        )
    }
}

extension FacetCount: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.value)
        writer.unsigned(2, self.count)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var value, count: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 1: value = entry
            case 2: count = entry
            default: break
            }
        }
        self.init(value: try reader.string(value, "value"), count: try reader.unsigned(count, "count"))
    }
}

extension SearchFacets: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.messages(1, self.sources)
        writer.messages(2, self.tags)
        writer.messages(3, self.dates)
        writer.messages(4, self.entities)
        writer.messages(5, self.topics)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var lists: [[FacetCount]] = Array(repeating: [], count: 6)
        while let entry = try reader.next() {
            switch entry.field {
            case 1: try reader.appendMessage(entry, "sources", to: &lists[1])
            case 2: try reader.appendMessage(entry, "tags", to: &lists[2])
            case 3: try reader.appendMessage(entry, "dates", to: &lists[3])
            case 4: try reader.appendMessage(entry, "entities", to: &lists[4])
            case 5: try reader.appendMessage(entry, "topics", to: &lists[5])
            default: break
            }
        }
        self.init(sources: lists[1], tags: lists[2], dates: lists[3], entities: lists[4], topics: lists[5])
    }
}

extension SearchResponse: ProtobufDirectCodable {
    public static var _directCoding: DatelineDirectCoding? { DatelineDirectCoding(Self.self) }

    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.unsigned(1, self.total)
        writer.messages(2, self.hits)
        writer.string(3, self.nextCursor)
        writer.unsigned(4, self.appliedOffset)
        writer.message(5, self.facets)
        writer.date(6, self.resolvedFrom)
        writer.date(7, self.resolvedTo)
        writer.date(8, self.resolvedEventFrom)
        writer.date(9, self.resolvedEventTo)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var total, nextCursor, appliedOffset, facets, from, to, eventFrom, eventTo: ProtobufFieldEntry?
        var hits: [SearchHit] = []
        while let entry = try reader.next() {
            switch entry.field {
            case 1: total = entry
            case 2: try reader.appendMessage(entry, "hits", to: &hits)
            case 3: nextCursor = entry
            case 4: appliedOffset = entry
            case 5: facets = entry
            case 6: from = entry
            case 7: to = entry
            case 8: eventFrom = entry
            case 9: eventTo = entry
            default: break
            }
        }
        self.init(
            total: try reader.unsigned(total, "total"),
            hits: hits,
            nextCursor: try reader.optionalString(nextCursor, "nextCursor"),
            appliedOffset: try reader.unsigned(appliedOffset, "appliedOffset"),
            facets: try reader.optionalMessage(facets, "facets")
        )
        self.resolvedFrom = try reader.optionalDate(from, "resolvedFrom")
        self.resolvedTo = try reader.optionalDate(to, "resolvedTo")
        self.resolvedEventFrom = try reader.optionalDate(eventFrom, "resolvedEventFrom")
        self.resolvedEventTo = try reader.optionalDate(eventTo, "resolvedEventTo")
    }
}

// MARK: - Ingest

extension ArticleSubmission: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.externalID)
        writer.string(2, self.title)
        writer.string(3, self.body)
        writer.string(4, self.source)
        writer.string(5, self.url)
        writer.date(6, self.publishedAt)
        writer.string(7, self.language)
        writer.strings(8, self.tags)
        writer.enumeration(9, self.format)
        writer.string(10, self.publishedAtText)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var externalID, title, body, source, url, publishedAt, language, format, publishedAtText: ProtobufFieldEntry?
        var tags: [String] = []
        while let entry = try reader.next() {
            switch entry.field {
            case 1: externalID = entry
            case 2: title = entry
            case 3: body = entry
            case 4: source = entry
            case 5: url = entry
            case 6: publishedAt = entry
            case 7: language = entry
            case 8: try reader.appendString(entry, "tags", to: &tags)
            case 9: format = entry
            case 10: publishedAtText = entry
            default: break
            }
        }
        self.init(
            externalID: try reader.optionalString(externalID, "externalID"),
            title: try reader.optionalString(title, "title"),
            body: try reader.string(body, "body"),
            source: try reader.optionalString(source, "source"),
            url: try reader.optionalString(url, "url"),
            publishedAt: try reader.optionalDate(publishedAt, "publishedAt"),
            publishedAtText: try reader.optionalString(publishedAtText, "publishedAtText"),
            language: try reader.optionalString(language, "language"),
            tags: tags,
            format: try reader.enumeration(format, "format")
        )
    }
}

extension IngestRequest: ProtobufDirectCodable {
    public static var _directCoding: DatelineDirectCoding? { DatelineDirectCoding(Self.self) }

    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.messages(1, self.articles)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var articles: [ArticleSubmission] = []
        while let entry = try reader.next() {
            if entry.field == 1 { try reader.appendMessage(entry, "articles", to: &articles) }
        }
        self.init(articles: articles)
    }
}

extension IngestResult: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.unsigned(1, self.index)
        writer.enumeration(2, self.status)
        writer.string(3, self.articleID)
        writer.unsigned(4, self.offset)
        writer.string(5, self.reason)
        writer.string(6, self.duplicateOf)
        writer.string(7, self.reasonCode)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var index, status, articleID, offset, reason, duplicateOf, reasonCode: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 1: index = entry
            case 2: status = entry
            case 3: articleID = entry
            case 4: offset = entry
            case 5: reason = entry
            case 6: duplicateOf = entry
            case 7: reasonCode = entry
            default: break
            }
        }
        self.init(
            index: try reader.unsigned(index, "index"),
            status: try reader.enumeration(status, "status"),
            articleID: try reader.optionalString(articleID, "articleID"),
            offset: try reader.optionalUnsigned(offset, "offset"),
            reason: try reader.optionalString(reason, "reason"),
            duplicateOf: try reader.optionalString(duplicateOf, "duplicateOf"),
            reasonCode: try reader.optionalString(reasonCode, "reasonCode")
        )
    }
}

extension IngestResponse: ProtobufDirectCodable {
    public static var _directCoding: DatelineDirectCoding? { DatelineDirectCoding(Self.self) }

    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.messages(1, self.results)
        writer.unsigned(2, self.endOffset)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var results: [IngestResult] = []
        var endOffset: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 1: try reader.appendMessage(entry, "results", to: &results)
            case 2: endOffset = entry
            default: break
            }
        }
        self.init(results: results, endOffset: try reader.unsigned(endOffset, "endOffset"))
    }
}

// MARK: - The log

extension StoredArticle: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.id)
        writer.string(2, self.externalID)
        writer.string(3, self.title)
        writer.string(4, self.source)
        writer.string(5, self.url)
        writer.date(6, self.publishedAt)
        writer.string(7, self.publishedAtPrecision)
        writer.string(8, self.timeZone)
        writer.string(9, self.datelinePlace)
        writer.strings(10, self.categories)
        writer.strings(11, self.tags)
        writer.strings(12, self.paragraphs)
        writer.string(13, self.language)
        writer.string(14, self.tagline)
        writer.strings(15, self.missingFields)
        writer.strings(16, self.warnings)
        writer.string(17, self.contentKey)
        writer.date(18, self.ingestedAt)
        writer.enumeration(19, self.format)
        writer.message(20, self.extraction)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        // The last entry of each singular field, on the stack: an Array of our own element type would look its
        // generic metadata up at run time on every message.
        self = try withUnsafeTemporaryAllocation(of: ProtobufFieldEntry?.self, capacity: 21) { last throws(DatelineError) in
            last.initialize(repeating: nil)
            var categories: [String] = []
            var tags: [String] = []
            var paragraphs: [String] = []
            var missingFields: [String] = []
            var warnings: [String] = []
            while let entry = try reader.next() {
                switch entry.field {
                case 10: try reader.appendString(entry, "categories", to: &categories)
                case 11: try reader.appendString(entry, "tags", to: &tags)
                case 12: try reader.appendString(entry, "paragraphs", to: &paragraphs)
                case 15: try reader.appendString(entry, "missingFields", to: &missingFields)
                case 16: try reader.appendString(entry, "warnings", to: &warnings)
                case 1...20: last[Int(entry.field)] = entry
                default: break
                }
            }
            return StoredArticle(
                id: try reader.string(last[1], "id"),
                externalID: try reader.optionalString(last[2], "externalID"),
                title: try reader.optionalString(last[3], "title"),
                source: try reader.optionalString(last[4], "source"),
                url: try reader.optionalString(last[5], "url"),
                publishedAt: try reader.optionalDate(last[6], "publishedAt"),
                publishedAtPrecision: try reader.optionalString(last[7], "publishedAtPrecision"),
                timeZone: try reader.optionalString(last[8], "timeZone"),
                datelinePlace: try reader.optionalString(last[9], "datelinePlace"),
                categories: categories,
                tags: tags,
                paragraphs: paragraphs,
                language: try reader.optionalString(last[13], "language"),
                tagline: try reader.optionalString(last[14], "tagline"),
                missingFields: missingFields,
                warnings: warnings,
                contentKey: try reader.string(last[17], "contentKey"),
                ingestedAt: try reader.date(last[18], "ingestedAt"),
                format: try reader.enumeration(last[19], "format"),
                extraction: try reader.optionalMessage(last[20], "extraction")
            )
        }
    }
}

extension LogEntry: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.unsigned(1, self.offset)
        writer.message(2, self.article)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var offset, article: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 1: offset = entry
            case 2: article = entry
            default: break
            }
        }
        self.init(offset: try reader.unsigned(offset, "offset"), article: try reader.message(article, "article"))
        if let article { self.encodedArticle = Array(UnsafeRawBufferPointer(rebasing: reader.bytes[Int(article.start)..<Int(article.end)])) }
    }
}

extension LogBatch: ProtobufDirectCodable {
    public static var _directCoding: DatelineDirectCoding? { DatelineDirectCoding(Self.self) }

    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.messages(1, self.entries)
        writer.unsigned(2, self.endOffset)
        writer.string(3, self.epoch)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var entries: [LogEntry] = []
        var endOffset, epoch: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 1: try reader.appendMessage(entry, "entries", to: &entries)
            case 2: endOffset = entry
            case 3: epoch = entry
            default: break
            }
        }
        self.init(entries: entries, endOffset: try reader.unsigned(endOffset, "endOffset"), epoch: try reader.string(epoch, "epoch"))
    }
}

extension StoredArticle {
    /// The field number of ``extraction`` in the wire format.
    static let extractionField: UInt32 = 20

    /// Splits an encoded article, without decoding it, into the encoding of the same article without its
    /// extraction (every other field copied as it is, in its order) and the encoding of its extraction (empty when
    /// it has none; the last occurrence when the field repeats, as the decoder reads it).
    /// - Throws: `DECODE_FAILED` when `encoded` is not a well-formed message.
    package static func separatingExtraction(_ encoded: [UInt8]) throws(DatelineError) -> (article: [UInt8], extraction: ArraySlice<UInt8>) {
        let split: Result<(article: [UInt8], extraction: Range<Int>), DatelineError> = encoded.withUnsafeBytes { bytes in
            // Only splits into fields (nothing is decoded into elements, so nothing is charged).
            ProtobufDecodingAllowance.with(payloadBytes: bytes.count) { allowance in
                var reader = ProtobufFieldReader(bytes: bytes, start: 0, end: bytes.count, depth: 0, topLevel: StoredArticle.self, allowance: allowance)
                var article: [UInt8] = []
                article.reserveCapacity(encoded.count)
                var extraction: Range<Int> = 0..<0
                var fieldStart = 0
                do throws(DatelineError) {
                    while let entry = try reader.next() {
                        if entry.field == Self.extractionField, entry.wireType == .lengthDelimited {
                            extraction = Int(entry.start)..<Int(entry.end)
                        } else {
                            article.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[fieldStart..<reader.position]))
                        }
                        fieldStart = reader.position
                    }
                } catch {
                    return .failure(error)
                }
                return .success((article, extraction))
            }
        }
        let (article, extraction) = try split.get()
        return (article, encoded[extraction])
    }
}
