package import DatelineProtocol

/// Something in the input that is not valid Dateline traffic, or could not be read: where, and what is wrong.
package struct DatelineWireProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem: the protocol's own error codes for what breaks its rules, plus the capture's.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The name, e.g. `BAD_FRAME` or `CAPTURE_GAP`.
        package let name: String

        private init(name: String) { self.name = name }

        /// The protocol error a receiver would report (`BAD_FRAME`, `FRAME_TOO_LARGE`, `DECOMPRESSION_FAILED`,
        /// `UNKNOWN_MESSAGE_TYPE`, `DECODE_FAILED` ...).
        package init(_ code: DatelineError.Code) { self.name = code.name }

        /// Bytes of a TCP stream never captured: what follows them cannot be decoded.
        package static let captureGap = Code(name: "CAPTURE_GAP")
        /// A captured packet that cannot be read as TCP (an unsupported link type, a truncated header, an IP
        /// fragment).
        package static let unreadablePacket = Code(name: "UNREADABLE_PACKET")
        /// A capture file damaged or cut short.
        package static let unreadableCapture = Code(name: "UNREADABLE_CAPTURE")

        package var description: String { self.name }
    }

    package var code: Code
    /// The byte offset of the problem: in the stream (the input, or one direction of a TCP connection), or in
    /// the capture file for problems with the file or its packets.
    package var offset: Int
    /// What is wrong, for humans.
    package var message: String
    /// Whether decoding this stream stopped here, because what follows cannot be framed safely.
    package var stopsStream: Bool

    package init(code: Code, offset: Int, message: String, stopsStream: Bool) {
        self.code = code
        self.offset = offset
        self.message = message
        self.stopsStream = stopsStream
    }

    package var description: String { "offset \(self.offset): \(self.code): \(self.message)" }
}
