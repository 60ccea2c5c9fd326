#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The extraction carried by every stored article: written by the ingest service for each article it stores, read
// by every follower for each article it indexes, so it codes directly as the hot-path messages do (see
// `ProtobufDirectCoding.swift`; `DirectCodingTests` holds it to its Codable conformance).

extension ArticleExtraction: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.unsigned(1, self.version)
        writer.messages(2, self.entities)
        writer.messages(3, self.mentions)
        writer.messages(4, self.times)
        writer.strings(5, self.topics)
        writer.messages(6, self.quotes)
        writer.messages(7, self.events)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var version: ProtobufFieldEntry?
        var entities: [ExtractedEntity] = []
        var mentions: [EntityMention] = []
        var times: [TimeExpression] = []
        var topics: [String] = []
        var quotes: [ExtractedQuote] = []
        var events: [ExtractedEvent] = []
        while let entry = try reader.next() {
            switch entry.field {
            case 1: version = entry
            case 2: try reader.appendMessage(entry, "entities", to: &entities)
            case 3: try reader.appendMessage(entry, "mentions", to: &mentions)
            case 4: try reader.appendMessage(entry, "times", to: &times)
            case 5: try reader.appendString(entry, "topics", to: &topics)
            case 6: try reader.appendMessage(entry, "quotes", to: &quotes)
            case 7: try reader.appendMessage(entry, "events", to: &events)
            default: break
            }
        }
        self.init(
            version: try reader.unsigned(version, "version"), entities: entities, mentions: mentions, times: times, topics: topics,
            quotes: quotes, events: events
        )
    }
}

extension ExtractedEntity: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.id)
        writer.enumeration(2, self.kind)
        writer.string(3, self.name)
        writer.string(4, self.country)
        writer.strings(5, self.titles)
        writer.strings(6, self.offices)
        writer.string(7, self.acronym)
        writer.strings(8, self.designations)
        writer.unsigned(9, self.mentionCount)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var id, kind, name, country, acronym, mentionCount: ProtobufFieldEntry?
        var titles: [String] = []
        var offices: [String] = []
        var designations: [String] = []
        while let entry = try reader.next() {
            switch entry.field {
            case 1: id = entry
            case 2: kind = entry
            case 3: name = entry
            case 4: country = entry
            case 5: try reader.appendString(entry, "titles", to: &titles)
            case 6: try reader.appendString(entry, "offices", to: &offices)
            case 7: acronym = entry
            case 8: try reader.appendString(entry, "designations", to: &designations)
            case 9: mentionCount = entry
            default: break
            }
        }
        self.init(
            id: try reader.string(id, "id"), kind: try reader.enumeration(kind, "kind"), name: try reader.string(name, "name"),
            country: try reader.optionalString(country, "country"), titles: titles, offices: offices,
            acronym: try reader.optionalString(acronym, "acronym"), designations: designations,
            mentionCount: try reader.unsigned(mentionCount, "mentionCount")
        )
    }
}

extension EntityMention: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.unsigned(2, self.start)
        writer.unsigned(3, self.end)
        writer.string(4, self.text)
        writer.unsigned(5, self.entityIndex)
        writer.enumeration(6, self.field)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var start, end, text, entityIndex, field: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 2: start = entry
            case 3: end = entry
            case 4: text = entry
            case 5: entityIndex = entry
            case 6: field = entry
            default: break
            }
        }
        self.init(
            entityIndex: try reader.unsigned(entityIndex, "entityIndex"), start: try reader.unsigned(start, "start"),
            end: try reader.unsigned(end, "end"), text: try reader.string(text, "text"), field: try reader.enumeration(field, "field")
        )
    }
}

