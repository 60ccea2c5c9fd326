import CDatelineZlib
import NIOCore

/// zlib (RFC 1950) compression for frame payloads, on the system's zlib.
///
/// Each connection owns one ``Compressor`` and one ``Decompressor``; their `z_stream`s are reset between
/// messages instead of being allocated anew. zlib keeps pointers into its `z_stream` (its internal state points
/// back at it), so each lives at a stable, allocated address for the object's lifetime, never `&property`.
enum Zlib {
    /// The version of the zlib library linked in, e.g. `1.2.13`.
    static var libraryVersion: String { String(cString: zlibVersion()) }

    /// Deflates payloads, one complete zlib stream per call.
    final class Compressor {
        private let stream: UnsafeMutablePointer<z_stream>
        private var isInitialized = false
        let level: Int32

        /// - Parameter level: 0 (store) ... 9 (best); 1 is the default for Dateline (see `protocol/SPEC.md`).
        init(level: Int) {
            self.level = Int32(max(0, min(9, level)))
            self.stream = .allocate(capacity: 1)
            self.stream.initialize(to: z_stream())
        }

        deinit {
            if self.isInitialized { deflateEnd(self.stream) }
            self.stream.deinitialize(count: 1)
            self.stream.deallocate()
        }

        /// Compresses `input` and appends the result to `output`, unless it would take `limit` bytes or more.
        ///
        /// - Returns: the number of bytes appended, or nil when the compressed form is not smaller than `limit`
        ///   (nothing is appended then).
        func compress(_ input: ByteBuffer, into output: inout ByteBuffer, limit: Int) throws(DatelineError) -> Int? {
            if !self.isInitialized {
                let status = CDatelineZlib_deflateInit(self.stream, self.level)
                guard status == Z_OK else {
                    throw DatelineError.internal("zlib deflateInit failed with status \(status)")
                }
                self.isInitialized = true
            } else {
                deflateReset(self.stream)
            }
            guard limit > 0 else { return nil }
            var produced = 0
            input.withUnsafeReadableBytes { inputBytes in
                _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: limit) { outputBytes in
                    self.stream.pointee.next_in = UnsafeMutablePointer(
                        mutating: inputBytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    )
                    self.stream.pointee.avail_in = uInt(inputBytes.count)
                    self.stream.pointee.next_out = outputBytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    self.stream.pointee.avail_out = uInt(limit)
                    let status = deflate(self.stream, Z_FINISH)
                    self.stream.pointee.next_in = nil
                    self.stream.pointee.next_out = nil
                    // Anything but a finished stream means it did not fit in `limit` bytes: not worth sending.
                    guard status == Z_STREAM_END else { return 0 }
                    produced = limit - Int(self.stream.pointee.avail_out)
                    return produced
                }
            }
            return produced > 0 ? produced : nil
        }
    }

    /// Inflates payloads into buffers of exactly their declared size.
    final class Decompressor {
        private let stream: UnsafeMutablePointer<z_stream>
        private var isInitialized = false

        init() {
            self.stream = .allocate(capacity: 1)
            self.stream.initialize(to: z_stream())
        }

        deinit {
            if self.isInitialized { inflateEnd(self.stream) }
            self.stream.deinitialize(count: 1)
            self.stream.deallocate()
        }

        /// Inflates the zlib stream `input` into a new buffer of exactly `expectedSize` bytes.
        ///
        /// Never writes more than `expectedSize` bytes, so a decompression bomb costs no more than its declared
        /// (and already limit-checked) size.
        /// - Throws: ``DatelineError`` with code `decompressionFailed` when the stream is corrupt, is truncated,
        ///   inflates to more or fewer bytes than declared, or has bytes after its end.
        func decompress(_ input: ByteBuffer, expectedSize: Int, allocator: ByteBufferAllocator) throws(DatelineError) -> ByteBuffer {
            if !self.isInitialized {
                let status = CDatelineZlib_inflateInit(self.stream)
                guard status == Z_OK else {
                    throw DatelineError.internal("zlib inflateInit failed with status \(status)")
                }
                self.isInitialized = true
            } else {
                inflateReset(self.stream)
            }
            var output = allocator.buffer(capacity: expectedSize)
            var failure: DatelineError?
            _ = input.withUnsafeReadableBytes { inputBytes in
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: expectedSize) { outputBytes in
                    let stream = self.stream
                    stream.pointee.next_in = UnsafeMutablePointer(
                        mutating: inputBytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    )
                    stream.pointee.avail_in = uInt(inputBytes.count)
                    stream.pointee.next_out = outputBytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(expectedSize)
                    let status = inflate(stream, Z_FINISH)
                    let produced = expectedSize - Int(stream.pointee.avail_out)
                    let leftover = Int(stream.pointee.avail_in)
                    switch status {
                    case Z_STREAM_END where produced == expectedSize && leftover == 0:
                        break
                    case Z_STREAM_END where leftover > 0:
                        failure = Self.failure("\(leftover) bytes follow the end of the compressed stream")
                    case Z_STREAM_END:
                        failure = Self.failure("payload inflated to \(produced) bytes, but the frame declared \(expectedSize)")
                    case Z_BUF_ERROR where stream.pointee.avail_out == 0:
                        // The declared size is reached but the stream goes on: is there more output, or only
                        // the end of the stream (its checksum) missing? One more byte of room tells.
                        failure = Self.failure(Self.inflatesFurther(stream)
                            ? "payload inflates to more than the \(expectedSize) bytes the frame declared"
                            : "compressed stream is truncated (it stops before its end and checksum)")
                    case Z_BUF_ERROR:
                        failure = Self.failure("compressed stream is truncated")
                    case Z_DATA_ERROR:
                        let reason = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                        failure = Self.failure("corrupt compressed stream: \(reason)")
                    case Z_NEED_DICT:
                        failure = Self.failure("compressed stream needs a preset dictionary, which Dateline never uses")
                    default:
                        failure = Self.failure("zlib inflate failed with status \(status)")
                    }
                    stream.pointee.next_in = nil
                    stream.pointee.next_out = nil
                    return failure == nil ? produced : 0
                }
            }
            if let failure { throw failure }
            return output
        }

        /// Whether the stream would produce at least one more byte (tried into a scratch byte).
        private static func inflatesFurther(_ stream: UnsafeMutablePointer<z_stream>) -> Bool {
            var scratch: UInt8 = 0
            return withUnsafeMutablePointer(to: &scratch) { byte in
                stream.pointee.next_out = byte
                stream.pointee.avail_out = 1
                _ = inflate(stream, Z_FINISH)
                return stream.pointee.avail_out == 0
            }
        }

        private static func failure(_ message: String) -> DatelineError {
            DatelineError(code: .decompressionFailed, message: message)
        }
    }
}
