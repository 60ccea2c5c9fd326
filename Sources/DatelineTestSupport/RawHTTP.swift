public import NIOCore
import Foundation
import NIOPosix

/// Sends bytes to a TCP server and collects everything it answers until it closes the connection: enough HTTP
/// for tests of the metrics endpoint (scrapes, keep-alive, malformed requests) without an HTTP client.
public enum RawHTTP {
    /// What came back, as text.
    public static func exchange(port: Int, host: String = "127.0.0.1", sending request: String) async throws -> String {
        let collected = try await self.exchange(port: port, host: host, sending: Array(request.utf8))
        return String(decoding: collected, as: UTF8.self)
    }

    /// What came back, as bytes.
    public static func exchange(port: Int, host: String = "127.0.0.1", sending request: [UInt8]) async throws -> [UInt8] {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(promise: promise))
                }
            }
            .connect(host: host, port: port)
            .get()
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: request))
        return try await promise.futureResult.get()
    }

    /// A GET of `path` on a connection closed after it; returns (status code, body).
    public static func get(port: Int, path: String = "/metrics") async throws -> (status: Int, body: String) {
        let response = try await self.exchange(port: port, sending: "GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let status = response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        let body = response.range(of: "\r\n\r\n").map { String(response[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var bytes: [UInt8] = []
        private let promise: EventLoopPromise<[UInt8]>

        init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = self.unwrapInboundIn(data)
            self.bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.promise.succeed(self.bytes)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.promise.fail(error)
            context.close(promise: nil)
        }
    }
}

/// One scrape's samples: `name{labels} value` lines of the Prometheus text format.
public struct PrometheusSamples: Sendable {
    /// (name, labels, value) in the order scraped.
    public let samples: [(name: String, labels: [String: String], value: Double)]

    /// Reads the exposition text; comment lines are skipped.
    public init(_ text: String) {
        var samples: [(String, [String: String], Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let brace = series.firstIndex(of: "{"), series.hasSuffix("}") {
                name = String(series[..<brace])
                for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            }
            samples.append((name, labels, value))
        }
        self.samples = samples
    }

    /// The value of the one series named `name` whose labels include `labels`; nil when there is none, the sum
    /// when several match.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = self.samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    /// How many series are named `name`.
    public func count(_ name: String) -> Int { self.samples.count { $0.name == name } }
}
