import DatelineProtocol
import DatelineTestSupport
import Foundation
import Testing

@Suite("TLS", .enabled(if: TestCertificates.isAvailable, "openssl is not installed"))
struct TLSTests {
    let certificates = try! #require(TestCertificates.shared)

    func serverConfiguration(clientCA: String? = nil) -> DatelineServerConfiguration {
        var configuration = DatelineServerConfiguration(serviceName: "dateline-test")
        configuration.tls = DatelineServerTLS(certificateChainPath: self.certificates.serverCertificate, privateKeyPath: self.certificates.serverKey, clientCAPath: clientCA)
        return configuration
    }

    @Test(arguments: ["127.0.0.1", "localhost"])
    func aClientTrustingTheCATalksOverTLS(_ host: String) async throws {
        try await withTestServer(configuration: self.serverConfiguration()) { port, _ in
            let connection = try await DatelineClientConnection.connect(
                host: host, port: port, configuration: DatelineClientConfiguration(tls: DatelineClientTLS(caPath: self.certificates.ca))
            )
            #expect(connection.welcome.serverName.hasPrefix("dateline-test"))
            #expect(try await connection.send(EchoRequest(text: "over TLS")).text == "over TLS")
            // Large replies cross TLS records whole.
            let large = String(repeating: "x", count: 200_000)
            #expect(try await connection.send(EchoRequest(text: large)).text == large)
            try await connection.close()
        }
    }

    @Test func aPlainClientOfATLSServiceIsToldTLSIsRequired() async throws {
        try await withTestServer(configuration: self.serverConfiguration()) { port, _ in
            let error = await #expect(throws: DatelineError.self) {
                _ = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
            }
            #expect(error?.code == .unauthorized)
            #expect(error?.message.contains("requires TLS") == true)
        }
    }

    @Test func aTLSClientOfAPlainServiceGetsAClearError() async throws {
        try await withTestServer { port, _ in
            let error = await #expect(throws: DatelineError.self) {
                _ = try await DatelineClientConnection.connect(
                    host: "127.0.0.1", port: port, configuration: DatelineClientConfiguration(tls: DatelineClientTLS(caPath: self.certificates.ca))
                )
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("TLS") == true)
        }
    }

    @Test func aServerCertificateFromAnotherCAIsRefusedUnlessVerificationIsOff() async throws {
        try await withTestServer(configuration: self.serverConfiguration()) { port, _ in
            let error = await #expect(throws: DatelineError.self) {
                _ = try await DatelineClientConnection.connect(
                    host: "127.0.0.1", port: port, configuration: DatelineClientConfiguration(tls: DatelineClientTLS(caPath: self.certificates.otherCA))
                )
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("TLS handshake") == true)
            let insecure = try await DatelineClientConnection.connect(
                host: "127.0.0.1", port: port, configuration: DatelineClientConfiguration(tls: DatelineClientTLS(insecureSkipVerification: true))
            )
            #expect(try await insecure.send(EchoRequest(text: "unverified")).text == "unverified")
            try await insecure.close()
        }
    }

    @Test func mutualTLSRefusesAClientWithoutACertificateFromItsCA() async throws {
        try await withTestServer(configuration: self.serverConfiguration(clientCA: self.certificates.ca)) { port, _ in
            await #expect(throws: DatelineError.self) {
                let connection = try await DatelineClientConnection.connect(
                    host: "127.0.0.1", port: port, configuration: DatelineClientConfiguration(tls: DatelineClientTLS(caPath: self.certificates.ca))
                )
                _ = try await connection.send(EchoRequest(text: "no certificate"))
            }
            let tls = DatelineClientTLS(caPath: self.certificates.ca, certificateChainPath: self.certificates.clientCertificate, privateKeyPath: self.certificates.clientKey)
            let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port, configuration: DatelineClientConfiguration(tls: tls))
            #expect(try await connection.send(EchoRequest(text: "with a certificate")).text == "with a certificate")
            try await connection.close()
        }
    }

    @Test func unreadableCertificatesAreAnErrorNamingTheFile() async throws {
        var configuration = DatelineServerConfiguration(serviceName: "dateline-test")
        configuration.tls = DatelineServerTLS(certificateChainPath: "/nonexistent/server.pem", privateKeyPath: self.certificates.serverKey)
        let server = DatelineServer(configuration: configuration, router: DatelineRouter(), logger: quietLogger)
        let error = await #expect(throws: DatelineError.self) { try await server.run() }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("/nonexistent/server.pem") == true)
        let clientError = await #expect(throws: DatelineError.self) {
            _ = try await DatelineClientConnection.connect(host: "127.0.0.1", port: 1, configuration: DatelineClientConfiguration(tls: DatelineClientTLS(caPath: "/nonexistent/ca.pem")))
        }
        #expect(clientError?.message.contains("/nonexistent/ca.pem") == true)
    }
}
