/// One end of a TCP connection: an IPv4 or IPv6 address and a port.
package struct TCPEndpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    package var address: [UInt8]
    package var port: UInt16

    package init(address: [UInt8], port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `10.0.0.1:7400`, or `[2001:db8::1]:7400`.
    package var description: String {
        self.address.count == 4 ? "\(self.addressText):\(self.port)" : "[\(self.addressText)]:\(self.port)"
    }

    /// The address alone, IPv6 in its RFC 5952 form (the longest run of zero groups as `::`).
    package var addressText: String {
        guard self.address.count == 16 else { return self.address.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(self.address[$0]) << 8 | UInt16(self.address[$0 + 1]) }
        var best: Range<Int> = 0..<0
        var start: Int?
        for index in 0...groups.count {
            if index < groups.count, groups[index] == 0 {
                if start == nil { start = index }
            } else if let run = start {
                if index - run > best.count, index - run > 1 { best = run..<index }
                start = nil
            }
        }
        let text = groups.map { String($0, radix: 16) }
        guard !best.isEmpty else { return text.joined(separator: ":") }
        return text[..<best.lowerBound].joined(separator: ":") + "::" + text[best.upperBound...].joined(separator: ":")
    }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.address.lexicographicallyPrecedes(rhs.address)) || (lhs.address == rhs.address && lhs.port < rhs.port)
    }
}

/// A TCP segment taken out of a captured packet.
package struct TCPSegment: Sendable, Hashable {
    /// The TCP header flags a reassembler needs.
    package struct Flags: OptionSet, Sendable, Hashable {
        package let rawValue: UInt8
        package init(rawValue: UInt8) { self.rawValue = rawValue }

        package static let fin = Flags(rawValue: 0x01)
        package static let syn = Flags(rawValue: 0x02)
        package static let rst = Flags(rawValue: 0x04)
        package static let ack = Flags(rawValue: 0x10)
    }

    package var source: TCPEndpoint
    package var destination: TCPEndpoint
    package var sequenceNumber: UInt32
    package var flags: Flags
    /// The payload bytes captured (fewer than sent when the capture's snap length cut the packet short).
    package var payload: [UInt8]

    package init(source: TCPEndpoint, destination: TCPEndpoint, sequenceNumber: UInt32, flags: Flags, payload: [UInt8]) {
        self.source = source
        self.destination = destination
        self.sequenceNumber = sequenceNumber
        self.flags = flags
        self.payload = payload
    }
}

