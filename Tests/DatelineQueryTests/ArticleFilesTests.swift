import DatelineClient
import DatelineProtocol
import Foundation
import Testing

/// A temporary directory of article files, removed afterwards.
final class ArticleTree {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-files-\(UUID().uuidString)").path

    /// Creates `files` (paths relative to the root) with a one-line article each, and the empty `directories`.
    init(files: [String], directories: [String] = []) throws {
        for directory in directories + [""] {
            try FileManager.default.createDirectory(atPath: self.root + "/" + directory, withIntermediateDirectories: true)
        }
        for file in files {
            let path = self.root + "/" + file
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data("Washington — July 1, 2025:\nAn article in \(file).\n".utf8).write(to: URL(fileURLWithPath: path))
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: self.root) }

    /// `path` (relative to the root) as a relative path from the current directory that climbs to `/` with `..`.
    func relativeFromCurrentDirectory(_ path: String) -> String {
        climbingFromCurrentDirectory(to: self.root + "/" + path)
    }
}

/// `absolutePath` as a path relative to the current directory, climbing to `/` with `..` first, as a user
/// typing `../shared/corpora/` does.
func climbingFromCurrentDirectory(to absolutePath: String) -> String {
    let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
    return String(repeating: "../", count: depth) + absolutePath.drop { $0 == "/" }
}

@Suite("Reading article files")
struct ArticleFilesTests {
    static let files = ["a.txt", "nested/b.txt", "nested/.c.txt", ".hidden/d.txt", ".e.txt", "nested/.deeper/f.txt"]

    @Test func aDirectoryReachedThroughDotDotIsReadAndDotNamesInsideItAreSkipped() throws {
        let tree = try ArticleTree(files: Self.files.map { "corpus/" + $0 }, directories: ["work"])
        for given in [tree.relativeFromCurrentDirectory("corpus/"), tree.relativeFromCurrentDirectory("corpus"), tree.root + "/work/../corpus"] {
            let (articles, problems) = ArticleFiles.read([given], format: .auto)
            #expect(problems.isEmpty, "\(given): \(problems)")
            let prefix = given.hasSuffix("/") ? given : given + "/"
            #expect(articles.map(\.source) == [prefix + "a.txt", prefix + "nested/b.txt"], "\(given)")
            #expect(articles.first?.submission.body.contains("An article in corpus/a.txt.") == true)
        }
    }

    @Test func aDotFileOrDotDirectoryGivenByNameIsRead() throws {
        let tree = try ArticleTree(files: ["corpus/.e.txt", ".corpus/a.txt", ".corpus/.skipped.txt"])
        let (file, fileProblems) = ArticleFiles.read([tree.root + "/corpus/.e.txt"], format: .auto)
        #expect(fileProblems.isEmpty)
        #expect(file.map(\.source) == [tree.root + "/corpus/.e.txt"])
        let (directory, directoryProblems) = ArticleFiles.read([tree.root + "/.corpus", tree.relativeFromCurrentDirectory(".corpus/.skipped.txt")], format: .auto)
        #expect(directoryProblems.isEmpty)
        #expect(directory.map(\.source) == [tree.root + "/.corpus/a.txt", tree.relativeFromCurrentDirectory(".corpus/.skipped.txt")])
    }

    @Test func aPathWithNoArticleIsAProblemNamingIt() throws {
        let tree = try ArticleTree(files: ["only-dots/.a.txt", "only-dots/.git/config", "some/a.txt"], directories: ["empty"])
        let given = [tree.root + "/empty", tree.root + "/only-dots", tree.root + "/some", tree.root + "/missing"]
        let (articles, problems) = ArticleFiles.read(given, format: .auto)
        #expect(articles.map(\.source) == [tree.root + "/some/a.txt"])
        #expect(problems.map(\.description) == [
            "no articles found in \(tree.root)/empty",
            "no articles found in \(tree.root)/only-dots",
            "\(tree.root)/missing: no such file or directory",
        ])
    }
}
