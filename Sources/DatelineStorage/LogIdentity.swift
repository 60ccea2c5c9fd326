/// Who a log is: an epoch id created with the log and renewed whenever records may have been dropped, and a
/// watermark, the highest end offset the log is known to have reached durably (updated when a segment is
/// sealed and when the log is closed), so that a log found shorter than it was also gets a new epoch.
///
/// Stored as a small text file, `EPOCH`, in the log's directory and replaced atomically:
/// ```
/// dateline-log-identity 1
/// epoch 3f9c0a1b2c3d4e5f
/// watermark 21180
/// ```
/// Followers hold the epoch beside their offset; a different epoch means their offsets no longer name the
/// same records, and they must rebuild from the log.
struct LogIdentity: Equatable, Sendable {
    static let fileName = "EPOCH"
    static let header = "dateline-log-identity 1"

    var epoch: String
    var watermark: UInt64

    /// A fresh epoch: 64 random bits in hex.
    static func newEpoch() -> String {
        let value = UInt64.random(in: 1...UInt64.max)
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    var encoded: [UInt8] {
        Array("\(Self.header)\nepoch \(self.epoch)\nwatermark \(self.watermark)\n".utf8)
    }

    /// Parses the file's contents; nil when they are not an identity file this version writes.
    init?(decoding bytes: [UInt8]) {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.count >= 3, lines[0] == Self.header,
            lines[1].hasPrefix("epoch "), lines[2].hasPrefix("watermark "),
            let watermark = UInt64(lines[2].dropFirst("watermark ".count))
        else { return nil }
        let epoch = String(lines[1].dropFirst("epoch ".count))
        guard !epoch.isEmpty, epoch.utf8.count <= 64, epoch.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { return nil }
        self.epoch = epoch
        self.watermark = watermark
    }

    init(epoch: String, watermark: UInt64) {
        self.epoch = epoch
        self.watermark = watermark
    }
}
