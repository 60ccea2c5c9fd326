/// Identifies the message schema this build was compiled with.
///
/// The fingerprint is FNV-1a (64-bit, hex) of `protocol/dateline.proto` with comments and whitespace removed
/// (``fingerprint(ofProtoSource:)``). A test recomputes it from the file, so changing a message without
/// updating the proto file and this constant fails the build's tests; peers built from different schemas
/// are turned away at connect time with `SCHEMA_MISMATCH` instead of failing at their first decode.
public enum DatelineSchema {
    /// The fingerprint of `protocol/dateline.proto` as of this build.
    public static let fingerprint = "4896f028ad5862df"

    /// Computes the fingerprint of a `.proto` source: FNV-1a 64 over its tokens, comments and whitespace removed.
    public static func fingerprint(ofProtoSource source: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let code = line.firstRange(of: "//").map { line[..<$0.lowerBound] } ?? line[...]
            for token in code.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) {
                for byte in token.utf8 {
                    hash ^= UInt64(byte)
                    hash = hash &* 0x100_0000_01b3
                }
                hash ^= 0x20
                hash = hash &* 0x100_0000_01b3
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
