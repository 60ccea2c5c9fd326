/// A service address written `HOST:PORT`, as flags and environment variables give it.
public struct DatelineEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (the last colon separates them); nil when either part is missing or the port is not 1-65535.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        let host = String(text[..<colon])
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { "\(self.host):\(self.port)" }
}
