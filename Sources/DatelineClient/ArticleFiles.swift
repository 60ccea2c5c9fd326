import DatelineArticles
public import DatelineProtocol
import Foundation

/// Reads the inputs a user has into submissions: files, directories (recursively), `-` for standard input;
/// plain text, JSON, JSON Lines and Reuters-21578 SGML.
public enum ArticleFiles {
    public enum Format: String, Sendable, CaseIterable {
        case auto, text, json, jsonl, reuters
    }

    /// An input that could not be read, with where it came from.
    public struct Problem: Sendable, CustomStringConvertible {
        public var source: String
        public var message: String
        public var description: String { self.namesSource ? self.message : "\(self.source): \(self.message)" }
        /// Whether `message` already names `source`.
        private var namesSource = false

        public init(source: String, message: String) {
            self.source = source
            self.message = message
        }

        /// A path given on the command line in which no article was found.
        static func noArticles(in path: String) -> Problem {
            var problem = Problem(source: path, message: "no articles found in \(path)")
            problem.namesSource = true
            return problem
        }
    }

    /// Reads every path. Bad inputs are returned as problems, never thrown, so one does not stop the others.
    ///
    /// A path given here is always read, whatever its name (`..`, `./x`, `.hidden`); inside a directory, files and
    /// directories whose names start with a dot are skipped. A path that yields no article, and no other problem,
    /// is reported as `no articles found in PATH`.
    public static func read(_ paths: [String], format: Format) -> (articles: [(source: String, submission: ArticleSubmission)], problems: [Problem]) {
        var articles: [(String, ArticleSubmission)] = []
        var problems: [Problem] = []
        for path in paths {
            let (articlesBefore, problemsBefore) = (articles.count, problems.count)
            defer {
                if articles.count == articlesBefore, problems.count == problemsBefore {
                    problems.append(.noArticles(in: path == "-" ? "standard input" : path))
                }
            }
            if path == "-" {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                self.parse(data, source: "stdin", format: format == .auto ? self.sniff(data) : format, into: &articles, problems: &problems)
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                problems.append(Problem(source: path, message: "no such file or directory"))
                continue
            }
            for file in isDirectory.boolValue ? self.files(in: path) : [path] {
                guard let data = FileManager.default.contents(atPath: file) else {
                    problems.append(Problem(source: file, message: "cannot be read"))
                    continue
                }
                let chosen = format == .auto ? self.format(ofFile: file, data: data) : format
                self.parse(data, source: file, format: chosen, into: &articles, problems: &problems)
            }
        }
        return (articles, problems)
    }

    /// The files under `directory`, recursively, sorted by path, skipping every name inside it that starts with a
    /// dot (and what is below such a directory). Only the part below `directory` is looked at: `directory` itself
    /// may be `..`, `../x` or `.corpus`.
    static func files(in directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: prefix + relative, isDirectory: &isDirectory)
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                if isDirectory.boolValue { enumerator.skipDescendants() }
                continue
            }
            if exists, !isDirectory.boolValue { files.append(prefix + relative) }
        }
        return files.sorted()
    }

    static func format(ofFile path: String, data: Data) -> Format {
        switch (path as NSString).pathExtension.lowercased() {
        case "sgm", "sgml": return .reuters
        case "jsonl", "ndjson": return .jsonl
        case "json": return .json
        case "txt", "text": return .text
        default: return self.sniff(data)
        }
    }

    static func sniff(_ data: Data) -> Format {
        let head = String(decoding: data.prefix(512), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if head.hasPrefix("<!DOCTYPE lewis") || head.hasPrefix("<REUTERS") { return .reuters }
        if head.hasPrefix("[") { return .json }
        if head.hasPrefix("{") {
            let firstLine = head.split(separator: "\n").first.map(String.init) ?? head
            return (try? JSONSerialization.jsonObject(with: Data(firstLine.utf8))) != nil && head.contains("\n") ? .jsonl : .json
        }
        return .text
    }

    static func parse(_ data: Data, source: String, format: Format, into articles: inout [(String, ArticleSubmission)], problems: inout [Problem]) {
        switch format {
        case .reuters:
            for item in ReutersReader.items(in: data) { articles.append(("\(source)#\(item.newID)", item.submission)) }
        case .json:
            do {
                for (index, submission) in try ArticleInput.submissions(fromJSON: data).enumerated() {
                    articles.append(("\(source)#\(index + 1)", submission))
                }
            } catch {
                problems.append(Problem(source: source, message: error.description))
            }
        case .jsonl:
            let (text, repaired) = TextNormalization.decode(data)
            if repaired { problems.append(Problem(source: source, message: "invalid UTF-8 replaced with U+FFFD")) }
            for (line, result) in ArticleInput.submissions(fromJSONLines: text) {
                switch result {
                case .success(let submission): articles.append(("\(source):\(line)", submission))
                case .failure(let rejection): problems.append(Problem(source: "\(source):\(line)", message: rejection.description))
                }
            }
        case .text, .auto:
            let (text, repaired) = TextNormalization.decode(data)
            if repaired { problems.append(Problem(source: source, message: "invalid UTF-8 replaced with U+FFFD (the article is still sent)")) }
            articles.append((source, ArticleSubmission(externalID: nil, body: text, format: .plainText)))
        }
    }
}
