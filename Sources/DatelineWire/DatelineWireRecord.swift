package import DatelineProtocol
import NIOCore

/// What one stream of Dateline bytes holds, item by item, in stream order.
package enum DatelineWireRecord: Sendable {
    /// The 8-byte connection preface.
    case preface(offset: Int, version: UInt16)
    /// A frame: its header, and its message if the payload could be read.
    case frame(DatelineInspectedFrame)
    /// Bytes that are not a frame: decoding of the stream stops here (`stopsStream`), or the problem concerns
    /// no frame in particular.
    case problem(DatelineWireProblem)

    /// The problem this record reports, if any (a frame's own included).
    package var problem: DatelineWireProblem? {
        switch self {
        case .preface: nil
        case .frame(let frame): frame.problem
        case .problem(let problem): problem
        }
    }
}

/// One frame as it was on the wire, with its message decoded where that was possible.
package struct DatelineInspectedFrame: Sendable {
    /// The stream offset of the frame's first header byte.
    package var offset: Int
    /// The header as sent.
    package var header: DatelineWireHeader
    /// The payload, inflated when it was compressed; nil when it could not be inflated.
    package var payload: [UInt8]?
    /// The message the payload encodes; nil when the type is unknown or the payload does not decode.
    package var message: (any DatelineMessage)?
    /// Why the message is missing, when it is.
    package var problem: DatelineWireProblem?
}

/// A frame header as sent: every field, the optional ones included (see `protocol/SPEC.md` § 3).
package struct DatelineWireHeader: Sendable, Hashable {
    /// Payload bytes on the wire (compressed bytes when COMPRESSED).
    package var length: UInt32
    /// The flags byte as sent.
    package var flags: DatelineFrame.Flags
    package var messageType: DatelineMessageType
    package var correlationID: UInt32
    /// Present when COMPRESSED: the payload's size once inflated.
    package var uncompressedLength: UInt32?
    /// Present when DEADLINE.
    package var timeoutMilliseconds: UInt32?
    /// Present when SERVER_TIME.
    package var serverTimeMicroseconds: UInt32?

    /// The header's size on the wire: 11 bytes plus 4 for each optional field.
    package var size: Int { DatelineFrame.headerSize(flags: self.flags) }

    /// Reads the header starting at `index` (read bytes included: the decoder has moved past the frame), once
    /// ``DatelineFrameDecoder`` has accepted it, so every field the flags announce is there; nil if the bytes
    /// end first.
    init?(_ buffer: ByteBuffer, at index: Int) {
        var buffer = buffer
        buffer.moveReaderIndex(to: index)
        guard let length = buffer.getInteger(at: index, as: UInt32.self),
            let flags = buffer.getInteger(at: index + 4, as: UInt8.self),
            let type = buffer.getInteger(at: index + 5, as: UInt16.self),
            let correlationID = buffer.getInteger(at: index + 7, as: UInt32.self)
        else { return nil }
        let parsedFlags = DatelineFrame.Flags(rawValue: flags)
        var field = index + DatelineFrame.fixedHeaderSize
        func optionalField(_ flag: DatelineFrame.Flags) -> UInt32? {
            guard parsedFlags.contains(flag) else { return nil }
            defer { field += 4 }
            return buffer.getInteger(at: field, as: UInt32.self)
        }
        self.length = length
        self.flags = parsedFlags
        self.messageType = DatelineMessageType(rawValue: type)
        self.correlationID = correlationID
        self.uncompressedLength = optionalField(.compressed)
        self.timeoutMilliseconds = optionalField(.deadline)
        self.serverTimeMicroseconds = optionalField(.serverTime)
    }

    /// The names of the flags set, as the specification writes them (`END_STREAM`), reserved bits as hex.
    package var flagNames: [String] {
        let named: [(DatelineFrame.Flags, String)] = [
            (.compressed, "COMPRESSED"), (.endStream, "END_STREAM"), (.error, "ERROR"), (.deadline, "DEADLINE"), (.serverTime, "SERVER_TIME"),
        ]
        var names = named.filter { self.flags.contains($0.0) }.map(\.1)
        let reserved = self.flags.subtracting(.allDefined).rawValue
        if reserved != 0 { names.append("reserved 0x" + hexString([reserved])) }
        return names
    }
}