extension TimeExpression: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.text)
        writer.unsigned(2, self.start)
        writer.unsigned(3, self.end)
        writer.string(4, self.type)
        writer.string(5, self.value)
        writer.string(6, self.precision)
        writer.string(7, self.modifier)
        writer.enumeration(8, self.field)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var text, start, end, type, value, precision, modifier, field: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 1: text = entry
            case 2: start = entry
            case 3: end = entry
            case 4: type = entry
            case 5: value = entry
            case 6: precision = entry
            case 7: modifier = entry
            case 8: field = entry
            default: break
            }
        }
        self.init(
            text: try reader.string(text, "text"), start: try reader.unsigned(start, "start"), end: try reader.unsigned(end, "end"),
            type: try reader.string(type, "type"), value: try reader.string(value, "value"), precision: try reader.string(precision, "precision"),
            modifier: try reader.optionalString(modifier, "modifier"), field: try reader.enumeration(field, "field")
        )
    }
}

extension ExtractedQuote: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.text)
        writer.unsigned(2, self.start)
        writer.unsigned(3, self.end)
        writer.string(4, self.speaker)
        writer.string(5, self.speakerText)
        writer.string(6, self.verb)
        writer.string(7, self.date)
        writer.bool(8, self.reported)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var text, start, end, speaker, speakerText, verb, date, reported: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 1: text = entry
            case 2: start = entry
            case 3: end = entry
            case 4: speaker = entry
            case 5: speakerText = entry
            case 6: verb = entry
            case 7: date = entry
            case 8: reported = entry
            default: break
            }
        }
        self.init(
            text: try reader.string(text, "text"), start: try reader.unsigned(start, "start"), end: try reader.unsigned(end, "end"),
            speaker: try reader.optionalString(speaker, "speaker"), speakerText: try reader.optionalString(speakerText, "speakerText"),
            verb: try reader.optionalString(verb, "verb"), date: try reader.optionalString(date, "date"), reported: try reader.bool(reported, "reported")
        )
    }
}

extension ExtractedEvent: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.id)
        writer.string(2, self.code)
        writer.string(3, self.label)
        writer.strings(4, self.participants)
        writer.string(5, self.place)
        writer.string(6, self.date)
        writer.string(7, self.datePrecision)
        writer.string(8, self.dateText)
        writer.strings(9, self.topics)
        writer.messages(10, self.sentences)
        writer.bool(11, self.isBackReference)
        writer.unsigned(12, self.killed)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var id, code, label, place, date, datePrecision, dateText, isBackReference, killed: ProtobufFieldEntry?
        var participants: [String] = []
        var topics: [String] = []
        var sentences: [EventSentence] = []
        while let entry = try reader.next() {
            switch entry.field {
            case 1: id = entry
            case 2: code = entry
            case 3: label = entry
            case 4: try reader.appendString(entry, "participants", to: &participants)
            case 5: place = entry
            case 6: date = entry
            case 7: datePrecision = entry
            case 8: dateText = entry
            case 9: try reader.appendString(entry, "topics", to: &topics)
            case 10: try reader.appendMessage(entry, "sentences", to: &sentences)
            case 11: isBackReference = entry
            case 12: killed = entry
            default: break
            }
        }
        self.init(
            id: try reader.string(id, "id"), code: try reader.string(code, "code"), label: try reader.string(label, "label"),
            participants: participants, place: try reader.optionalString(place, "place"), date: try reader.optionalString(date, "date"),
            datePrecision: try reader.optionalString(datePrecision, "datePrecision"), dateText: try reader.optionalString(dateText, "dateText"),
            topics: topics, sentences: sentences, isBackReference: try reader.bool(isBackReference, "isBackReference"),
            killed: try reader.optionalUnsigned(killed, "killed")
        )
    }
}

extension EventSentence: ProtobufDirectCodable {
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter) {
        writer.string(1, self.text)
        writer.unsigned(2, self.start)
        writer.unsigned(3, self.end)
    }

    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError) {
        var text, start, end: ProtobufFieldEntry?
        while let entry = try reader.next() {
            switch entry.field {
            case 1: text = entry
            case 2: start = entry
            case 3: end = entry
            default: break
            }
        }
        self.init(text: try reader.string(text, "text"), start: try reader.unsigned(start, "start"), end: try reader.unsigned(end, "end"))
    }
}
