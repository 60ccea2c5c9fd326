import DatelineTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Users do not run services as root. Both services and the CLI as an unprivileged user (`nobody`, through
/// `setpriv`, when the tests run as root): every connection used to be reset, because a socket option meant for
/// TCP (no delay) was set at the socket level, where its number is SO_DEBUG, which only root may set.
@Suite("Services run by an unprivileged user", .serialized)
struct UnprivilegedServicesTests {
    @Test(.enabled(if: ServiceProcess.canDropPrivileges || getuid() != 0, "needs setpriv to drop root"))
    func bothServicesAndTheCLIWorkWithoutRoot() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-unprivileged-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ingest = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", root + "/ingest", "--extraction", "off"], unprivileged: true)
        defer { ingest.kill(SIGTERM) }
        let ingestPort = try await ingest.port()
        let query = try ServiceProcess("dateline-query", arguments: ["--data-dir", root + "/query", "--ingest", "127.0.0.1:\(ingestPort)"], unprivileged: true)
        defer { query.kill(SIGTERM) }
        let ports = (ingestPort, try await query.port())
        let ingested = try await CLI.run(["ingest", Samples.directory.path, "--wait"], ports: ports, unprivileged: true)
        #expect(ingested.status == 0, "\(ingested.errors)")
        #expect(ingested.output.contains("accepted 2"), "\(ingested.output)")
        let search = try await CLI.run(["search", "counterterrorism", "--no-color"], ports: ports, unprivileged: true)
        #expect(search.status == 0, "\(search.errors)")
        #expect(search.output.hasPrefix("2 articles match"), "\(search.output)")
    }
}
