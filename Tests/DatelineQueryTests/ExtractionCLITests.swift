import DatelineProtocol
import DatelineTestSupport
import Foundation
import Testing

/// Extraction end to end: dateline-ingest extracts, dateline-query indexes, the CLI asks.
@Suite("Entities, timelines and extraction through the CLI", .serialized)
struct ExtractionCLITests {
    @Test func timelineOfRubioAndDarShowsTheMeetingTheEarlierInteractionAndTheCall() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await CLI.run(["ingest", Samples.directory.path, "--wait"], cluster: cluster)
            #expect(ingest.status == 0, "\(ingest.errors)")

            let json = try await CLI.run(["timeline", "Rubio", "Dar", "-o", "json"], cluster: cluster)
            #expect(json.status == 0, "\(json.errors)")
            let timeline = try JSONDecoder.iso8601.decode(TimelineResponse.self, from: Data(json.output.utf8))
            #expect(timeline.actors.map(\.ids) == [["person:marco-rubio"], ["person:ishaq-dar"]])
            #expect(timeline.engagements.map(\.date) == ["2025-07-25", "2025-07-29", "2025-08-04"])
            #expect(timeline.engagements.map(\.code) == ["043", "040", "041"])
            let meeting = timeline.engagements[0]
            #expect(meeting.placeName == "Washington")
            #expect(meeting.reports.map(\.source) == ["OpenVoiceNews Pakistan"])
            #expect(meeting.reports.first?.dateText == "Friday")
            #expect(Set(meeting.topics).isSuperset(of: ["counterterrorism", "trade", "regional stability", "minerals and rare earths"]))
            let previous = timeline.engagements[1]
            #expect(previous.reports.first?.isBackReference == true)
            #expect(previous.conflicts.count == 1)
            #expect(previous.conflicts.first?.contains("2025-07-25") == true)
            #expect(previous.conflicts.first?.contains("OpenVoiceNews Pakistan") == true)
            let call = timeline.engagements[2]
            #expect(call.label == "discuss by telephone")
            #expect(call.reports.first?.dateText == "Monday")
            #expect(call.conflicts.isEmpty)
            #expect(meeting.conflicts.isEmpty)

            // The same through offices and countries, and the readable form.
            let offices = try await CLI.run(["timeline", "US Secretary of State", "Pakistan Foreign Minister", "-o", "json"], cluster: cluster)
            let byOffice = try JSONDecoder.iso8601.decode(TimelineResponse.self, from: Data(offices.output.utf8))
            #expect(byOffice.engagements.map(\.date) == ["2025-07-25", "2025-07-29", "2025-08-04"])
            let calls = try await CLI.run(["timeline", "Pakistan", "US", "--type", "call", "-o", "json"], cluster: cluster)
            #expect(try JSONDecoder.iso8601.decode(TimelineResponse.self, from: Data(calls.output.utf8)).engagements.map(\.date) == ["2025-08-04"])
            let table = try await CLI.run(["timeline", "Rubio", "Dar", "--no-color"], cluster: cluster)
            #expect(table.output.contains("2025-07-25  host a visit [043] in Washington"))
            #expect(table.output.contains("⚠ reported as an earlier engagement on 2025-07-29"))

            // An article naming only the offices: dateline-query resolves them to their holders at that date.
            let officeOnly = Data("Islamabad — August 10, 2025:\nPakistan's foreign minister met the U.S. secretary of state on Friday to discuss trade.\n".utf8)
            #expect(try await CLI.run(["ingest", "-", "--wait"], cluster: cluster, input: officeOnly).status == 0)
            let resolved = try await CLI.run(["timeline", "Rubio", "Dar", "-o", "json"], cluster: cluster)
            let withOffices = try JSONDecoder.iso8601.decode(TimelineResponse.self, from: Data(resolved.output.utf8))
            #expect(withOffices.engagements.map(\.date) == ["2025-07-25", "2025-07-29", "2025-08-04", "2025-08-08"])
            #expect(withOffices.engagements.last?.participants.contains("person:ishaq-dar") == true)

            // Two more reports of the July 25 meeting: one agreeing, one a day off. Both join the same engagement,
            // and the disagreement about the date is listed.
            let agreeing = Data("""
                Dawn Desk

                Dar and Rubio discuss trade

                July 27, 2025

                Washington — Secretary of State Marco Rubio met Pakistani Foreign Minister Ishaq Dar on Friday in Washington to discuss trade.
                """.utf8)
            let disagreeing = Data("""
                Capital Wire

                Rubio hosts Dar

                July 28, 2025

                Washington — Secretary of State Marco Rubio met Pakistani Foreign Minister Ishaq Dar on Saturday in Washington.
                """.utf8)
            #expect(try await CLI.run(["ingest", "-", "--wait"], cluster: cluster, input: agreeing).status == 0)
            #expect(try await CLI.run(["ingest", "-", "--wait"], cluster: cluster, input: disagreeing).status == 0)
            let merged = try await CLI.run(["timeline", "Rubio", "Dar", "--to", "2025-07-27", "-o", "json"], cluster: cluster)
            let july = try JSONDecoder.iso8601.decode(TimelineResponse.self, from: Data(merged.output.utf8))
            #expect(july.engagements.count == 1)
            let meetingReports = try #require(july.engagements.first)
            #expect(meetingReports.date == "2025-07-25")
            #expect(meetingReports.reports.map(\.source) == ["OpenVoiceNews Pakistan", "Dawn Desk", "Capital Wire"])
            #expect(meetingReports.reports.map(\.date) == ["2025-07-25", "2025-07-25", "2025-07-26"])
            #expect(meetingReports.conflicts.count == 1)
            #expect(meetingReports.conflicts.first?.hasPrefix("reports give different dates") == true)

