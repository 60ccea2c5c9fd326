public import DatelineProtocol
import NIOCore

/// Every message type of the protocol, in the order of `DatelineMessageType.known`.
///
/// The payload fuzzer's first input byte indexes this table (modulo its size), and `Fuzz/make-corpus.py`
/// writes its seeds the same way, so the order matters: ``checkMessageTable()`` traps when it drifts from
/// `known` (a new message type must be added here).
public let messageTypes: [any (DatelineMessage & Hashable).Type] = [
    Hello.self, Welcome.self, Ping.self, Pong.self, Cancel.self, GoAway.self, ErrorMessage.self,
    HealthRequest.self, HealthResponse.self, IngestRequest.self, IngestResponse.self, SubscribeRequest.self,
    LogBatch.self, IngestStatsRequest.self, IngestStatsResponse.self, SearchRequest.self, SearchResponse.self,
    GetArticleRequest.self, GetArticleResponse.self, QueryStatsRequest.self, QueryStatsResponse.self,
    EntitiesRequest.self, EntitiesResponse.self, TimelineRequest.self, TimelineResponse.self,
    IndexBackupRequest.self, IndexBackupChunk.self,
]

/// Traps unless ``messageTypes`` lists exactly `DatelineMessageType.known`, in order.
public func checkMessageTable() {
    let table = messageTypes.map { $0.messageType }
    let known = DatelineMessageType.known.map(\.type)
    if table != known {
        fuzzFailure("Fuzz/Sources/FuzzSupport/Messages.swift lists \(table) but DatelineMessageType.known is \(known)")
    }
}

/// The Swift type of a message type, when it is known.
public func messageType(for type: DatelineMessageType) -> (any (DatelineMessage & Hashable).Type)? {
    messageTypes.first { $0.messageType == type }
}

/// Decodes `bytes` as a `M` and checks what every decoded message must satisfy:
///
/// - decoding from `[UInt8]` and from a `ByteBuffer` agree (both fail, or both succeed with equal encodings);
/// - a failure is a `DatelineError` with code DECODE_FAILED;
/// - a decoded message can be encoded again, that encoding decodes, and encoding it once more gives the
///   same bytes (encode ∘ decode is the identity on the encoder's own output) or at least an equal message.
///   Bytes alone are not enough: Swift does not promise one iteration order for two equal dictionaries, so
///   the entries of a map (`ErrorMessage.details`) may come out in another order. Values alone are not
///   enough either: a NaN double is not equal to itself. (A message with a NaN *and* a reordered map would
///   be a false report; none has shown up.)
///
/// - Returns: whether `bytes` decoded.
@discardableResult
public func checkTypedPayload<M: DatelineMessage & Hashable>(_ type: M.Type, _ bytes: [UInt8]) -> Bool {
    let decoder = DatelineBinaryDecoder()
    let encoder = DatelineBinaryEncoder()
    let fromArray = Result { () throws(DatelineError) in try decoder.decode(M.self, from: bytes) }
    let fromBuffer = Result { () throws(DatelineError) in try decoder.decode(M.self, from: ByteBuffer(bytes: bytes)) }
    switch (fromArray, fromBuffer) {
    case (.failure(let first), .failure(let second)):
        guard first.code == .decodeFailed, second.code == .decodeFailed else {
            fuzzFailure("\(M.self): decoding failed with \(first) / \(second), not DECODE_FAILED; input \(hex(bytes))")
        }
        return false
    case (.success(let message), .success(let other)):
        let encoded: ByteBuffer
        let otherEncoded: ByteBuffer
        do {
            encoded = try encoder.encode(message)
            otherEncoded = try encoder.encode(other)
        } catch {
            fuzzFailure("\(M.self): a decoded message cannot be encoded: \(error); input \(hex(bytes))")
        }
        // Equal encodings, or equal values: a map's entries may be written in another order.
        guard encoded == otherEncoded || message == other else {
            fuzzFailure("\(M.self): [UInt8] and ByteBuffer decoding disagree; input \(hex(bytes))")
        }
        let again: M
        do {
            again = try decoder.decode(M.self, from: encoded)
        } catch {
            fuzzFailure("\(M.self): the encoder's output \(hex(encoded.readableBytesView)) does not decode: \(error); input \(hex(bytes))")
        }
        let reencoded: ByteBuffer
        do {
            reencoded = try encoder.encode(again)
        } catch {
            fuzzFailure("\(M.self): a re-decoded message cannot be encoded: \(error); input \(hex(bytes))")
        }
        guard reencoded == encoded || again == message else {
            fuzzFailure(
                "\(M.self): encode(decode(x)) != x for the encoder's own output x = \(hex(encoded.readableBytesView)) (got \(hex(reencoded.readableBytesView))); input \(hex(bytes))"
            )
        }
        return true
    default:
        fuzzFailure("\(M.self): [UInt8] decoding \(fromArray) but ByteBuffer decoding \(fromBuffer); input \(hex(bytes))")
    }
}

/// ``checkTypedPayload(_:_:)`` for a type chosen at run time.
@discardableResult
public func checkPayload(_ type: any (DatelineMessage & Hashable).Type, _ bytes: [UInt8]) -> Bool {
    checkTypedPayload(type, bytes)
}
