/// A proto3 enum: on the wire, its `UInt32` raw value as a varint.
///
/// The codec writes repeated enums packed, as proto3 encoders do, and reads them packed or not; a non-optional
/// enum field holding 0 is omitted, as proto3 omits every default. Enums are closed: a value this build does
/// not know fails the decode (`DECODE_FAILED`); peers from different schemas never get that far, since Hello
/// compares schema fingerprints.
public protocol DatelineProtobufEnum: RawRepresentable, Codable, Sendable where RawValue == UInt32 {}

extension EntityKind: DatelineProtobufEnum {}
extension SearchSort: DatelineProtobufEnum {}
extension HistogramInterval: DatelineProtobufEnum {}
extension DatelineCompressionMode: DatelineProtobufEnum {}
extension DatelineHealthStatus: DatelineProtobufEnum {}
extension ArticleSubmissionFormat: DatelineProtobufEnum {}
extension IngestStatus: DatelineProtobufEnum {}
extension ArticleField: DatelineProtobufEnum {}
