public import Foundation

/// Certificates made for the tests by `openssl`: a CA, a server certificate it signed for 127.0.0.1 and
/// localhost, a client certificate it signed, and a second CA that signed nothing here.
public struct TestCertificates: Sendable {
    public let directory: String
    public var ca: String { self.directory + "/ca.pem" }
    public var otherCA: String { self.directory + "/other-ca.pem" }
    public var serverCertificate: String { self.directory + "/server.pem" }
    public var serverKey: String { self.directory + "/server.key" }
    public var clientCertificate: String { self.directory + "/client.pem" }
    public var clientKey: String { self.directory + "/client.key" }

    public static let isAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    /// Made once per test run.
    public static let shared: TestCertificates? = try? TestCertificates.make()

    public static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func openssl(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.joined(separator: " ")) failed"])
            }
        }
        for ca in ["ca", "other-ca"] {
            try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                         "-subj", "/CN=Dateline test \(ca)", "-keyout", "\(ca).key", "-out", "\(ca).pem"])
        }
        for (name, extensions) in [("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", "subjectAltName=DNS:dateline-client")] {
            try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(name)",
                         "-keyout", "\(name).key", "-out", "\(name).csr"])
            try "\(extensions)\n".write(toFile: directory + "/\(name).ext", atomically: true, encoding: .utf8)
            try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                         "-extfile", "\(name).ext", "-out", "\(name).pem"])
        }
        return TestCertificates(directory: directory)
    }
}

