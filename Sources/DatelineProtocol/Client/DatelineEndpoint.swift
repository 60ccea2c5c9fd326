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

    /// Parses `HOST:PORT[,HOST:PORT...]`; nil when any entry is not `HOST:PORT` or the list is empty.
    public static func list(_ text: String) -> [DatelineEndpoint]? {
        let endpoints = text.split(separator: ",").map { DatelineEndpoint(String($0).trimmingWhitespace()) }
        guard !endpoints.isEmpty, endpoints.allSatisfy({ $0 != nil }) else { return nil }
        return endpoints.map { $0! }
    }

    public var description: String { "\(self.host):\(self.port)" }
}

extension String {
    func trimmingWhitespace() -> String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