            // An article naming them by surname alone: the same two people, not two new ones.
            let surnames = Data("Islamabad — August 12, 2025:\nOn Tuesday, Rubio and Dar met in Islamabad to discuss trade.\n".utf8)
            #expect(try await CLI.run(["ingest", "-", "--wait"], cluster: cluster, input: surnames).status == 0)
            let bySurname = try await CLI.run(["timeline", "Marco Rubio", "Ishaq Dar", "--from", "2025-08-10", "-o", "json"], cluster: cluster)
            let august = try JSONDecoder.iso8601.decode(TimelineResponse.self, from: Data(bySurname.output.utf8))
            #expect(august.engagements.map(\.date) == ["2025-08-12"])
            let people = try await CLI.run(["entities", "--type", "person", "-o", "json"], cluster: cluster)
            let ids = try JSONDecoder.iso8601.decode(EntitiesResponse.self, from: Data(people.output.utf8)).entities.map(\.id)
            #expect(!ids.contains("person:dar") && !ids.contains("person:rubio"), "\(ids)")

            let unknown = try await CLI.run(["timeline", "Nobody Atall"], cluster: cluster)
            #expect(unknown.status == 1)
            #expect(unknown.errors.contains("no person, office, organisation or country called 'Nobody Atall'"))
            let badType = try await CLI.run(["timeline", "Rubio", "--type", "dance"], cluster: cluster)
            #expect(badType.status == 64)
        }
    }

    @Test func entitiesAndEntityTopicAndEventDateFilters() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await CLI.run(["ingest", Samples.directory.path, "--wait"], cluster: cluster)
            #expect(ingest.status == 0, "\(ingest.errors)")

            let people = try await CLI.run(["entities", "--type", "person", "-o", "json"], cluster: cluster)
            let response = try JSONDecoder.iso8601.decode(EntitiesResponse.self, from: Data(people.output.utf8))
            #expect(Set(response.entities.map(\.id)) == ["person:marco-rubio", "person:ishaq-dar", "person:shafqat-ali-khan"])
            let dar = try #require(response.entities.first { $0.id == "person:ishaq-dar" })
            #expect(dar.articleCount == 2)
            #expect(dar.offices == ["office:PK:deputy-prime-minister", "office:PK:foreign-minister"])
            let acronyms = try await CLI.run(["entities", "--match", "trf"], cluster: cluster)
            #expect(acronyms.output.contains("org:the-resistance-front"))
            #expect(try await CLI.run(["entities", "--type", "planet"], cluster: cluster).status == 64)

            func total(_ arguments: [String]) async throws -> UInt64 {
                let run = try await CLI.run(["search"] + arguments + ["-o", "json"], cluster: cluster)
                #expect(run.status == 0, "\(run.errors)")
                return try JSONDecoder.iso8601.decode(SearchResponse.self, from: Data(run.output.utf8)).total
            }
            #expect(try await total(["Rubio", "--entity", "Shafqat Ali Khan"]) == 1)
            #expect(try await total(["--entity", "Rubio", "--entity", "Pakistan"]) == 2)
            #expect(try await total(["--entity", "India"]) == 1)
            #expect(try await total(["--topic", "minerals and rare earths"]) == 1)
            #expect(try await total(["--topic", "climate"]) == 1)
            #expect(try await total(["--event-from", "2025-08-01"]) == 1)
            #expect(try await total(["--event-from", "2025-07-20", "--event-to", "2025-07-26"]) == 1)

            let facets = try await CLI.run(["search", "Rubio", "--facets", "-o", "json"], cluster: cluster)
            let faceted = try JSONDecoder.iso8601.decode(SearchResponse.self, from: Data(facets.output.utf8))
            #expect(faceted.facets?.entities.contains(FacetCount(value: "person:ishaq-dar", count: 2)) == true)
            #expect(faceted.facets?.topics.contains(FacetCount(value: "trade", count: 2)) == true)
            let noFilter = try await CLI.run(["search", ""], cluster: cluster)
            #expect(noFilter.status == 64)
        }
    }

    @Test func extractPrintsEveryMentionWithoutAService() async throws {
        let path = Samples.directory.appendingPathComponent("004_e96d74743f33cd42.txt").path
        let table = try await CLI.run(["extract", path])
        #expect(table.status == 0, "\(table.errors)")
        #expect(table.output.contains("reference date: 2025-07-26"))
        #expect(table.output.contains("Friday"))
        #expect(table.output.contains("2025-07-25"))
        #expect(table.output.contains("person:shafqat-ali-khan"))
        let json = try await CLI.run(["extract", "-", "--published", "2025-08-08", "-o", "json"], input: Data("Rubio met Dar on Friday in Islamabad.".utf8))
        #expect(json.status == 0, "\(json.errors)")
        #expect(json.output.contains("\"value\" : \"2025-08-08\""))
        let bad = try await CLI.run(["extract", "/nonexistent/article.txt"])
        #expect(bad.status == 64)
        #expect(bad.errors.contains("cannot read /nonexistent/article.txt"))
    }
}
