import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Small tmpfs file systems for tests of a really full disk. Mounting needs the privilege to (root, or a user
/// namespace that grants it); tests that need one are enabled only where ``isAllowed``, so elsewhere they are
/// reported as skipped, not passed.
public enum TmpfsMount {
    /// Whether this process may mount a tmpfs, probed once by mounting and unmounting one.
    public static let isAllowed: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-tmpfs-probe-\(UUID().uuidString)").path
        guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)) != nil else { return false }
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard Glibc.mount("tmpfs", probe, "tmpfs", 0, "size=64k") == 0 else { return false }
        umount(probe)
        return true
    }()

    /// Mounts a tmpfs of `size` (as `mount -o size=`, e.g. "4m") on a new temporary directory and returns its
    /// path; ``unmount(_:)`` removes it.
    public static func mount(size: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-tmpfs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Glibc.mount("tmpfs", path, "tmpfs", 0, "size=\(size)") == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: path)
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSLocalizedDescriptionKey: "cannot mount a tmpfs on \(path): \(reason)"])
        }
        return path
    }

    /// Unmounts a tmpfs from ``mount(size:)`` and removes its directory.
    public static func unmount(_ path: String) {
        umount(path)
        try? FileManager.default.removeItem(atPath: path)
    }
}
