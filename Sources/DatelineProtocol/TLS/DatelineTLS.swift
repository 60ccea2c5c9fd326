public import NIOCore
public import NIOSSL

/// TLS for a ``DatelineServer``: its certificate and key, and optionally the CA whose client certificates it
/// requires (mutual TLS). The preface and every frame run inside TLS unchanged.
public struct DatelineServerTLS: Sendable, Hashable {
    /// A PEM file with the server's certificate, then any intermediates.
    public var certificateChainPath: String
    /// A PEM file with the certificate's private key.
    public var privateKeyPath: String
    /// A PEM file with the CA certificates that sign the clients' certificates; when set, a client without a
    /// certificate signed by one of them is refused during the TLS handshake. Default: nil (any client).
    public var clientCAPath: String?

    /// Creates the configuration; see each property.
    public init(certificateChainPath: String, privateKeyPath: String, clientCAPath: String? = nil) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
    }

    /// Reads the files and builds the context every connection shares.
    /// - Throws: ``DatelineError`` `invalidArgument` naming the file that cannot be read or parsed.
    package func makeContext() throws(DatelineError) -> NIOSSLContext {
        let chain = try readCertificates(self.certificateChainPath, what: "the TLS certificate")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: self.privateKeyPath, format: .pem)
        } catch {
            throw DatelineError(code: .invalidArgument, message: "cannot read the TLS private key \(self.privateKeyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCAPath = self.clientCAPath {
            configuration.trustRoots = .certificates(try readCertificates(clientCAPath, what: "the client CA"))
            configuration.certificateVerification = .noHostnameVerification
        }
        return try makeSSLContext(configuration)
    }
}

/// TLS for a client of a Dateline service: whom to trust, and optionally the client's own certificate (for a
/// service that requires mutual TLS).
public struct DatelineClientTLS: Sendable, Hashable {
    /// A PEM file with the CA certificates to trust; nil trusts the system's. Default: nil.
    public var caPath: String?
    /// Accept any server certificate, without checking who signed it or whom it names. For tests only: it
    /// gives up the protection against an impostor that TLS exists for. Default: false.
    public var insecureSkipVerification: Bool
    /// A PEM file with the client's certificate chain, for mutual TLS. Default: nil.
    public var certificateChainPath: String?
    /// A PEM file with the client certificate's private key. Default: nil.
    public var privateKeyPath: String?

    /// Creates the configuration; see each property.
    public init(caPath: String? = nil, insecureSkipVerification: Bool = false, certificateChainPath: String? = nil, privateKeyPath: String? = nil) {
        self.caPath = caPath
        self.insecureSkipVerification = insecureSkipVerification
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }

    /// Reads the files and builds a context (each connection does, when it connects).
    /// - Throws: ``DatelineError`` `invalidArgument` naming the file that cannot be read or parsed.
    package func makeContext() throws(DatelineError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caPath = self.caPath {
            configuration.trustRoots = .certificates(try readCertificates(caPath, what: "the TLS CA"))
        }
        if self.insecureSkipVerification { configuration.certificateVerification = .none }
        if let chainPath = self.certificateChainPath {
            guard let keyPath = self.privateKeyPath else {
                throw DatelineError(code: .invalidArgument, message: "a TLS client certificate needs its private key too")
            }
            configuration.certificateChain = try readCertificates(chainPath, what: "the TLS client certificate").map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
            } catch {
                throw DatelineError(code: .invalidArgument, message: "cannot read the TLS client key \(keyPath): \(error)")
            }
        }
        return try makeSSLContext(configuration)
    }

    /// The client handler for a connection to `host`: the name is checked against the server's certificate (an
    /// IP address against its IP addresses) and sent as SNI when it is a name.
    package static func handler(context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host)
    }
}

private func readCertificates(_ path: String, what: String) throws(DatelineError) -> [NIOSSLCertificate] {
    let certificates: [NIOSSLCertificate]
    do {
        certificates = try NIOSSLCertificate.fromPEMFile(path)
    } catch {
        throw DatelineError(code: .invalidArgument, message: "cannot read \(what) \(path): \(error)")
    }
    guard !certificates.isEmpty else { throw DatelineError(code: .invalidArgument, message: "\(what) \(path) holds no PEM certificate") }
    return certificates
}

private func makeSSLContext(_ configuration: TLSConfiguration) throws(DatelineError) -> NIOSSLContext {
    do {
        return try NIOSSLContext(configuration: configuration)
    } catch {
        throw DatelineError(code: .invalidArgument, message: "the TLS configuration is not usable: \(error)")
    }
}

/// First in a TLS server's pipeline: a connection that starts with a TLS record gets the TLS handler; one that
/// starts otherwise (a plain Dateline client's preface, or anything else) is passed on as it is, and the
/// connection handler refuses a plain client with an error it can read (`UNAUTHORIZED`: TLS required).
final class DatelineTLSDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// A TLS record of type handshake.
    static let handshakeRecord: UInt8 = 0x16
    private let context: NIOSSLContext

    init(context: NIOSSLContext) {
        self.context = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        if first == Self.handshakeRecord {
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: self.context), position: .after(self))
            } catch {
                context.fireErrorCaught(error)
                return
            }
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
