package import DatelineProtocol

/// Decodes the Dateline connections in a packet capture: TCP reassembled per direction, each direction read by
/// a ``DatelineStreamInspector``, records returned in capture order (a frame when the packet completing it was
/// captured).
///
/// A connection is decoded when its first bytes are the Dateline preface or one of its ports is a Dateline
/// port; other TCP traffic is counted and passed over. The client is the side that sent the SYN, else the side
/// that sent the first preface, else the side not on a Dateline port, else the first to send.
package struct DatelineCaptureDecoder {
    /// Which connection and direction a record belongs to.
    package struct StreamContext: Sendable, Hashable {
        /// The connection's 1-based number, in the order connections appear in the capture.
        package var connection: Int
        /// Whether the bytes flow from the client to the server.
        package var isFromClient: Bool
        package var source: TCPEndpoint
        package var destination: TCPEndpoint
    }

    /// One thing found in the capture.
    package struct Record: Sendable {
        /// What the record is.
        package enum Event: Sendable {
            /// A Dateline connection, seen for the first time.
            case connection(number: Int, client: TCPEndpoint, server: TCPEndpoint)
            /// An item of one direction's stream, or (with no stream) a problem with a packet.
            case wire(DatelineWireRecord)
        }

        /// The stream, for items of one; nil for problems with packets that belong to none.
        package var stream: StreamContext?
        /// The packet that completed the item; nil for what the end of the capture reveals.
        package var packetNumber: Int?
        package var timestamp: CaptureTimestamp?
        package var event: Event

        package init(stream: StreamContext?, packetNumber: Int? = nil, timestamp: CaptureTimestamp? = nil, event: Event) {
            self.stream = stream
            self.packetNumber = packetNumber
            self.timestamp = timestamp
            self.event = event
        }
    }

    /// One direction of a connection.
    private struct Direction {
        var reassembler = TCPStreamReassembler()
        var inspector: DatelineStreamInspector
    }

    /// A TCP connection and what is known about it.
    private struct Connection {
        var number: Int
        var client: TCPEndpoint?
        var server: TCPEndpoint?
        /// The client's initial sequence number, to tell a new connection on the same ports.
        var clientInitialSequence: UInt32?
        /// Whether it carries Dateline traffic; nil until its first bytes.
        var isDateline: Bool?
        var directions: [TCPEndpoint: Direction] = [:]
        /// Whether its end has been reported.
        var isFinished = false
    }

    /// The two endpoints of a connection, in a fixed order.
    private struct ConnectionKey: Hashable, Sendable {
        var low: TCPEndpoint
        var high: TCPEndpoint
        init(_ a: TCPEndpoint, _ b: TCPEndpoint) { (self.low, self.high) = a < b ? (a, b) : (b, a) }
    }

    /// The ports Dateline services listen on by default (dateline-ingest, dateline-query).
    package static let defaultPorts: Set<UInt16> = [7400, 7401]

    private let limits: DatelineFrameDecoder.Limits
    private let ports: Set<UInt16>
    private var connections: [Connection] = []
    private var currentConnection: [ConnectionKey: Int] = [:]
    private var reportedPacketProblems: Set<String> = []
    /// TCP connections passed over: neither a preface nor a Dateline port.
    package private(set) var ignoredConnectionCount = 0

    /// Creates a decoder.
    /// - Parameters:
    ///   - limits: The receiver's limits every stream is held to. Default: 16 MiB each.
    ///   - ports: Ports whose connections are Dateline even when the capture misses their preface.
    package init(limits: DatelineFrameDecoder.Limits = .init(), ports: Set<UInt16> = Self.defaultPorts) {
        self.limits = limits
        self.ports = ports
    }

    /// Takes in the capture's next packet and returns what it completes.
    package mutating func receive(_ packet: CapturedPacket) -> [Record] {
        switch TCPSegmentParser.parse(packet) {
        case .notTCP:
            return []
        case .unreadable(let reason):
            // Once per kind of problem: a capture on an unsupported link has it in every packet.
            guard self.reportedPacketProblems.insert(reason).inserted else { return [] }
            let problem = DatelineWireProblem(
                code: .unreadablePacket, offset: packet.fileOffset,
                message: "packet \(packet.number): \(reason) (later packets with the same problem are not reported)", stopsStream: false
            )
            return [Record(stream: nil, packetNumber: packet.number, timestamp: packet.timestamp, event: .wire(.problem(problem)))]
        case .segment(let segment):
            return self.receive(segment, in: packet)
        }
    }

    /// Ends the capture: streams cut short and bytes never captured are reported, connection by connection.
    package mutating func finish() -> [Record] {
        var records: [Record] = []
        for index in self.connections.indices { records += self.finishConnection(at: index) }
        return records
    }

    private mutating func receive(_ segment: TCPSegment, in packet: CapturedPacket) -> [Record] {
        var records: [Record] = []
        let key = ConnectionKey(segment.source, segment.destination)
        let opens = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
        if opens, let index = self.currentConnection[key],
            let previous = self.connections[index].clientInitialSequence, previous != segment.sequenceNumber {
            // The same ports again: a new connection.
            records += self.finishConnection(at: index)
            self.currentConnection[key] = nil
        }
        let index = self.currentConnection[key] ?? self.openConnection(key)
        if opens {
            self.connections[index].client = segment.source
            self.connections[index].server = segment.destination
            self.connections[index].clientInitialSequence = segment.sequenceNumber
        } else if segment.flags.contains([.syn, .ack]), self.connections[index].client == nil {
            self.connections[index].client = segment.destination
            self.connections[index].server = segment.source
        }
        guard self.connections[index].isDateline != false else { return records }
        var direction = self.connections[index].directions[segment.source] ?? Direction(inspector: DatelineStreamInspector(limits: self.limits))
        if segment.flags.contains(.syn) { direction.reassembler.synchronize(initialSequenceNumber: segment.sequenceNumber) }
        let sequence = segment.flags.contains(.syn) ? segment.sequenceNumber &+ 1 : segment.sequenceNumber
        let bytes = direction.reassembler.receive(sequenceNumber: sequence, payload: segment.payload)
        defer { self.connections[index].directions[segment.source] = direction }
        guard !bytes.isEmpty else { return records }
        if self.connections[index].isDateline == nil {
            let startsStream = direction.reassembler.deliveredByteCount == bytes.count
            guard self.classify(index, firstBytes: bytes, startStream: startsStream, from: segment.source, to: segment.destination) else { return records }
            let connection = self.connections[index]
            records.append(Record(stream: nil, packetNumber: packet.number, timestamp: packet.timestamp, event: .connection(number: connection.number, client: connection.client!, server: connection.server!)))
        }
        let context = self.context(index, from: segment.source, to: segment.destination)
        for record in direction.inspector.receive(bytes) {
            records.append(Record(stream: context, packetNumber: packet.number, timestamp: packet.timestamp, event: .wire(record)))
        }
        return records
    }

    private mutating func openConnection(_ key: ConnectionKey) -> Int {
        self.connections.append(Connection(number: self.connections.count + 1))
        self.currentConnection[key] = self.connections.count - 1
        return self.connections.count - 1
    }

    /// Decides whether the connection is Dateline's, and which side is the client, from its first bytes.
    private mutating func classify(_ index: Int, firstBytes bytes: [UInt8], startStream: Bool, from source: TCPEndpoint, to destination: TCPEndpoint) -> Bool {
        let preface = startStream && bytes.starts(with: DatelinePreface.magic.prefix(min(bytes.count, DatelinePreface.magic.count)))
        if self.connections[index].client == nil {
            let sourceIsClient = preface || self.ports.contains(destination.port) || !self.ports.contains(source.port)
            self.connections[index].client = sourceIsClient ? source : destination
            self.connections[index].server = sourceIsClient ? destination : source
        }
        let isDateline = preface || self.ports.contains(source.port) || self.ports.contains(destination.port)
        self.connections[index].isDateline = isDateline
        if !isDateline {
            self.ignoredConnectionCount += 1
            self.connections[index].directions = [:]
        }
        return isDateline
    }

    private func context(_ index: Int, from source: TCPEndpoint, to destination: TCPEndpoint) -> StreamContext {
        let connection = self.connections[index]
        return StreamContext(connection: connection.number, isFromClient: source == connection.client, source: source, destination: destination)
    }

    /// Reports what each direction of a connection leaves undecoded: a gap, or a frame cut short.
    private mutating func finishConnection(at index: Int) -> [Record] {
        guard !self.connections[index].isFinished else { return [] }
        self.connections[index].isFinished = true
        guard self.connections[index].isDateline == true, let client = self.connections[index].client, let server = self.connections[index].server else { return [] }
        var records: [Record] = []
        for (source, destination) in [(client, server), (server, client)] {
            guard var direction = self.connections[index].directions[source] else { continue }
            let context = self.context(index, from: source, to: destination)
            if let gap = direction.reassembler.gap {
                direction.inspector.stop()
                let message = "\(gap.missingByteCount) bytes of this direction were never captured; the \(gap.heldByteCount) bytes captured after them are not decoded"
                let problem = DatelineWireProblem(code: .captureGap, offset: gap.offset, message: message, stopsStream: true)
                records.append(Record(stream: context, event: .wire(.problem(problem))))
            } else {
                records += direction.inspector.finish().map { Record(stream: context, event: .wire($0)) }
            }
            self.connections[index].directions[source] = direction
        }
        return records
    }
}
