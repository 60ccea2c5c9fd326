/// Reads the packets of a capture file: classic libpcap (either byte order, microsecond or nanosecond
/// timestamps) or pcapng (section header, interface description, enhanced, simple and obsolete packet blocks).
package enum DatelineCaptureFile {
    /// The file formats recognised by their first four bytes.
    package enum Format: Sendable, Hashable {
        case pcap
        case pcapng
    }

    /// What could be read, and the problem that stopped the reading, if any (packets before it are kept).
    package struct Contents: Sendable {
        /// Every packet read, in file order.
        package var packets: [CapturedPacket]
        /// Why reading stopped before the end of the file, if it did.
        package var problem: ReadError?
    }

    /// A capture file that cannot be read (further).
    package struct ReadError: Error, Sendable, Hashable, CustomStringConvertible {
        /// Where in the file the problem is.
        package var offset: Int
        /// What is wrong there.
        package var message: String

        package var description: String { "capture file offset \(self.offset): \(self.message)" }
    }

    /// The classic pcap magic numbers, as read little-endian, and what they say.
    private static let pcapMagics: [UInt32: (bigEndian: Bool, nanoseconds: Bool)] = [
        0xA1B2_C3D4: (false, false), 0xD4C3_B2A1: (true, false),
        0xA1B2_3C4D: (false, true), 0x4D3C_B2A1: (true, true),
    ]
    /// The pcapng section header block type (the same in either byte order).
    static let pcapngMagic: UInt32 = 0x0A0D_0D0A

    /// The format whose magic number `bytes` starts with, if any.
    package static func format(of bytes: [UInt8]) -> Format? {
        guard let magic = bytes.uint32(at: 0, bigEndian: false) else { return nil }
        if self.pcapMagics[magic] != nil { return .pcap }
        if magic == self.pcapngMagic { return .pcapng }
        return nil
    }

    /// Reads every packet of a pcap or pcapng file.
    /// - Throws: ``ReadError`` when `bytes` is not a capture file at all (no known magic number).
    package static func read(_ bytes: [UInt8]) throws(ReadError) -> Contents {
        switch self.format(of: bytes) {
        case .pcap: return self.readPcap(bytes)
        case .pcapng:
            var reader = PcapngReader(bytes: bytes)
            return reader.read()
        case nil: throw ReadError(offset: 0, message: "not a pcap or pcapng file (its first bytes are \(hexString(bytes.prefix(4), groupSize: 1)))")
        }
    }

    private static func readPcap(_ bytes: [UInt8]) -> Contents {
        let (bigEndian, nanoseconds) = self.pcapMagics[bytes.uint32(at: 0, bigEndian: false)!]!
        guard let linkType = bytes.uint32(at: 20, bigEndian: bigEndian) else {
            return Contents(packets: [], problem: ReadError(offset: 0, message: "the pcap file header is cut short (\(bytes.count) of 24 bytes)"))
        }
        var packets: [CapturedPacket] = []
        var offset = 24
        while offset < bytes.count {
            guard let seconds = bytes.uint32(at: offset, bigEndian: bigEndian),
                let fraction = bytes.uint32(at: offset + 4, bigEndian: bigEndian),
                let capturedLength = bytes.uint32(at: offset + 8, bigEndian: bigEndian),
                let originalLength = bytes.uint32(at: offset + 12, bigEndian: bigEndian)
            else {
                return Contents(packets: packets, problem: ReadError(offset: offset, message: "the file ends inside the header of packet \(packets.count + 1)"))
            }
            guard let data = bytes.bytes(at: offset + 16, length: Int(capturedLength)) else {
                let message = "packet \(packets.count + 1) declares \(capturedLength) bytes but the file has \(bytes.count - offset - 16) left"
                return Contents(packets: packets, problem: ReadError(offset: offset, message: message))
            }
            let timestamp = CaptureTimestamp(seconds: Int64(seconds), nanoseconds: nanoseconds ? min(fraction, 999_999_999) : min(fraction, 999_999) * 1_000)
            packets.append(CapturedPacket(
                number: packets.count + 1, fileOffset: offset, timestamp: timestamp, linkType: linkType & 0xFFFF,
                data: data, originalLength: Int(originalLength)
            ))
            offset += 16 + Int(capturedLength)
        }
        return Contents(packets: packets, problem: nil)
    }
}

