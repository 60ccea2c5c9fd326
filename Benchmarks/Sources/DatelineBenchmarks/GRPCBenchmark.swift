import DatelineProtocol
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import SwiftProtobuf

/// The same three request shapes as the round-trip benchmark, through grpc-swift 2 (HTTP/2 over SwiftNIO,
/// swift-protobuf's generated code), on one connection over loopback; and the codec: our encoder/decoder
/// against swift-protobuf's generated code on the same messages (the wire format is the same).
enum GRPCBenchmark {
    /// Converts one of our messages into its generated swift-protobuf twin through the wire format.
    static func generated<M: SwiftProtobuf.Message>(_ message: some DatelineMessage, as type: M.Type) throws -> M {
        let bytes = try DatelineBinaryEncoder().encode(message)
        return try M(serializedBytes: Array(bytes.readableBytesView))
    }

    struct Service: Datelinebench_Bench.SimpleServiceProtocol {
        let search: Dateline_V1_SearchResponse

        func ping(request: Dateline_V1_Ping, context: ServerContext) async throws -> Dateline_V1_Pong {
            Dateline_V1_Pong.with { $0.payload = request.payload }
        }

        func search(request: Dateline_V1_SearchRequest, context: ServerContext) async throws -> Dateline_V1_SearchResponse {
            self.search
        }

        func ingest(request: Dateline_V1_IngestRequest, context: ServerContext) async throws -> Dateline_V1_IngestResponse {
            Dateline_V1_IngestResponse.with { response in
                response.results = request.articles.indices.map { index in
                    Dateline_V1_IngestResult.with {
                        $0.index = UInt32(index)
                        $0.status = .accepted
                        $0.articleID = "a-\(index)"
                        $0.offset = UInt64(index)
                    }
                }
                response.endOffset = UInt64(request.articles.count)
            }
        }
    }

    struct Figures {
        var perSecond: Double
        var p50: Double
        var p99: Double
        var requestBytes: Int
        var responseBytes: Int
    }