/// Takes the TCP segment out of a captured packet: link layer (Ethernet with VLAN tags, Linux cooked SLL and
/// SLL2, raw IP, BSD loopback), then IPv4 or IPv6 (extension headers skipped), then TCP.
package enum TCPSegmentParser {
    /// What a packet held.
    package enum Outcome: Sendable, Hashable {
        /// A TCP segment.
        case segment(TCPSegment)
        /// Something else (ARP, UDP, ICMP ...): not ours to decode.
        case notTCP
        /// A packet that cannot be read as TCP: why.
        case unreadable(String)
    }

    /// The link types this parser reads.
    package static let supportedLinkTypes: [UInt32: String] = [
        0: "BSD loopback", 1: "Ethernet", 101: "raw IP", 12: "raw IP", 228: "raw IPv4", 229: "raw IPv6",
        113: "Linux cooked (SLL)", 276: "Linux cooked v2 (SLL2)",
    ]

    /// The TCP segment in `packet`, if it holds one.
    package static func parse(_ packet: CapturedPacket) -> Outcome {
        let data = packet.data
        let network: (etherType: UInt16, offset: Int)?
        switch packet.linkType {
        case 1: network = self.ethernet(data)
        case 113: network = data.uint16(bigEndianAt: 14).map { ($0, 16) }
        case 276: network = data.uint16(bigEndianAt: 0).map { ($0, 20) }
        case 12, 101, 228, 229: network = data.first.map { ($0 >> 4 == 6 ? 0x86DD : 0x0800, 0) }
        case 0: network = self.loopback(data)
        default: return .unreadable("link type \(packet.linkType) is not supported (only \(Set(self.supportedLinkTypes.values).sorted().joined(separator: ", ")))")
        }
        guard let network else { return .unreadable("the link-layer header is cut short") }
        switch network.etherType {
        case 0x0800: return self.ipv4(data, at: network.offset)
        case 0x86DD: return self.ipv6(data, at: network.offset)
        default: return .notTCP
        }
    }

    private static func ethernet(_ data: [UInt8]) -> (UInt16, Int)? {
        var offset = 12
        // 802.1Q and 802.1ad tags: 4 bytes each before the real type.
        while let type = data.uint16(bigEndianAt: offset) {
            if type == 0x8100 || type == 0x88A8 || type == 0x9100 {
                offset += 4
                continue
            }
            return (type, offset + 2)
        }
        return nil
    }

    private static func loopback(_ data: [UInt8]) -> (UInt16, Int)? {
        // The address family in the capturing host's byte order: AF_INET is 2 everywhere, AF_INET6 is 10 on
        // Linux, 24, 28 or 30 on the BSDs and macOS.
        guard let family = data.uint32(at: 0, bigEndian: false) else { return nil }
        let value = family > 0xFFFF ? family.byteSwapped : family
        switch value {
        case 2: return (0x0800, 4)
        case 10, 24, 28, 30: return (0x86DD, 4)
        default: return (0, 4)
        }
    }

    private static func ipv4(_ data: [UInt8], at offset: Int) -> Outcome {
        guard data.count >= offset + 20, data[offset] >> 4 == 4 else { return .unreadable("the IPv4 header is cut short or malformed") }
        let headerLength = Int(data[offset] & 0x0F) * 4
        guard headerLength >= 20, data.count >= offset + headerLength else { return .unreadable("the IPv4 header is cut short or malformed") }
        guard data[offset + 9] == 6 else { return .notTCP }
        let fragment = data.uint16(bigEndianAt: offset + 6)!
        guard fragment & 0x3FFF == 0 else { return .unreadable("an IPv4 fragment (reassembling IP fragments is not supported)") }
        let totalLength = Int(data.uint16(bigEndianAt: offset + 2)!)
        // Ethernet pads short frames; a total length of 0 is what segmentation offload captures show.
        let end = totalLength == 0 ? data.count : min(data.count, offset + totalLength)
        return self.tcp(data, at: offset + headerLength, end: end, source: Array(data[(offset + 12)..<(offset + 16)]), destination: Array(data[(offset + 16)..<(offset + 20)]))
    }

    private static func ipv6(_ data: [UInt8], at offset: Int) -> Outcome {
        guard data.count >= offset + 40, data[offset] >> 4 == 6 else { return .unreadable("the IPv6 header is cut short or malformed") }
        let payloadLength = Int(data.uint16(bigEndianAt: offset + 4)!)
        let end = payloadLength == 0 ? data.count : min(data.count, offset + 40 + payloadLength)
        var next = data[offset + 6]
        var header = offset + 40
        while next != 6 {
            switch next {
            case 0, 43, 60:  // hop-by-hop, routing, destination options
                guard header + 2 <= end else { return .unreadable("an IPv6 extension header is cut short") }
                next = data[header]
                header += (Int(data[header + 1]) + 1) * 8
            case 51:  // authentication header
                guard header + 2 <= end else { return .unreadable("an IPv6 extension header is cut short") }
                next = data[header]
                header += (Int(data[header + 1]) + 2) * 4
            case 44:
                return .unreadable("an IPv6 fragment (reassembling IP fragments is not supported)")
            default:
                return .notTCP
            }
        }
        return self.tcp(data, at: header, end: end, source: Array(data[(offset + 8)..<(offset + 24)]), destination: Array(data[(offset + 24)..<(offset + 40)]))
    }

    private static func tcp(_ data: [UInt8], at offset: Int, end: Int, source: [UInt8], destination: [UInt8]) -> Outcome {
        guard offset + 20 <= end, let sequence = data.uint32(bigEndianAt: offset + 4) else { return .unreadable("the TCP header is cut short") }
        let headerLength = Int(data[offset + 12] >> 4) * 4
        guard headerLength >= 20, offset + headerLength <= end else { return .unreadable("the TCP header is cut short or malformed") }
        return .segment(TCPSegment(
            source: TCPEndpoint(address: source, port: data.uint16(bigEndianAt: offset)!),
            destination: TCPEndpoint(address: destination, port: data.uint16(bigEndianAt: offset + 2)!),
            sequenceNumber: sequence,
            flags: TCPSegment.Flags(rawValue: data[offset + 13] & 0x17),
            payload: Array(data[(offset + headerLength)..<end])
        ))
    }
}