/// Reads a pcapng file block by block (<https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html>).
private struct PcapngReader {
    /// One interface of the current section: its link type and timestamp unit.
    struct Interface {
        var linkType: UInt32
        /// Timestamp ticks per second is 10^exponent, or 2^exponent when `isPowerOfTwo`.
        var exponent: Int = 6
        var isPowerOfTwo = false

        func timestamp(high: UInt32, low: UInt32) -> CaptureTimestamp {
            let ticks = UInt64(high) << 32 | UInt64(low)
            if self.isPowerOfTwo {
                let exponent = min(self.exponent, 63)
                let fraction = Double(ticks & ((1 << UInt64(exponent)) - 1)) / Double(UInt64(1) << UInt64(exponent))
                return CaptureTimestamp(seconds: Int64(ticks >> UInt64(exponent)), nanoseconds: UInt32(fraction * 1e9))
            }
            let exponent = min(self.exponent, 19)
            var perSecond: UInt64 = 1
            for _ in 0..<exponent { perSecond *= 10 }
            let remainder = ticks % perSecond
            let nanoseconds = exponent <= 9 ? remainder * (1_000_000_000 / perSecond) : remainder / (perSecond / 1_000_000_000)
            return CaptureTimestamp(seconds: Int64(ticks / perSecond), nanoseconds: UInt32(nanoseconds))
        }
    }

    let bytes: [UInt8]
    var bigEndian = false
    var interfaces: [Interface] = []
    var packets: [CapturedPacket] = []

    init(bytes: [UInt8]) { self.bytes = bytes }

    typealias ReadError = DatelineCaptureFile.ReadError

    mutating func read() -> DatelineCaptureFile.Contents {
        var offset = 0
        while offset < self.bytes.count {
            do {
                offset = try self.readBlock(at: offset)
            } catch {
                return .init(packets: self.packets, problem: error)
            }
        }
        return .init(packets: self.packets, problem: nil)
    }

    /// Reads the block at `offset` and returns where the next one starts.
    mutating func readBlock(at offset: Int) throws(ReadError) -> Int {
        guard let type = self.bytes.uint32(at: offset, bigEndian: self.bigEndian) else {
            throw ReadError(offset: offset, message: "the file ends inside a block header")
        }
        if type == DatelineCaptureFile.pcapngMagic {
            // A section header: its byte-order magic says how to read everything up to the next one.
            guard let magic = self.bytes.uint32(bigEndianAt: offset + 8) else {
                throw ReadError(offset: offset, message: "the file ends inside a section header block")
            }
            switch magic {
            case 0x1A2B_3C4D: self.bigEndian = true
            case 0x4D3C_2B1A: self.bigEndian = false
            default: throw ReadError(offset: offset + 8, message: "the section header's byte-order magic is \(String(magic, radix: 16)), not 1a2b3c4d")
            }
            self.interfaces = []
        }
        guard let length = self.bytes.uint32(at: offset + 4, bigEndian: self.bigEndian).map(Int.init),
            length >= 12, length % 4 == 0, offset + length <= self.bytes.count
        else {
            throw ReadError(offset: offset, message: "block of type \(type) has a bad length or is cut short by the end of the file")
        }
        let body = offset + 8
        let bodyLength = length - 12
        switch type {
        case 1: try self.readInterface(body: body, length: bodyLength)
        case 6: try self.readEnhancedPacket(block: offset, body: body, length: bodyLength)
        case 3: try self.readSimplePacket(block: offset, body: body, length: bodyLength)
        case 2: try self.readObsoletePacket(block: offset, body: body, length: bodyLength)
        default: break  // Name resolution, statistics, custom blocks: nothing a decoder needs.
        }
        return offset + length
    }

