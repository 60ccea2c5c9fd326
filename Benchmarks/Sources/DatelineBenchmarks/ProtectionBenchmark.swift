import DatelineProtocol
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// What a hostile or careless peer can cost `dateline-ingest`, measured on the real process:
/// - 40 pings of 16 MiB sent on one connection that never reads a reply: the process's resident memory
///   before and after (the service stops reading from that connection once 4 MiB of replies wait unsent);
/// - a 4,000-article ingest cancelled 10 ms after the service started on it: the process's CPU time in the
///   second after the cancel, against the same second of the same batch left to run.
enum ProtectionBenchmark {
    /// `VmRSS` and `RssAnon` of a process, in bytes (from /proc/PID/status).
    static func memory(of pid: Int32) -> (resident: Int, anonymous: Int, peak: Int) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0, 0) }
        func field(_ name: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "0") ?? 0) * 1024
        }
        return (field("VmRSS"), field("RssAnon"), field("VmHWM"))
    }

    /// User + system CPU time of a process (from /proc/PID/stat, in clock ticks).
    static func cpuSeconds(of pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15 (1-based) → indices 11 and 12 here.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func report() async throws -> String {
        guard FileManager.default.isExecutableFile(atPath: ResourcesBenchmark.binaries.appendingPathComponent("dateline-ingest").path) else {
            return "### A peer cannot exhaust a service\n\nSkipped: build dateline-ingest beside the benchmark (scripts/bench.sh does).\n"
        }
        let unread = try await self.unreadReplies()
        let bounded = try await self.manyUnreadConnections(requestMemory: "256M")
        let unbounded = try await self.manyUnreadConnections(requestMemory: "64G")
        let cancelled = try await self.cancelledIngest(cancel: true)
        let uncancelled = try await self.cancelledIngest(cancel: false)
        let megabyte = 1_048_576.0
        return """
            ### A peer cannot exhaust a service (the real `dateline-ingest` process)

            | measurement | figure | baseline (same run) |
            |---|---|---|
            | 40 × 16 MiB pings on one connection that reads nothing: resident memory growth (VmRSS / RssAnon) | +\(String(format: "%.0f", Double(unread.after.resident - unread.before.resident) / megabyte)) MB / +\(String(format: "%.0f", Double(unread.after.anonymous - unread.before.anonymous) / megabyte)) MB after \(unread.sentMegabytes) MiB were taken (the rest held back) | idle: \(String(format: "%.0f", Double(unread.before.resident) / megabyte)) MB resident; target ≤ +64 MB |
            | \(Self.manyConnections) connections each sending 2 × 16 MiB pings and reading nothing, default `--max-request-memory 256M`: resident memory growth (VmRSS / RssAnon) | +\(String(format: "%.0f", Double(bounded.after.resident - bounded.before.resident) / megabyte)) MB / +\(String(format: "%.0f", Double(bounded.after.anonymous - bounded.before.anonymous) / megabyte)) MB; \(bounded.waiting) connections waiting for room | `--max-request-memory 64G` (no bound over connections): +\(String(format: "%.0f", Double(unbounded.after.resident - unbounded.before.resident) / megabyte)) MB / +\(String(format: "%.0f", Double(unbounded.after.anonymous - unbounded.before.anonymous) / megabyte)) MB |
            | CPU in the second after a 4,000-article ingest is cancelled 10 ms into extraction | \(String(format: "%.2f", cancelled)) s | \(String(format: "%.2f", uncancelled)) s when left to run (\(String(format: "%.0f", uncancelled / max(cancelled, 0.001)))×) |

            """
    }

    static func startIngest(_ root: String, _ extra: [String] = []) async throws -> (Process, Int) {
        let process = try ResourcesBenchmark.start("dateline-ingest", ["--port", "0", "--port-file", root + "/ingest.port", "--data-dir", root + "/ingest"] + extra)
        return (process, try await ResourcesBenchmark.waitForPort(root + "/ingest.port"))
    }

    static let manyConnections = 32

    /// Many connections, each sending two 16 MiB pings and reading nothing: what the service holds once they have
    /// sent what it would take (its stalled-reader timeout set beyond the measurement). `waiting`: connections
    /// whose next frame waits for request memory, from the service's metrics.
    static func manyUnreadConnections(requestMemory: String) async throws -> (before: (resident: Int, anonymous: Int, peak: Int), after: (resident: Int, anonymous: Int, peak: Int), waiting: Int) {
        let root = NSTemporaryDirectory() + "dateline-bench-connections-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (process, port) = try await self.startIngest(root, [
            "--max-request-memory", requestMemory, "--stalled-reader-timeout", "600", "--metrics-port", "0", "--metrics-port-file", root + "/metrics.port",
        ])
        defer { process.terminate(); process.waitUntilExit() }
        let before = self.memory(of: process.processIdentifier)
        let payload = Data((0..<((16 << 20) - 64)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 11) })
        let ping = try self.frame(Ping(payload: payload), type: .ping, id: 1) + (try self.frame(Ping(payload: payload), type: .ping, id: 2))
        var sockets: [Int32] = []
        defer { for descriptor in sockets { close(descriptor) } }
        for _ in 0..<Self.manyConnections {
            let descriptor = self.connect(port: port)
            sockets.append(descriptor)
            _ = self.send(DatelinePreface.bytes() + (try self.frame(Hello(clientName: "reads-nothing", compression: .none), type: .hello, id: 0)), on: descriptor, patience: 2_000)
            _ = self.send(ping, on: descriptor, patience: 300)
        }
        let metricsPort = try await ResourcesBenchmark.waitForPort(root + "/metrics.port")
        // The gauge is sampled every second: wait for a sample after the last send.
        try await Task.sleep(for: .milliseconds(1_500))
        let waiting = Self.scrape(port: metricsPort, metric: "dateline_request_memory_waiting_connections").map { Int($0) } ?? -1
        return (before, self.memory(of: process.processIdentifier), waiting)
    }

    /// One metric's value from the service's Prometheus endpoint (a plain HTTP/1.0 GET).
    static func scrape(port: Int, metric: String) -> Double? {
        let descriptor = self.connect(port: port)
        defer { close(descriptor) }
        _ = self.send(Array("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8), on: descriptor, patience: 2_000)
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
            if count <= 0 { break }
            response += chunk[0..<count]
        }
        let line = String(decoding: response, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(metric + "{") || $0.hasPrefix(metric + " ") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    static func connect(port: Int) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return descriptor
    }

    /// Sends `bytes` without blocking; false once the peer has taken nothing for `patience` milliseconds.
    static func send(_ bytes: [UInt8], on descriptor: Int32, patience: Int32) -> Bool {
        var done = 0
        while done < bytes.count {
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            guard poll(&poller, 1, patience) == 1 else { return false }
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if sent < 0 { if errno == EAGAIN || errno == EINTR { continue }; return false }
            done += sent
        }
        return true
    }

    static func frame(_ message: some Encodable, type: DatelineMessageType, id: UInt32) throws -> [UInt8] {
        let payload = try DatelineBinaryEncoder().encode(message)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeInteger(UInt8(0x02))
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(id)
        buffer.writeImmutableBuffer(payload)
        return Array(buffer.readableBytesView)
    }

    static func unreadReplies() async throws -> (before: (resident: Int, anonymous: Int, peak: Int), after: (resident: Int, anonymous: Int, peak: Int), sentMegabytes: Int) {
        let root = NSTemporaryDirectory() + "dateline-bench-protection-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (process, port) = try await self.startIngest(root)
        defer { process.terminate(); process.waitUntilExit() }
        let before = self.memory(of: process.processIdentifier)
        let descriptor = self.connect(port: port)
        defer { close(descriptor) }
        _ = self.send(DatelinePreface.bytes() + (try self.frame(Hello(clientName: "reads-nothing", compression: .none), type: .hello, id: 0)), on: descriptor, patience: 2_000)
        let payload = Data((0..<((16 << 20) - 64)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 11) })
        var sent = 0
        for id in 1...40 {
            // False once the service has taken nothing for 2 s: it stopped reading.
            guard self.send(try self.frame(Ping(payload: payload), type: .ping, id: UInt32(id)), on: descriptor, patience: 2_000) else { break }
            sent += 16
        }
        return (before, self.memory(of: process.processIdentifier), sent)
    }

    /// CPU the service spends in the second after the cancel (or the same moment, uncancelled).
    static func cancelledIngest(cancel: Bool) async throws -> Double {
        let root = NSTemporaryDirectory() + "dateline-bench-cancel-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (process, port) = try await self.startIngest(root)
        defer { process.terminate(); process.waitUntilExit() }
        let pid = process.processIdentifier
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
        let body = String(repeating: "Pakistan's Foreign Minister Ishaq Dar met US Secretary of State Marco Rubio in Washington on Friday to discuss trade, counterterrorism and minerals. ", count: 12)
        let batch = (0..<4_000).map { ArticleSubmission(externalID: "bench-\($0)", body: "Story \($0). " + body) }
        let idle = self.cpuSeconds(of: pid)
        let request = Task { try await connection.send(IngestRequest(articles: batch), timeout: .seconds(600)) }
        // The service has started on it once it uses CPU beyond decoding (a quarter of a second of it).
        while self.cpuSeconds(of: pid) - idle < 0.25 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(10))
        if cancel { request.cancel() }
        try await Task.sleep(for: .milliseconds(100))
        let before = self.cpuSeconds(of: pid)
        try await Task.sleep(for: .seconds(1))
        let used = self.cpuSeconds(of: pid) - before
        request.cancel()
        _ = await request.result
        try? await connection.close()
        return used
    }
}
