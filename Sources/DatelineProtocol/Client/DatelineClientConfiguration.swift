/// Everything a ``DatelineClientConnection`` needs to know, with documented defaults.
public struct DatelineClientConfiguration: Sendable {
    /// The name sent in Hello, for the server's logs. Default: `dateline-client/0.1.0`.
    public var clientName: String
    /// The shared secret for services started with a token. Default: nil.
    public var token: String?
    /// Limits on what the server may send. Default: 16 MiB frames, 16 MiB decompressed.
    public var limits: DatelineFrameDecoder.Limits
    /// How requests are compressed, and (its mode) what the client asks of the server. Default: `auto`,
    /// level 1, 1 KiB threshold.
    public var compression: DatelineCompressionConfiguration
    /// How long connecting plus the handshake may take. Default: 5 s.
    public var connectTimeout: Duration
    /// The timeout for requests that do not give their own; nil waits forever. Default: 30 s.
    public var requestTimeout: Duration?
    /// How many requests the client asks to keep in flight. Default: 1024.
    public var maximumInFlight: Int
    /// TLS for the connection, for a service started with a certificate. Default: nil (plain TCP).
    public var tls: DatelineClientTLS?

    /// Creates a configuration; see each property for its default.
    public init(
        clientName: String = "dateline-client/0.1.0",
        token: String? = nil,
        limits: DatelineFrameDecoder.Limits = .init(),
        compression: DatelineCompressionConfiguration = .init(),
        connectTimeout: Duration = .seconds(5),
        requestTimeout: Duration? = .seconds(30),
        maximumInFlight: Int = 1024,
        tls: DatelineClientTLS? = nil
    ) {
        self.clientName = clientName
        self.token = token
        self.limits = limits
        self.compression = compression
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maximumInFlight = maximumInFlight
        self.tls = tls
    }
}