    mutating func readInterface(body: Int, length: Int) throws(ReadError) {
        guard length >= 8, let linkType = self.bytes.uint16(at: body, bigEndian: self.bigEndian) else {
            throw ReadError(offset: body - 8, message: "interface description block is too short")
        }
        var interface = Interface(linkType: UInt32(linkType))
        // Options: code, length, value padded to 4 bytes; if_tsresol (9) is the timestamp unit.
        var option = body + 8
        while option + 4 <= body + length {
            let code = self.bytes.uint16(at: option, bigEndian: self.bigEndian)!
            let optionLength = Int(self.bytes.uint16(at: option + 2, bigEndian: self.bigEndian)!)
            if code == 0 { break }
            if code == 9, optionLength == 1, option + 4 < self.bytes.count {
                let resolution = self.bytes[option + 4]
                interface.isPowerOfTwo = resolution & 0x80 != 0
                interface.exponent = Int(resolution & 0x7F)
            }
            option += 4 + (optionLength + 3) / 4 * 4
        }
        self.interfaces.append(interface)
    }

    mutating func readEnhancedPacket(block: Int, body: Int, length: Int) throws(ReadError) {
        guard length >= 20,
            let interfaceID = self.bytes.uint32(at: body, bigEndian: self.bigEndian),
            let high = self.bytes.uint32(at: body + 4, bigEndian: self.bigEndian),
            let low = self.bytes.uint32(at: body + 8, bigEndian: self.bigEndian),
            let captured = self.bytes.uint32(at: body + 12, bigEndian: self.bigEndian),
            let original = self.bytes.uint32(at: body + 16, bigEndian: self.bigEndian)
        else { throw ReadError(offset: block, message: "enhanced packet block is too short") }
        try self.appendPacket(block: block, interfaceID: Int(interfaceID), high: high, low: low, data: body + 20, captured: Int(captured), original: Int(original), room: length - 20)
    }

    mutating func readSimplePacket(block: Int, body: Int, length: Int) throws(ReadError) {
        guard length >= 4, let original = self.bytes.uint32(at: body, bigEndian: self.bigEndian) else {
            throw ReadError(offset: block, message: "simple packet block is too short")
        }
        // No timestamp and no captured length: the packet fills the block (up to its original length).
        try self.appendPacket(block: block, interfaceID: 0, high: 0, low: 0, data: body + 4, captured: min(Int(original), length - 4), original: Int(original), room: length - 4)
    }

    mutating func readObsoletePacket(block: Int, body: Int, length: Int) throws(ReadError) {
        guard length >= 20,
            let interfaceID = self.bytes.uint16(at: body, bigEndian: self.bigEndian),
            let high = self.bytes.uint32(at: body + 4, bigEndian: self.bigEndian),
            let low = self.bytes.uint32(at: body + 8, bigEndian: self.bigEndian),
            let captured = self.bytes.uint32(at: body + 12, bigEndian: self.bigEndian),
            let original = self.bytes.uint32(at: body + 16, bigEndian: self.bigEndian)
        else { throw ReadError(offset: block, message: "packet block is too short") }
        try self.appendPacket(block: block, interfaceID: Int(interfaceID), high: high, low: low, data: body + 20, captured: Int(captured), original: Int(original), room: length - 20)
    }

    mutating func appendPacket(block: Int, interfaceID: Int, high: UInt32, low: UInt32, data: Int, captured: Int, original: Int, room: Int) throws(ReadError) {
        guard self.interfaces.indices.contains(interfaceID) else {
            throw ReadError(offset: block, message: "packet \(self.packets.count + 1) names interface \(interfaceID), which no interface description block declared")
        }
        guard captured <= room, let bytes = self.bytes.bytes(at: data, length: captured) else {
            throw ReadError(offset: block, message: "packet \(self.packets.count + 1) declares \(captured) bytes, more than its block holds")
        }
        let interface = self.interfaces[interfaceID]
        self.packets.append(CapturedPacket(
            number: self.packets.count + 1, fileOffset: block, timestamp: interface.timestamp(high: high, low: low),
            linkType: interface.linkType, data: bytes, originalLength: original
        ))
    }
}
