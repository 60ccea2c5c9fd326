/// One direction of a TCP connection put back in order: segments in, the stream's bytes out, each byte once.
///
/// Retransmitted and overlapping bytes are delivered once (the first copy wins); a segment that arrives ahead
/// of a hole is held until the hole is filled. Stream offsets count from the first byte after the SYN (or
/// from the first segment seen, when the capture started after the handshake). Sequence numbers wrap; a
/// segment is placed relative to the next byte expected, so streams of any length work as long as no segment
/// lands more than 2 GiB away from it.
package struct TCPStreamReassembler: Sendable {
    /// The bytes that are missing, when the stream has a hole that later bytes wait behind.
    package struct Gap: Sendable, Hashable {
        /// The stream offset of the first missing byte (= the number of bytes delivered).
        package var offset: Int
        /// How many bytes are missing before the next bytes held.
        package var missingByteCount: Int
        /// How many bytes are held after the hole.
        package var heldByteCount: Int
    }

    /// A segment that arrived ahead of a hole.
    private struct HeldSegment: Sendable {
        var offset: Int
        var bytes: [UInt8]
    }

    /// The sequence number of the next byte expected; nil until the SYN or the first segment.
    private var nextSequence: UInt32?
    /// The number of bytes delivered so far: the stream offset of the next byte.
    package private(set) var deliveredByteCount = 0
    /// Bytes received again after they had been delivered or held.
    package private(set) var duplicateByteCount = 0
    private var held: [HeldSegment] = []

    package init() {}

    /// Starts the stream at a SYN's sequence number (the SYN itself takes one number). A SYN seen again
    /// (retransmitted) or after data changes nothing.
    package mutating func synchronize(initialSequenceNumber: UInt32) {
        guard self.nextSequence == nil else { return }
        self.nextSequence = initialSequenceNumber &+ 1
    }

    /// Takes in a segment's payload and returns the bytes that are now in order and were not delivered before.
    package mutating func receive(sequenceNumber: UInt32, payload: [UInt8]) -> [UInt8] {
        guard !payload.isEmpty else { return [] }
        let next = self.nextSequence ?? sequenceNumber
        self.nextSequence = next
        let offset = self.deliveredByteCount + Int(Int32(bitPattern: sequenceNumber &- next))
        guard offset + payload.count > self.deliveredByteCount else {
            self.duplicateByteCount += payload.count
            return []
        }
        guard offset <= self.deliveredByteCount else {
            self.hold(HeldSegment(offset: offset, bytes: payload))
            return []
        }
        var delivered = Array(payload[(self.deliveredByteCount - offset)...])
        self.duplicateByteCount += self.deliveredByteCount - offset
        self.advance(by: delivered.count)
        // Held segments the new bytes reach are in order now.
        while let first = self.held.first, first.offset <= self.deliveredByteCount {
            self.held.removeFirst()
            let end = first.offset + first.bytes.count
            guard end > self.deliveredByteCount else {
                self.duplicateByteCount += first.bytes.count
                continue
            }
            let fresh = first.bytes[(self.deliveredByteCount - first.offset)...]
            self.duplicateByteCount += first.bytes.count - fresh.count
            delivered += fresh
            self.advance(by: fresh.count)
        }
        return delivered
    }

    /// The hole later bytes wait behind, if any: at the end of a capture, bytes that never arrived.
    package var gap: Gap? {
        guard let first = self.held.first else { return nil }
        return Gap(
            offset: self.deliveredByteCount,
            missingByteCount: first.offset - self.deliveredByteCount,
            heldByteCount: self.held.reduce(0) { $0 + $1.bytes.count }
        )
    }

    private mutating func advance(by count: Int) {
        self.deliveredByteCount += count
        self.nextSequence = self.nextSequence.map { $0 &+ UInt32(truncatingIfNeeded: count) }
    }

    /// Keeps a segment that arrived early, ordered by offset; an exact duplicate of one held is dropped.
    private mutating func hold(_ segment: HeldSegment) {
        let index = self.held.firstIndex { $0.offset > segment.offset || ($0.offset == segment.offset && $0.bytes.count < segment.bytes.count) } ?? self.held.endIndex
        if index > 0, self.held[index - 1].offset == segment.offset, self.held[index - 1].bytes.count >= segment.bytes.count {
            self.duplicateByteCount += segment.bytes.count
            return
        }
        self.held.insert(segment, at: index)
    }
}
