import Configuration
public import Foundation
import Synchronization
import SystemPackage
import Yams

/// Where a service option's value comes from when its flag is not given: its environment variable, then the
/// configuration file (`--config FILE` or `DATELINE_CONFIG`), then the built-in default. A flag always wins.
///
/// The environment and the file are read through swift-configuration (`ConfigReader` over an environment provider
/// and a JSON or YAML file provider, queried in that order), so both follow one precedence model and one set of
/// type conversions. The file is a flat mapping whose keys are the options' long names without dashes in front:
///
/// ```yaml
/// port: 7500
/// data-dir: /var/lib/dateline/ingest
/// fsync: interval:50
/// ```
///
/// Every value read is registered (name, variable, default), so that ``validate()`` can refuse a file key no
/// option has (a typo is an error, not a silent default) and ``report(arguments:)`` can print each option's
/// effective value and where it came from (`--print-config`). Values that are set but cannot be read as their
/// option's type are remembered and refused by ``validate()`` naming the variable or the file and key.
public enum ServiceSettings {
    /// Where an option's effective value comes from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case flag
        case environment(String)
        case file(String)
        case builtInDefault

        public var description: String {
            switch self {
            case .flag: return "flag"
            case .environment(let variable): return "environment \(variable)"
            case .file(let path): return "file \(path)"
            case .builtInDefault: return "default"
            }
        }
    }

    /// One option as the settings know it.
    struct Entry: Sendable {
        var key: String
        var variable: String?
        var isSecret: Bool
        var value: String
        var source: Source
    }

    /// The configuration file: its path, and its keys with their values as text (what Yams read).
    struct ConfigurationFile: Sendable {
        var path: String
        var values: [String: String]
    }

    struct State: Sendable {
        var environment: [String: String] = ProcessInfo.processInfo.environment.filter { !$0.value.trimmingCharacters(in: .whitespaces).isEmpty }
        var file: ConfigurationFile?
        var reader: ConfigReader?
        /// Option key → environment variable, for the environment provider's key mapping.
        var variables: [String: String] = [:]
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var problems: [String] = []
    }

    private static let state = Mutex(State())

    /// The environment variable naming a configuration file when `--config` is not given.
    public static let fileVariable = "DATELINE_CONFIG"

    /// Reads the configuration file `arguments` name with `--config FILE` (or `environment` with
    /// `DATELINE_CONFIG`), before the command line is parsed: the options' defaults are read from it. A file that
    /// cannot be read or parsed is remembered and refused by ``validate()``.
    public static func load(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) async {
        let environment = environment.filter { !$0.value.trimmingCharacters(in: .whitespaces).isEmpty }
        let path = Self.flagValue("config", in: arguments) ?? environment[Self.fileVariable]
        var file: ConfigurationFile?
        var fileProvider: (any ConfigProvider)?
        var problems: [String] = []
        if let path {
            do {
                (file, fileProvider) = try await Self.readFile(path)
            } catch {
                problems.append("\(error)")
            }
        }
        let environmentProvider = EnvironmentVariablesProvider(environmentVariables: environment).mapKeys { key in
            let name = key.components.joined(separator: ".")
            return AbsoluteConfigKey([Self.state.withLock { $0.variables[name] } ?? "DATELINE_UNMAPPED_" + name])
        }
        let reader = ConfigReader(providers: [environmentProvider] + (fileProvider.map { [$0] } ?? []))
        Self.state.withLock { state in
            state = State(environment: environment, file: file, reader: reader, variables: state.variables)
            state.problems = problems
        }
    }

    /// Reads and parses the file: YAML, or JSON when its name ends in `.json` (JSON is YAML too, so the keys are
    /// read the same way). Only a flat mapping of names to scalars is a configuration.
    static func readFile(_ path: String) async throws -> (ConfigurationFile, any ConfigProvider) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read the configuration file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let parsed: Any?
        do {
            parsed = try Yams.load(yaml: text)
        } catch {
            throw SettingsError("the configuration file \(path) is not valid \(path.hasSuffix(".json") ? "JSON" : "YAML"): \(error)")
        }
        var values: [String: String] = [:]
        if let parsed {
            guard let mapping = parsed as? [AnyHashable: Any] else {
                throw SettingsError("the configuration file \(path) must be a mapping of option names to values (e.g. 'port: 7400')")
            }
            for (name, value) in mapping {
                guard let key = name.base as? String else {
                    throw SettingsError("the configuration file \(path): '\(name)' is not an option name")
                }
                guard !(value is [Any]), !(value is [AnyHashable: Any]) else {
                    throw SettingsError("the configuration file \(path): '\(key)' must be a single value, not a list or a mapping")
                }
                values[key] = "\(value)"
            }
        }
        let provider: any ConfigProvider
        do {
            if path.hasSuffix(".json") {
                provider = try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
            } else {
                provider = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            }
        } catch {
            throw SettingsError("the configuration file \(path) cannot be read as a configuration: \(error)")
        }
        return (ConfigurationFile(path: path, values: values), provider)
    }

    // MARK: - Option defaults

    /// The text value of the option `key` (its long name) below the command line.
    public static func string(_ key: String, env variable: String? = nil, _ fallback: String, secret: Bool = false) -> String {
        self.value(key, variable: variable, fallback: fallback, secret: secret, kind: "text", parse: { $0 }) { reader, configKey in
            reader.string(forKey: configKey)
        }
    }

    /// The whole-number value of the option `key` below the command line.
    public static func int(_ key: String, env variable: String? = nil, _ fallback: Int) -> Int {
        self.value(key, variable: variable, fallback: fallback, secret: false, kind: "a whole number", parse: { Int($0) }) { reader, configKey in
            reader.int(forKey: configKey)
        }
    }

    /// The numeric value of the option `key` below the command line.
    public static func double(_ key: String, env variable: String? = nil, _ fallback: Double) -> Double {
        self.value(key, variable: variable, fallback: fallback, secret: false, kind: "a number", parse: { Double($0).flatMap { $0.isFinite ? $0 : nil } }) { reader, configKey in
            reader.double(forKey: configKey).flatMap { $0.isFinite ? $0 : nil }
        }
    }

    private static func value<Value>(
        _ key: String,
        variable: String?,
        fallback: Value,
        secret: Bool,
        kind: String,
        parse: (String) -> Value?,
        read: (ConfigReader, ConfigKey) -> Value?
    ) -> Value {
        let (reader, source) = Self.state.withLock { state -> (ConfigReader?, Source) in
            if let variable { state.variables[key] = variable }
            if let variable, state.environment[variable] != nil { return (state.reader, .environment(variable)) }
            if let file = state.file, file.values[key] != nil { return (state.reader, .file(file.path)) }
            return (state.reader, .builtInDefault)
        }
        var result = fallback
        var text = "\(fallback)"
        if source != .builtInDefault {
            let configKey = ConfigKey([key])
            // A file's scalar of another type than the option's (JSON's 9400 for a text option, "7400" for a
            // number) is taken as the text it reads as.
            let fileText = source == .builtInDefault ? nil : Self.state.withLock { state in state.file?.values[key] }
            let isFileSource = { if case .file = source { return true } else { return false } }()
            if let value = reader.flatMap({ read($0, configKey) }) ?? (isFileSource ? fileText.flatMap(parse) : nil) {
                result = value
                text = "\(value)"
            } else {
                let problem: String
                switch source {
                case .environment(let variable):
                    let raw = secret ? "(hidden)" : Self.state.withLock { $0.environment[variable] } ?? ""
                    problem = "\(variable)='\(raw)' is not \(kind)"
                case .file(let path):
                    let raw = secret ? "(hidden)" : fileText ?? ""
                    problem = "\(path): '\(key)' is '\(raw)', which is not \(kind)"
                default:
                    problem = "'\(key)' cannot be read"
                }
                Self.state.withLock { if !$0.problems.contains(problem) { $0.problems.append(problem) } }
            }
        }
        Self.state.withLock { state in
            if state.entries[key] == nil { state.order.append(key) }
            state.entries[key] = Entry(key: key, variable: variable, isSecret: secret, value: text, source: source)
        }
        return result
    }

    // MARK: - Validation and the report

    /// Throws naming every value that was set but could not be read, a configuration file that could not be
    /// read, and every key of the file that names no option.
    public static func validate() throws {
        let problems = Self.state.withLock { state -> [String] in
            var problems = state.problems
            if let file = state.file {
                let unknown = file.values.keys.filter { state.entries[$0] == nil && $0 != "config" }.sorted()
                if !unknown.isEmpty {
                    let known = state.order.joined(separator: ", ")
                    problems.append("\(file.path): no option is called \(unknown.map { "'\($0)'" }.joined(separator: ", ")) (options: \(known))")
                }
            }
            return problems
        }
        guard problems.isEmpty else { throw SettingsError(problems.joined(separator: "; ")) }
    }

    /// Every option read so far with its effective value and where it comes from, one per line, in the order
    /// the command declares them: what `--print-config` prints. Secrets are shown as set or not, never in full.
    public static func report(arguments: [String]) -> String {
        let (entries, file) = Self.state.withLock { state in (state.order.compactMap { state.entries[$0] }, state.file?.path) }
        var lines = ["# effective configuration (precedence: flag > environment > file\(file.map { " \($0)" } ?? "") > default)"]
        let width = entries.map(\.key.count).max() ?? 0
        for var entry in entries {
            if let given = Self.flagValue(entry.key, in: arguments) {
                entry.value = given
                entry.source = .flag
            }
            let shown = entry.isSecret && !entry.value.isEmpty ? "(set, hidden)" : Self.quoted(Self.redacted(entry.value))
            let padding = String(repeating: " ", count: width - entry.key.count)
            lines.append("\(entry.key)\(padding) = \(shown)  # \(entry.source)")
        }
        return lines.joined(separator: "\n")
    }

    /// Where the option `key` came from for this process (`arguments` are the command line).
    public static func source(of key: String, arguments: [String]) -> Source? {
        if Self.flagValue(key, in: arguments) != nil { return .flag }
        return Self.state.withLock { $0.entries[key]?.source }
    }

    /// `text` with the password of a URL (`postgres://user:secret@host`) or a `password=` pair replaced.
    static func redacted(_ text: String) -> String {
        var text = text
        if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
            let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
        {
            text.replaceSubrange(text.index(after: colon)..<at, with: "****")
        }
        if let password = text.range(of: "password=") {
            let end = text[password.upperBound...].firstIndex(where: { $0 == " " || $0 == "&" }) ?? text.endIndex
            text.replaceSubrange(password.upperBound..<end, with: "****")
        }
        return text
    }

    static func quoted(_ text: String) -> String {
        text.isEmpty || text.contains(where: { $0 == " " || $0 == "#" || $0 == "\"" }) ? "\"\(text.replacingOccurrences(of: "\"", with: "\\\""))\"" : text
    }

    /// The value given to `--key` on the command line (`--key VALUE` or `--key=VALUE`; the last one wins).
    static func flagValue(_ key: String, in arguments: [String]) -> String? {
        var found: String?
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" { break }
            if argument == "--" + key, index + 1 < arguments.endIndex {
                found = arguments[index + 1]
                index += 1
            } else if argument.hasPrefix("--" + key + "=") {
                found = String(argument.dropFirst(key.count + 3))
            }
            index += 1
        }
        return found
    }
}

/// A configuration the service cannot start with.
public struct SettingsError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
