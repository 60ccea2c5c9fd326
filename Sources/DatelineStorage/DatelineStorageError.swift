/// A failure of the on-disk log.
public enum DatelineStorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A system call failed.
    case io(String, errno: Int32)
    /// The log is damaged somewhere other than its tail: the service must not start on it.
    case corrupt(segment: String, offset: Int, reason: String)
    /// A caller asked for something the log cannot do (an offset outside it, a record too large).
    case invalidArgument(String)
    /// The log was closed.
    case closed

    public var description: String {
        switch self {
        case .io(let what, let code): "\(what): \(describeErrno(code))"
        case .corrupt(let segment, let offset, let reason):
            "log segment \(segment) is corrupt at byte \(offset): \(reason); refusing to start (restore the segment from a backup, or move it and every later segment away to drop their records)"
        case .invalidArgument(let message): message
        case .closed: "the log is closed"
        }
    }
}
