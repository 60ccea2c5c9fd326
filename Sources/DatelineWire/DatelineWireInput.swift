import Foundation
package import DatelineProtocol

/// What `dateline decode` reads, told apart by content: a capture file, raw bytes, or hex text.
package enum DatelineWireInput {
    /// The input formats.
    package enum Format: String, Sendable, Hashable, CaseIterable {
        /// Hex text (or JSON holding hex strings, like `protocol/vectors/frames.json`).
        case hex
        /// The bytes of one direction of a connection, with or without the preface.
        case raw
        /// A pcap or pcapng capture.
        case pcap
    }

    /// A stream of bytes to decode on its own: a whole raw or hex input, or one vector of a JSON file.
    package struct Stream: Sendable {
        /// The stream's name, for JSON inputs (a vector's `name`); nil for a single stream.
        package var name: String?
        package var bytes: [UInt8]
        /// The limits to decode it with (a malformed vector's own), else the defaults.
        package var limits: DatelineFrameDecoder.Limits
        /// Whether it must start with the preface (a vector's `streamHex`: a connection's first bytes); nil to
        /// decide by its first byte.
        package var expectsPreface: Bool?

        package init(name: String?, bytes: [UInt8], limits: DatelineFrameDecoder.Limits = .init(), expectsPreface: Bool? = nil) {
            self.name = name
            self.bytes = bytes
            self.limits = limits
            self.expectsPreface = expectsPreface
        }
    }

    /// Hex text that cannot be read.
    package struct TextError: Error, Sendable, Hashable, CustomStringConvertible {
        package var description: String
    }

    /// The format `bytes` are in: a capture's magic number, then the Dateline preface, then hex text (JSON
    /// included); anything else is raw frames without a preface.
    package static func detectFormat(of bytes: [UInt8]) -> Format {
        if DatelineCaptureFile.format(of: bytes) != nil { return .pcap }
        if bytes.first == DatelinePreface.magic[0] { return .raw }
        if self.isJSON(bytes) || DatelineHexDump.looksLikeHex(bytes) { return .hex }
        return .raw
    }

    /// The streams hex text holds: one for a hex dump; for JSON, one per object with a `frameHex` or `streamHex`
    /// string (named by its `name`, decoded with its `maximumFrameSize` and `maximumDecompressedSize` if given; a
    /// `streamHex` is a connection's first bytes, so it must start with the preface).
    /// - Throws: ``TextError`` naming the line and column of a character that is not hex, or why the JSON is
    ///   not usable.
    package static func hexStreams(_ bytes: [UInt8]) throws(TextError) -> [Stream] {
        if self.isJSON(bytes) { return try self.jsonStreams(bytes) }
        do {
            return [Stream(name: nil, bytes: try DatelineHexDump.parse(String(decoding: bytes, as: UTF8.self)))]
        } catch {
            throw TextError(description: error.description)
        }
    }

    private static func isJSON(_ bytes: [UInt8]) -> Bool {
        let first = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        return first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
    }

    private static func jsonStreams(_ bytes: [UInt8]) throws(TextError) -> [Stream] {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw TextError(description: "the input starts like JSON but is not valid JSON: \(error.localizedDescription)")
        }
        var streams: [Stream] = []
        try self.collect(root, path: "$", into: &streams)
        guard !streams.isEmpty else { throw TextError(description: "the JSON input has no object with a frameHex or streamHex string") }
        return streams
    }

    /// Finds every object with hex in `value`, depth first, in document order.
    private static func collect(_ value: Any, path: String, into streams: inout [Stream]) throws(TextError) {
        if let array = value as? [Any] {
            for (index, element) in array.enumerated() { try self.collect(element, path: "\(path)[\(index)]", into: &streams) }
            return
        }
        guard let object = value as? [String: Any] else { return }
        if let hex = (object["streamHex"] ?? object["frameHex"]) as? String {
            let isConnectionStart = object["streamHex"] is String
            let name = object["name"] as? String ?? path
            do {
                var limits = DatelineFrameDecoder.Limits()
                if let maximum = object["maximumFrameSize"] as? Int { limits.maximumFrameSize = maximum }
                if let maximum = object["maximumDecompressedSize"] as? Int { limits.maximumDecompressedSize = maximum }
                streams.append(Stream(name: name, bytes: try DatelineHexDump.parse(hex), limits: limits, expectsPreface: isConnectionStart ? true : nil))
            } catch {
                throw TextError(description: "\(name): \(error.message) at character \(error.column)")
            }
            return
        }
        for key in object.keys.sorted() { try self.collect(object[key]!, path: "\(path).\(key)", into: &streams) }
    }
}
