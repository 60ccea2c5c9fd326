import CDatelineZlib
package import DatelineProtocol
import DatelineSearch
import DatelineStorage
package import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension QueryService {
    /// The manifest key under which a commit records the id of the article at `appliedOffset - 1`.
    package static let lastArticleKey = "lastArticleID"

    /// Streams a copy of the index's latest commit point: every file it names, then its manifest (an
    /// ``IndexBackupRequest``). What is buffered is committed first (when that fails, as on a full disk, the last
    /// commit point is copied as it is: its first chunk gives the offset it holds). The files are opened while no
    /// commit or merge can replace the commit point, and read through those descriptors, so a merge that deletes
    /// them meanwhile changes nothing of the copy.
    /// - Throws: `FAILED_PRECONDITION` without an index directory.
    package func copyCommitPoint(_ request: IndexBackupRequest, to writer: DatelineStreamWriter<IndexBackupChunk>, logger: Logger) async throws {
        guard let directory = self.indexDirectory else {
            throw DatelineError(code: .failedPrecondition, message: "dateline-query keeps no index on disk, so there is none to copy")
        }
        guard self.copyingCommitPoint.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw DatelineError(code: .overloaded, message: "another copy of the index is being streamed; one runs at a time: retry when it is done")
        }
        defer { self.copyingCommitPoint.store(false, ordering: .releasing) }
        do {
            try self.commit()
        } catch {
            // A full disk: the last commit point is whole; copy it (its first chunk says the offset it holds).
            logger.warning("cannot commit before copying the index; copying the last commit point", metadata: ["dateline.error": "\(error)"])
        }
        guard access(directory + "/" + IndexManifest.fileName, F_OK) == 0 else {
            throw DatelineError(code: .unavailable, message: "dateline-query has not committed its index yet (see its health); retry once it has")
        }
        let (files, manifestData) = try self.commits.withLock { commits in
            var files: [CommitPointFile] = []
            do {
                for segment in commits.manifest.segments {
                    for kind in IndexFile.Kind.segmentFiles { files.append(try CommitPointFile(directory: directory, name: segment.name + kind.suffix)) }
                }
                files.append(try CommitPointFile(directory: directory, name: IndexManifest.fileName))
            } catch {
                for file in files { file.close() }
                throw error
            }
            return (files, commits.manifest.data)
        }
        defer { for file in files { file.close() } }
        logger.info("copying the index's commit point", metadata: ["dateline.files": "\(files.count)", "dateline.offset": "\(manifestData["appliedOffset"] ?? "0")"])
        let chunkBytes = request.maximumChunkBytes == 0 ? 1 << 20 : max(1, min(Int(request.maximumChunkBytes), 1 << 20))
        var first = true
        for file in files {
            var position = 0
            var crc = crc32(0, nil, 0)
            repeat {
                try Task.checkCancellation()
                let data = try file.read(at: position, count: min(chunkBytes, file.size - position))
                crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
                var chunk = IndexBackupChunk(file: file.name, position: UInt64(position), data: data, fileSize: UInt64(file.size))
                position += data.count
                if position == file.size { chunk.fileCRC32 = UInt32(crc) }
                if first {
                    chunk.appliedOffset = UInt64(manifestData["appliedOffset"] ?? "") ?? 0
                    chunk.lastArticleID = manifestData[Self.lastArticleKey] ?? ""
                    chunk.files = UInt32(files.count)
                    first = false
                }
                try await writer.write(chunk)
            } while position < file.size
        }
    }
}

/// One file of a commit point, held open while it is copied.
struct CommitPointFile: Sendable {
    let name: String
    let descriptor: Int32
    let size: Int

    init(directory: String, name: String) throws {
        let path = directory + "/" + name
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw DatelineError(code: .internal, message: "cannot open the index file \(name): \(String(cString: strerror(errno)))") }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            Glibc.close(descriptor)
            throw DatelineError(code: .internal, message: "cannot read the size of the index file \(name)")
        }
        self.name = name
        self.descriptor = descriptor
        self.size = Int(status.st_size)
    }

    func read(at position: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes { pread(self.descriptor, $0.baseAddress! + done, count - done, off_t(position + done)) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { throw DatelineError(code: .internal, message: "cannot read the index file \(self.name) at \(position + done)") }
            done += result
        }
        return bytes
    }

    func close() { Glibc.close(self.descriptor) }
}
