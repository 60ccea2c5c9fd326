package import DatelineProtocol
import NIOCore

/// Reads one direction of a Dateline connection, as captured, into prefaces, frames and problems.
///
/// Framing is ``DatelineFrameDecoder``'s, with its limits: the same rules a receiver applies, so whatever it
/// reports here a service would report too. A stream may start with the 8-byte preface or directly with a
/// frame (a frame's first byte is never `0x89`: that length would be above any limit). After a problem that
/// leaves the frame boundaries unknown (a bad header, a length over the limit) the stream stops; a frame whose
/// payload does not inflate or decode, or whose type is unknown, is reported and decoding goes on after it.
/// Not `Sendable`: it owns the decoder's zlib stream; use one per stream, on one task.
package struct DatelineStreamInspector {
    private let limits: DatelineFrameDecoder.Limits
    private let expectsPreface: Bool?
    private var decoder: DatelineFrameDecoder?
    private var buffer = ByteBuffer()
    /// The stream offset of `buffer`'s index 0 (read bytes are discarded now and then).
    private var bufferBase = 0
    /// Whether a problem stopped the decoding: later bytes are ignored.
    package private(set) var isStopped = false

    /// Creates an inspector.
    /// - Parameters:
    ///   - limits: The receiver's limits: frames above them are reported. Default: 16 MiB each.
    ///   - expectsPreface: Whether the stream must start with the preface, as a connection's first bytes must;
    ///     nil to decide by its first byte. Default: nil.
    package init(limits: DatelineFrameDecoder.Limits = .init(), expectsPreface: Bool? = nil) {
        self.limits = limits
        self.expectsPreface = expectsPreface
    }

    /// The number of bytes taken in so far.
    package var receivedByteCount: Int { self.bufferBase + self.buffer.writerIndex }

    /// Takes in the stream's next bytes and returns what they complete.
    package mutating func receive(_ bytes: some Collection<UInt8>) -> [DatelineWireRecord] {
        guard !self.isStopped, !bytes.isEmpty else { return [] }
        self.buffer.writeBytes(bytes)
        if self.decoder == nil {
            let startsWithPreface = self.expectsPreface ?? (self.buffer.readableBytesView.first == DatelinePreface.magic[0])
            self.decoder = DatelineFrameDecoder(limits: self.limits, expectsPreface: startsWithPreface)
        }
        var records: [DatelineWireRecord] = []
        while !self.isStopped, let record = self.step() { records.append(record) }
        if self.buffer.readerIndex > 1 << 16 {
            self.bufferBase += self.buffer.readerIndex
            self.buffer.discardReadBytes()
        }
        return records
    }

    /// Ends the stream: bytes left over are a preface or frame cut short (`BAD_FRAME`, as for a receiver whose
    /// connection closes there).
    package mutating func finish() -> [DatelineWireRecord] {
        guard !self.isStopped, self.decoder != nil else { return [] }
        var records: [DatelineWireRecord] = []
        while !self.isStopped, let record = self.step() { records.append(record) }
        if !self.isStopped, self.buffer.readableBytes > 0 {
            let offset = self.bufferBase + self.buffer.readerIndex
            records.append(.problem(DatelineWireProblem(code: .init(.badFrame), offset: offset, message: self.describeTruncation(), stopsStream: true)))
        }
        self.isStopped = true
        return records
    }

    /// Stops decoding because of a problem found outside the stream (bytes never captured).
    package mutating func stop() {
        self.isStopped = true
    }

    /// Decodes the next item, or returns nil when more bytes are needed.
    private mutating func step() -> DatelineWireRecord? {
        let start = self.buffer.readerIndex
        let offset = self.bufferBase + start
        do {
            let event = try self.decoder!.decode(buffer: &self.buffer)
            switch event {
            case nil: return nil
            case .preface(let version): return .preface(offset: offset, version: version)
            case .frame(let frame): return .frame(self.inspect(frame, at: start))
            }
        } catch {
            let error = error as? DatelineError ?? DatelineError(code: .badFrame, message: "\(error)")
            if self.buffer.readerIndex > start, let header = DatelineWireHeader(self.buffer, at: start) {
                // The decoder read the whole frame before failing (its payload did not inflate): go on after it.
                let problem = DatelineWireProblem(code: .init(error.code), offset: offset, message: error.message, stopsStream: false)
                return .frame(DatelineInspectedFrame(offset: offset, header: header, payload: nil, message: nil, problem: problem))
            }
            self.isStopped = true
            return .problem(DatelineWireProblem(code: .init(error.code), offset: offset, message: self.explain(error, at: start), stopsStream: true))
        }
    }

    /// The frame with its header as sent and its message decoded.
    private func inspect(_ frame: DatelineFrame, at start: Int) -> DatelineInspectedFrame {
        let offset = self.bufferBase + start
        let header = DatelineWireHeader(self.buffer, at: start)!
        var inspected = DatelineInspectedFrame(offset: offset, header: header, payload: Array(frame.payload.readableBytesView))
        do {
            inspected.message = try frame.messageType.decodeMessage(from: frame.payload)
        } catch {
            inspected.problem = DatelineWireProblem(code: .init(error.code), offset: offset, message: error.message, stopsStream: false)
        }
        return inspected
    }

    /// The decoder's message, plus what the bytes look like when they were meant to be the stream's start.
    private func explain(_ error: DatelineError, at start: Int) -> String {
        guard self.bufferBase + start == 0, self.expectsPreface == nil, self.buffer.readableBytesView.first != DatelinePreface.magic[0] else {
            return error.message
        }
        return error.message + " (the input does not start with the Dateline preface: "
            + DatelineFrameDecoder.describeForeignBytes(self.buffer) + ")"
    }

    /// Says what the stream's end cut short: the preface, a frame header or a payload.
    private func describeTruncation() -> String {
        let start = self.buffer.readerIndex
        let left = self.buffer.writerIndex - start
        if self.bufferBase + start == 0, self.buffer.readableBytesView.first == DatelinePreface.magic[0], left < DatelinePreface.length {
            return "the input ends inside the preface (\(left) of \(DatelinePreface.length) bytes)"
        }
        guard let flags = self.buffer.getInteger(at: start + 4, as: UInt8.self),
            case let headerSize = DatelineFrame.headerSize(flags: DatelineFrame.Flags(rawValue: flags)), left >= headerSize,
            let header = DatelineWireHeader(self.buffer, at: start)
        else {
            return "the input ends inside a frame header (\(left) bytes of at least \(DatelineFrame.fixedHeaderSize))"
        }
        return "the input ends inside the payload of a \(header.messageType) frame (correlation id \(header.correlationID)): "
            + "\(left - headerSize) of \(header.length) bytes"
    }
}