    static func measure(_ total: Int, concurrency: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> (Double, Double, Double) {
        let clock = ContinuousClock()
        for _ in 0..<min(200, total) { try await call() }  // warm-up
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var latencies: [Double] = []
                    for _ in 0..<(total / concurrency) {
                        let begin = clock.now
                        try await call()
                        latencies.append((clock.now - begin).seconds)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        let elapsed = (clock.now - start).seconds
        let sorted = latencies.sorted()
        return (Double(sorted.count) / elapsed, sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
    }

    static func report(quick: Bool, dateline: [String: Double]) async throws -> String {
        let search = try self.generated(SampleMessages.searchResult(), as: Dateline_V1_SearchResponse.self)
        let ingest = try self.generated(SampleMessages.ingestBatch(), as: Dateline_V1_IngestRequest.self)
        let ping = try self.generated(SampleMessages.ping, as: Dateline_V1_Ping.self)
        let searchRequest = try self.generated(SearchRequest(query: "cocoa"), as: Dateline_V1_SearchRequest.self)

        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [Service(search: search)])
        let serverTask = Task { try await server.serve() }
        let port = try await transport.listeningAddress.ipv4!.port
        let client = GRPCClient(transport: try .http2NIOPosix(target: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext))
        let clientTask = Task { try await client.runConnections() }
        let bench = Datelinebench_Bench.Client(wrapping: client)

        let sequential = quick ? 2_000 : 10_000
        let concurrent = quick ? 20_000 : 100_000
        let pingSequential = try await Self.measure(sequential, concurrency: 1) { _ = try await bench.ping(ping) }
        let pingConcurrent = try await Self.measure(concurrent, concurrency: 64) { _ = try await bench.ping(ping) }
        let searchSequential = try await Self.measure(sequential / 2, concurrency: 1) { _ = try await bench.search(searchRequest) }
        let ingestSequential = try await Self.measure(sequential / 20, concurrency: 1) { _ = try await bench.ingest(ingest) }
        // Bytes on the wire per round trip (loopback, TCP/IP headers and ACKs included), one at a time.
        let wireCount = 1_000
        let wirePing = try await loopbackBytesPerCall(wireCount) { for _ in 0..<wireCount { _ = try await bench.ping(ping) } }
        let wireSearch = try await loopbackBytesPerCall(wireCount / 2) { for _ in 0..<(wireCount / 2) { _ = try await bench.search(searchRequest) } }
        let wireIngest = try await loopbackBytesPerCall(wireCount / 20) { for _ in 0..<(wireCount / 20) { _ = try await bench.ingest(ingest) } }
        client.beginGracefulShutdown()
        server.beginGracefulShutdown()
        _ = await clientTask.result
        serverTask.cancel()
        _ = await serverTask.result

        // Codec: swift-protobuf's generated code against ours, same messages.
        func codec<M: SwiftProtobuf.Message>(_ message: M, iterations: Int) throws -> Double {
            let clock = ContinuousClock()
            var samples: [Double] = []
            for _ in 0..<5 {
                let start = clock.now
                for _ in 0..<iterations {
                    let bytes: [UInt8] = try message.serializedBytes()
                    _ = try M(serializedBytes: bytes)
                }
                samples.append((clock.now - start).seconds / Double(iterations))
            }
            return samples.sorted()[2]
        }
        let scale = quick ? 1 : 4
        let codecIngest = try codec(ingest, iterations: 50 * scale)
        let codecSearch = try codec(search, iterations: 1_000 * scale)
        let codecPing = try codec(ping, iterations: 20_000 * scale)
        func d(_ key: String) -> Double { dateline[key] ?? .nan }
        // A figure this run did not measure (`--codec --grpc` runs no round trips of ours) prints as a dash.
        func whole(_ value: Double) -> String { value.isFinite ? String(Int(value)) : "—" }
        func bytes(_ value: Double?) -> String { value.map { String(format: "%.0f B", $0) } ?? "—" }

        return """
            ### Against grpc-swift 2 (HTTP/2, swift-protobuf generated code; one connection over loopback, same messages)

            | shape | gRPC /s | gRPC p50 | gRPC p99 | Dateline /s (same run) | Dateline ÷ gRPC |
            |---|---|---|---|---|---|
            | ping, 1 at a time | \(Int(pingSequential.0)) | \(micros(pingSequential.1)) | \(micros(pingSequential.2)) | \(whole(d("pingSequential"))) | **\(ratio(d("pingSequential") / pingSequential.0))** |
            | ping, 64 in flight | \(Int(pingConcurrent.0)) | \(micros(pingConcurrent.1)) | \(micros(pingConcurrent.2)) | \(whole(d("pingPipelined"))) | **\(ratio(d("pingPipelined") / pingConcurrent.0))** |
            | 10-hit search reply, 1 at a time | \(Int(searchSequential.0)) | \(micros(searchSequential.1)) | \(micros(searchSequential.2)) | \(whole(d("searchSequential"))) | **\(ratio(d("searchSequential") / searchSequential.0))** |
            | 100-article ingest batch, 1 at a time | \(Int(ingestSequential.0)) | \(micros(ingestSequential.1)) | \(micros(ingestSequential.2)) | \(whole(d("ingestSequential"))) | **\(ratio(d("ingestSequential") / ingestSequential.0))** |

            Bytes on the wire per round trip, one at a time (loopback, TCP/IP headers and ACKs included):

            | shape | gRPC | Dateline | Dateline ÷ gRPC |
            |---|---|---|---|
            | ping | \(bytes(wirePing)) | \(bytes(d("wirePing"))) | \(ratio(d("wirePing") / (wirePing ?? .nan))) |
            | 10-hit search reply | \(bytes(wireSearch)) | \(bytes(d("wireSearch"))) | \(ratio(d("wireSearch") / (wireSearch ?? .nan))) |
            | 100-article ingest batch | \(bytes(wireIngest)) | \(bytes(d("wireIngest"))) | \(ratio(d("wireIngest") / (wireIngest ?? .nan))) |

            (Dateline's figures are its round-trip benchmark's in this run. Over loopback neither side compresses: in
            `auto` mode Dateline leaves a peer on the same host uncompressed, and gRPC does not compress by default.
            Between hosts Dateline deflates payloads from 1 KiB: 3,076 B for this search reply, 54,814 B for the batch.)

            ### Codec against swift-protobuf's generated code (encode + decode, median of 5)

            | message | ours (Codable) | swift-protobuf (generated) | ours' speed relative to swift-protobuf |
            |---|---|---|---|
            | ingest batch, 100 articles | \(micros(d("codecIngest"))) | \(micros(codecIngest)) | \(ratio(codecIngest / d("codecIngest"))) |
            | search result, 10 hits | \(micros(d("codecSearch"))) | \(micros(codecSearch)) | \(ratio(codecSearch / d("codecSearch"))) |
            | ping | \(micros(d("codecPing"))) | \(micros(codecPing)) | \(ratio(codecPing / d("codecPing"))) |

            With zlib level 1 (the bytes are identical, so swift-protobuf + zlib pays the same deflate and inflate as ours:
            its figure is its codec time plus that cost as measured for ours in this run):

            | message | ours + zlib | swift-protobuf + zlib | ours' speed relative to swift-protobuf + zlib | bytes (both) |
            |---|---|---|---|---|
            | ingest batch, 100 articles | \(micros(d("codecIngestZlib"))) | \(micros(codecIngest + d("codecIngestZlib") - d("codecIngest"))) | \(ratio((codecIngest + d("codecIngestZlib") - d("codecIngest")) / d("codecIngestZlib"))) | \(whole(d("sizeIngest"))) → \(whole(d("sizeIngestZlib"))) |
            | search result, 10 hits | \(micros(d("codecSearchZlib"))) | \(micros(codecSearch + d("codecSearchZlib") - d("codecSearch"))) | \(ratio((codecSearch + d("codecSearchZlib") - d("codecSearch")) / d("codecSearchZlib"))) | \(whole(d("sizeSearch"))) → \(whole(d("sizeSearchZlib"))) |
            | ping | \(micros(d("codecPingZlib"))) | \(micros(codecPing + d("codecPingZlib") - d("codecPing"))) | \(ratio((codecPing + d("codecPingZlib") - d("codecPing")) / d("codecPingZlib"))) | \(whole(d("sizePing"))) → \(whole(d("sizePingZlib"))) |

            Bytes are identical: both write the protobuf wire format of the same `dateline.proto` messages.

            """
    }
}
