@testable import DatelineWire

/// Builds capture files for tests: TCP segments wrapped in IPv4 or IPv6 and a link layer, written as pcap
/// (either byte order, micro- or nanosecond timestamps) or pcapng.
struct CaptureBuilder {
    /// The link-layer header written before each IP packet.
    enum Link: UInt32 {
        case loopback = 0
        case ethernet = 1
        case rawIP = 101
        case sll = 113
        case sll2 = 276
    }

    var link: Link = .ethernet
    /// Each packet's link-layer bytes, in capture order.
    private(set) var packets: [[UInt8]] = []

    init(link: Link = .ethernet) {
        self.link = link
    }

    /// Appends a packet carrying `segment`.
    mutating func append(_ segment: TCPSegment, acknowledgment: UInt32 = 0) {
        self.packets.append(self.frame(Self.ipPacket(segment, acknowledgment: acknowledgment)))
    }

    /// Appends a packet as it is.
    mutating func appendRaw(_ packet: [UInt8]) {
        self.packets.append(packet)
    }

    /// The capture as a classic pcap file; packet n is stamped 1754300000 s + n ms.
    func pcap(bigEndian: Bool = false, nanoseconds: Bool = false) -> [UInt8] {
        var file: [UInt8] = []
        func put32(_ value: UInt32) { file += bigEndian ? value.bigEndianBytes : value.littleEndianBytes }
        func put16(_ value: UInt16) { file += bigEndian ? value.bigEndianBytes : value.littleEndianBytes }
        put32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4)
        put16(2)
        put16(4)
        put32(0)
        put32(0)
        put32(262_144)
        put32(self.link.rawValue)
        for (index, packet) in self.packets.enumerated() {
            put32(1_754_300_000)
            put32(UInt32(index) * (nanoseconds ? 1_000_000 : 1_000))
            put32(UInt32(packet.count))
            put32(UInt32(packet.count))
            file += packet
        }
        return file
    }

    /// The capture as pcapng: a section header, one interface (nanosecond timestamps), enhanced packet blocks.
    func pcapng() -> [UInt8] {
        var file: [UInt8] = []
        func block(_ type: UInt32, _ body: [UInt8]) {
            let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
            let length = UInt32(12 + padded.count)
            file += type.littleEndianBytes + length.littleEndianBytes + padded + length.littleEndianBytes
        }
        block(0x0A0D_0D0A, UInt32(0x1A2B_3C4D).littleEndianBytes + UInt16(1).littleEndianBytes + UInt16(0).littleEndianBytes + [UInt8](repeating: 0xFF, count: 8))
        // if_tsresol = 9 (nanoseconds), then the end of options.
        let options: [UInt8] = UInt16(9).littleEndianBytes + UInt16(1).littleEndianBytes + [9, 0, 0, 0] + [0, 0, 0, 0]
        block(1, UInt16(self.link.rawValue).littleEndianBytes + [0, 0] + UInt32(262_144).littleEndianBytes + options)
        for (index, packet) in self.packets.enumerated() {
            let ticks = UInt64(1_754_300_000) * 1_000_000_000 + UInt64(index) * 1_000_000
            block(6, UInt32(0).littleEndianBytes + UInt32(ticks >> 32).littleEndianBytes + UInt32(ticks & 0xFFFF_FFFF).littleEndianBytes
                + UInt32(packet.count).littleEndianBytes + UInt32(packet.count).littleEndianBytes + packet)
        }
        return file
    }

    /// The link-layer frame around an IP packet.
    private func frame(_ ip: [UInt8]) -> [UInt8] {
        let isIPv6 = ip[0] >> 4 == 6
        let etherType: UInt16 = isIPv6 ? 0x86DD : 0x0800
        switch self.link {
        case .ethernet:
            return [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1] + etherType.bigEndianBytes + ip
        case .sll:
            return UInt16(0).bigEndianBytes + UInt16(772).bigEndianBytes + UInt16(6).bigEndianBytes + [0, 0, 0, 0, 0, 0, 0, 0] + etherType.bigEndianBytes + ip
        case .sll2:
            return etherType.bigEndianBytes + [0, 0] + UInt32(1).bigEndianBytes + UInt16(772).bigEndianBytes + [0, 6] + [UInt8](repeating: 0, count: 8) + ip
        case .rawIP:
            return ip
        case .loopback:
            return UInt32(isIPv6 ? 30 : 2).littleEndianBytes + ip
        }
    }

    /// An IPv4 or IPv6 packet (by the address length) carrying the segment, checksums left zero.
    static func ipPacket(_ segment: TCPSegment, acknowledgment: UInt32) -> [UInt8] {
        var tcp = segment.source.port.bigEndianBytes + segment.destination.port.bigEndianBytes
        tcp += segment.sequenceNumber.bigEndianBytes + acknowledgment.bigEndianBytes
        tcp += [0x50, segment.flags.rawValue] + UInt16(65_535).bigEndianBytes + [0, 0, 0, 0]
        tcp += segment.payload
        if segment.source.address.count == 16 {
            return [0x60, 0, 0, 0] + UInt16(tcp.count).bigEndianBytes + [6, 64] + segment.source.address + segment.destination.address + tcp
        }
        return [0x45, 0] + UInt16(20 + tcp.count).bigEndianBytes + [0, 0, 0x40, 0, 64, 6, 0, 0] + segment.source.address + segment.destination.address + tcp
    }
}

/// Both directions of one TCP connection, sequence numbers kept: each call returns the next segment.
struct TCPConversation {
    var client: TCPEndpoint
    var server: TCPEndpoint
    var clientSequence: UInt32
    var serverSequence: UInt32

    init(client: TCPEndpoint = .init(address: [10, 0, 0, 1], port: 50_000), server: TCPEndpoint = .init(address: [10, 0, 0, 2], port: 7400),
         clientSequence: UInt32 = 1_000, serverSequence: UInt32 = 900_000) {
        self.client = client
        self.server = server
        self.clientSequence = clientSequence
        self.serverSequence = serverSequence
    }

    /// SYN, SYN-ACK, ACK.
    mutating func handshake() -> [TCPSegment] {
        defer {
            self.clientSequence &+= 1
            self.serverSequence &+= 1
        }
        return [
            TCPSegment(source: self.client, destination: self.server, sequenceNumber: self.clientSequence, flags: .syn, payload: []),
            TCPSegment(source: self.server, destination: self.client, sequenceNumber: self.serverSequence, flags: [.syn, .ack], payload: []),
            TCPSegment(source: self.client, destination: self.server, sequenceNumber: self.clientSequence &+ 1, flags: .ack, payload: []),
        ]
    }

    /// The next segment from the client (or server) carrying `bytes`.
    mutating func send(_ bytes: [UInt8], fromClient: Bool) -> TCPSegment {
        let (source, destination) = fromClient ? (self.client, self.server) : (self.server, self.client)
        let sequence = fromClient ? self.clientSequence : self.serverSequence
        if fromClient { self.clientSequence &+= UInt32(bytes.count) } else { self.serverSequence &+= UInt32(bytes.count) }
        return TCPSegment(source: source, destination: destination, sequenceNumber: sequence, flags: .ack, payload: bytes)
    }
}

extension FixedWidthInteger {
    var bigEndianBytes: [UInt8] { withUnsafeBytes(of: self.bigEndian) { Array($0) } }
    var littleEndianBytes: [UInt8] { withUnsafeBytes(of: self.littleEndian) { Array($0) } }
}
