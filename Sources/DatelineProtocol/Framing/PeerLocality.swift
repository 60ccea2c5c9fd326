public import NIOCore

/// Whether a connection's two ends are on the same host, decided from the socket's addresses: a sender in
/// `auto` compression mode sends such a peer its payloads uncompressed (``DatelineFrameWriter/peerIsLocal``).
public enum PeerLocality {
    /// True for a Unix domain socket, a loopback peer (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), or a peer
    /// whose IP address is the connection's own local address.
    public static func isLocal(remote: SocketAddress?, local: SocketAddress?) -> Bool {
        guard let remote else { return false }
        if case .unixDomainSocket = remote { return true }
        guard let remoteIP = remote.ipAddress else { return false }
        if remoteIP.hasPrefix("127.") || remoteIP == "::1" || remoteIP.lowercased().hasPrefix("::ffff:127.") { return true }
        return remoteIP == local?.ipAddress
    }
}
