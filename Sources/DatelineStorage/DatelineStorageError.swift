#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the on-disk log, with a stable ``Code``.
///
/// ``description`` is for the operator's log: it names files and byte positions. ``publicMessage`` is what a
/// service may tell a client: what happened, without paths or internal detail.
public struct DatelineStorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code. A struct wrapping a raw value, so that codes can be added without breaking a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A system call failed (other than for lack of space).
        public static let io = Code(rawValue: "io")
        /// The file system is full (ENOSPC, EDQUOT): freeing space lets the next append succeed.
        public static let noSpace = Code(rawValue: "no-space")
        /// Stored records are damaged: the log cannot be read past them.
        public static let corrupt = Code(rawValue: "corrupt")
        /// The caller asked for something the log cannot do (an offset outside it, a record too large).
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        /// The log was closed.
        public static let closed = Code(rawValue: "closed")
        /// Another process holds the directory (its lock file is locked).
        public static let inUse = Code(rawValue: "in-use")
        /// The store holding the log (a database) cannot be reached or refused the operation; nothing was stored.
        public static let unavailable = Code(rawValue: "unavailable")
        /// The store failed while committing: the records may or may not be stored (appending them again is
        /// safe where the log deduplicates).
        public static let outcomeUnknown = Code(rawValue: "outcome-unknown")

        public var description: String { self.rawValue }
    }

    public var code: Code
    /// The full account, for the operator's log (may name files).
    public var message: String
    /// The system error number, for ``Code/io`` and ``Code/noSpace``.
    public var errno: Int32?
    /// For ``Code/corrupt``: the damaged segment file's name, the byte where the damage starts, and how many
    /// intact records were found after it (records that dropping the damage would lose).
    public var segment: String?
    public var byteOffset: Int?
    public var intactRecordsAfter: Int?
    /// Whether the damage was found while opening the log (the service refuses to start) or while reading it.
    public var duringRecovery = false

    public init(code: Code, message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// A failed system call; ENOSPC and EDQUOT become ``Code/noSpace``.
    public static func io(_ what: String, errno code: Int32) -> DatelineStorageError {
        let isFull = code == ENOSPC || code == EDQUOT
        return DatelineStorageError(code: isFull ? .noSpace : .io, message: "\(what): \(describeErrno(code))", errno: code)
    }

    /// Damaged records in `segment` starting at byte `offset`.
    public static func corrupt(segment: String, offset: Int, reason: String, intactRecordsAfter: Int? = nil) -> DatelineStorageError {
        var error = DatelineStorageError(code: .corrupt, message: reason)
        error.segment = segment
        error.byteOffset = offset
        error.intactRecordsAfter = intactRecordsAfter
        return error
    }

    public static func invalidArgument(_ message: String) -> DatelineStorageError {
        DatelineStorageError(code: .invalidArgument, message: message)
    }

    public static let closed = DatelineStorageError(code: .closed, message: "the log is closed")

    public var description: String {
        guard self.code == .corrupt, let segment = self.segment, let byte = self.byteOffset else { return self.message }
        var text = "log segment \(segment) is corrupt at byte \(byte): \(self.message)"
        if let intact = self.intactRecordsAfter, intact > 0 {
            text += "; \(intact) intact record\(intact == 1 ? "" : "s") follow\(intact == 1 ? "s" : "") the damage, so it is not a torn tail"
        }
        if self.duringRecovery {
            text += "; refusing to start (restore the segment from a backup; only to give up its records, move it and every later segment away)"
        }
        return text
    }

    /// What a client may be told: no paths, no internal detail.
    public var publicMessage: String {
        switch self.code {
        case .noSpace: "the ingest log's disk is full; nothing of this request was stored (retry once space is freed)"
        case .io: "the ingest log could not be written or read (an I/O error; the service's log has the detail)"
        case .corrupt: "the ingest log is damaged and cannot be read past this point; an operator must repair it (the service's log says where)"
        case .closed: "the ingest log is closed (the service is shutting down)"
        case .unavailable: "the ingest log's database cannot be reached; nothing of this request was stored"
        case .outcomeUnknown: "the connection to the ingest log's database failed while the batch was committed: it may have been stored"
        default: self.message
        }
    }
}

func describeErrno(_ code: Int32) -> String {
    String(cString: strerror(code))
}
