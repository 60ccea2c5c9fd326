import DatelineProtocol
import DatelineTestSupport
import Foundation
import Testing

/// Both services as processes with `--tls-cert`/`--tls-key` (dateline-query following dateline-ingest over TLS
/// with `--ingest-tls-ca`), driven by the CLI with `--tls-ca`; and mutual TLS with `--tls-client-ca`.
@Suite("TLS between the processes", .serialized, .enabled(if: TestCertificates.isAvailable, "openssl is not installed"))
struct TLSServiceTests {
    let certificates = try! #require(TestCertificates.shared)

    func services(clientCA: String? = nil) async throws -> (ingest: ServiceProcess, query: ServiceProcess, ports: (Int, Int)) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-tls-\(UUID().uuidString)").path
        var tls = ["--tls-cert", self.certificates.serverCertificate, "--tls-key", self.certificates.serverKey]
        if let clientCA { tls += ["--tls-client-ca", clientCA] }
        let ingest = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", root + "/ingest", "--extraction", "off"] + tls)
        let ingestPort = try await ingest.port()
        // The query node's own certificate doubles as its client certificate towards ingest (mutual TLS).
        let query = try ServiceProcess("dateline-query", arguments: [
            "--data-dir", root + "/query", "--ingest", "127.0.0.1:\(ingestPort)", "--ingest-tls-ca", self.certificates.ca,
        ] + tls)
        return (ingest, query, (ingestPort, try await query.port()))
    }

    @Test func theCLIIngestsAndSearchesOverTLSAndAPlainCLIIsToldWhy() async throws {
        let (ingest, query, ports) = try await self.services()
        defer { ingest.kill(SIGTERM); query.kill(SIGTERM) }
        let tls = ["--tls-ca", self.certificates.ca]
        let ingested = try await CLI.run(["ingest", Samples.directory.path, "--wait"] + tls, ports: ports)
        #expect(ingested.status == 0, "\(ingested.errors)")
        let search = try await CLI.run(["search", "\"rare earth\" OR counterterrorism", "--no-color"] + tls, ports: ports)
        #expect(search.output.hasPrefix("2 articles match"), "\(search.errors)")
        // Without TLS: one clear line, not a hang.
        let plain = try await CLI.run(["health"], ports: ports)
        #expect(plain.status != 0)
        #expect(plain.errors.contains("requires TLS"), "\(plain.errors)")
        // A CA that signed nothing here.
        let impostor = try await CLI.run(["health", "--tls-ca", self.certificates.otherCA], ports: ports)
        #expect(impostor.status != 0)
        #expect(impostor.errors.contains("TLS handshake"), "\(impostor.errors)")
    }

    @Test func mutualTLSServesOnlyClientsWithACertificate() async throws {
        let (ingest, query, ports) = try await self.services(clientCA: self.certificates.ca)
        defer { ingest.kill(SIGTERM); query.kill(SIGTERM) }
        let anonymous = try await CLI.run(["health", "--tls-ca", self.certificates.ca], ports: ports)
        #expect(anonymous.status != 0)
        let client = ["--tls-ca", self.certificates.ca, "--tls-cert", self.certificates.clientCertificate, "--tls-key", self.certificates.clientKey]
        // The query node follows ingest with its own certificate: the article becomes searchable through it.
        let ingested = try await CLI.run(["ingest", Samples.directory.path, "--wait"] + client, ports: ports)
        #expect(ingested.status == 0, "\(ingested.errors)")
        let health = try await CLI.run(["health"] + client, ports: ports)
        #expect(health.status == 0, "\(health.errors)")
    }

    @Test func halfATLSConfigurationIsRefusedAtStart() async throws {
        let result = try await CLI.run(["health", "--tls-cert", self.certificates.clientCertificate], ports: nil)
        #expect(result.status != 0)
        #expect(result.errors.contains("--tls-cert and --tls-key go together"), "\(result.errors)")
    }
}
