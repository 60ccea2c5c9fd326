import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 that resets its clients' connections (an RST, through `SO_LINGER` 0) at a chosen
/// moment, as a service that is killed does, so that tests can see what a client says then.
///
/// Plain blocking sockets on threads of their own: the proxy must not depend on the event loops or the
/// cooperative threads of the code under test.
final class ResettingProxy: Sendable {
    /// When a client's connection is reset.
    enum Moment: Sendable {
        /// As soon as the client has sent something (its preface and Hello): during the handshake.
        case handshake
        /// When the client sends its first request: the handshake with the service at `upstreamPort` is
        /// forwarded, and the request is not.
        case firstRequest(upstreamPort: Int)
    }

    /// The port the proxy listens on.
    let port: Int
    private let listener: Int32

    /// Listens on an ephemeral port and serves every client on a thread of its own.
    init(resetting moment: Moment) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(listener, address, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, address, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }  // the listener was shut down
                Thread.detachNewThread { Self.serve(client, moment: moment) }
            }
        }
    }

    /// Stops accepting clients.
    func stop() {
        shutdown(self.listener, Int32(SHUT_RDWR))
        close(self.listener)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func serve(_ client: Int32, moment: Moment) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        switch moment {
        case .handshake:
            _ = read(client, &buffer, buffer.count)
            self.reset(client)
        case .firstRequest(let upstreamPort):
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = self.loopback(port: UInt16(upstreamPort))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard connected else {
                close(upstream)
                self.reset(client)
                return
            }
            // The client sends nothing after its Hello until the service's Welcome reached it, so whatever it
            // sends once something came back from the service is a request.
            let welcomed = Flag()
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 64 << 10)
                while true {
                    let count = read(upstream, &buffer, buffer.count)
                    guard count > 0 else { break }
                    welcomed.set()
                    guard write(client, buffer, count) == count else { break }
                }
                close(upstream)
            }
            while true {
                let count = read(client, &buffer, buffer.count)
                guard count > 0 else { break }
                if welcomed.isSet { break }
                guard write(upstream, buffer, count) == count else { break }
            }
            shutdown(upstream, Int32(SHUT_RDWR))  // ends the other thread, which closes it
            self.reset(client)
        }
    }

    /// Closes `socket` with an RST rather than a FIN.
    private static func reset(_ socket: Int32) {
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        close(socket)
    }

    private final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { self.value.load(ordering: .acquiring) }
        func set() { self.value.store(true, ordering: .releasing) }
    }
}
