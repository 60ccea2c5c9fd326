package import DatelineStorage
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A commit point: the segments that make up the index, in document order, and what the owner recorded with
/// them (the query service: the log offset they cover and the log's epoch).
///
/// Stored as `manifest`, an index file of kind `MANI` whose payload is this struct as JSON. A commit writes a
/// temporary file, fsyncs it, `rename(2)`s it over `manifest` and fsyncs the directory, so a crash at any
/// moment leaves the previous commit or the new one. Segment files no manifest names (a flush or merge a crash
/// interrupted) are deleted when the index is opened.
package struct IndexManifest: Codable, Sendable, Equatable {
    /// The format of the index files; another value means another version wrote them.
    package var format: Int
    /// The number the next new segment's name is made from.
    package var nextSegment: Int
    package var segments: [SegmentInfo]
    /// The owner's data, committed atomically with the segment list.
    package var data: [String: String]

    package static let currentFormat = 1
    package static let fileName = "manifest"

    package init(nextSegment: Int = 1, segments: [SegmentInfo] = [], data: [String: String] = [:]) {
        self.format = Self.currentFormat
        self.nextSegment = nextSegment
        self.segments = segments
        self.data = data
    }

    /// The manifest in `directory`, or nil when there is none.
    /// - Throws: ``DatelineStorageError`` (`corrupt`) when it is damaged or of another format.
    package static func read(directory: String) throws(DatelineStorageError) -> IndexManifest? {
        let path = directory + "/" + self.fileName
        guard access(path, F_OK) == 0 else { return nil }
        let file = try MappedIndexFile(path: path, kind: .manifest)
        do {
            let manifest = try JSONDecoder().decode(IndexManifest.self, from: Data(file.payload))
            guard manifest.format == Self.currentFormat else {
                throw DatelineStorageError.corrupt(segment: self.fileName, offset: 0, reason: "the index in \(directory) has format \(manifest.format); this version reads format \(Self.currentFormat)")
            }
            return manifest
        } catch let error as DatelineStorageError {
            throw error
        } catch {
            throw .corrupt(segment: self.fileName, offset: 0, reason: "the manifest \(path) does not decode: \(error)")
        }
    }

    /// Replaces the manifest in `directory` atomically.
    package func write(directory: String) throws(DatelineStorageError) {
        let path = directory + "/" + Self.fileName
        let temporary = path + AtomicFile.temporarySuffix + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json: Data
        do { json = try encoder.encode(self) } catch { throw .invalidArgument("the manifest does not encode: \(error)") }
        do throws(DatelineStorageError) {
            let writer = try IndexFileWriter(path: temporary, kind: .manifest)
            try writer.append(Array(json))
            try writer.finish()
            guard rename(temporary, path) == 0 else { throw DatelineStorageError.io("cannot rename \(temporary) to \(path)", errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        try FileDescriptor.syncDirectory(directory)
    }

    /// Deletes what no commit names: segment files of interrupted flushes and merges, temporaries of interrupted
    /// manifest writes. Returns the names deleted.
    @discardableResult
    package func removeUnreferencedFiles(directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let kept = Set(self.segments.map(\.name))
        let suffixes = Set(IndexFile.Kind.segmentFiles.map(\.suffix))
        var removed: [String] = []
        for name in names {
            guard name != DirectoryLock.fileName else { continue }
            let isTemporary = name.hasPrefix(Self.fileName + AtomicFile.temporarySuffix)
            var isOrphan = false
            if let dot = name.lastIndex(of: "."), suffixes.contains(String(name[dot...])) {
                isOrphan = !kept.contains(String(name[..<dot]))
            }
            if isTemporary || isOrphan, unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed.sorted()
    }
}
