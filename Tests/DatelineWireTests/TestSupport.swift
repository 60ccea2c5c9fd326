import DatelineTestSupport
import Foundation
import Testing

@testable import DatelineWire

/// Where the repository's files are.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let vectorsFile = root.appendingPathComponent("protocol/vectors/frames.json")
    static let protocolDirectory = root.appendingPathComponent("protocol")
    static let dissector = root.appendingPathComponent("protocol/dateline.lua")
}

/// `protocol/vectors/frames.json`.
enum Vectors {
    typealias Frame = GoldenVectorFile.Frame

    static let file = try! GoldenVectorFile.load()

    /// The vector named `name`.
    static func frame(_ name: String) -> Frame { self.file.frames.first { $0.name == name }! }

    /// The message of the vector named `name`, as the vectors file has it (Swift field names).
    static func message(_ name: String) throws -> [String: Any] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: Repository.vectorsFile)) as! [String: Any]
        let frames = root["frames"] as! [[String: Any]]
        return frames.first { $0["name"] as? String == name }!["message"] as! [String: Any]
    }
}

extension GoldenVectorFile.Frame {
    /// The whole frame's bytes.
    var bytes: [UInt8] { try! DatelineHexDump.parse(self.frameHex) }
}

/// Runs the built `dateline` binary, its output collected in files (no pipe to fill up and block on).
enum DatelineCommand {
    struct Result {
        var status: Int32
        var output: String
        var errors: String

        /// The output's lines parsed as JSON objects (`-o json`).
        var jsonLines: [[String: Any]] {
            self.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    static func run(_ arguments: [String], input: [UInt8] = []) throws -> Result {
        let binary = try #require(ServiceProcess.binary("dateline"), "dateline is not built: run swift build first")
        return try self.runProgram(binary, arguments, input: input)
    }

    /// Runs `executable` with `input` on its standard input and waits for it.
    static func runProgram(_ executable: String, _ arguments: [String], input: [UInt8] = []) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-decode-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let paths = ["in", "out", "err"].map { directory.appendingPathComponent($0) }
        try Data(input).write(to: paths[0])
        FileManager.default.createFile(atPath: paths[1].path, contents: nil)
        FileManager.default.createFile(atPath: paths[2].path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: paths[0])
        process.standardOutput = try FileHandle(forWritingTo: paths[1])
        process.standardError = try FileHandle(forWritingTo: paths[2])
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus,
            output: try String(contentsOf: paths[1], encoding: .utf8),
            errors: try String(contentsOf: paths[2], encoding: .utf8)
        )
    }

    /// A temporary file holding `bytes`, removed after `body`.
    static func withFile<T>(_ bytes: [UInt8], suffix: String, _ body: (String) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-\(UUID().uuidString).\(suffix)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }
}
