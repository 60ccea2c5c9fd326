public import Foundation
import Synchronization

/// Option defaults read from environment variables. A variable that is set but cannot be read as the option's
/// type is remembered, and ``validate()`` (run by ``ServiceOptions``' validation, so by both executables before
/// they start) refuses the start naming it: `DATELINE_INGEST_PORT=abc` is an error, not port 7400.
public enum EnvironmentDefault {
    private static let problems = Mutex<[String]>([])

    /// The variable's value as a whole number, `fallback` when it is unset or empty.
    public static func int(_ name: String, _ fallback: Int, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        self.read(name, fallback, environment: environment, kind: "a whole number") { Int($0) }
    }

    /// The variable's value as a number, `fallback` when it is unset or empty.
    public static func double(_ name: String, _ fallback: Double, environment: [String: String] = ProcessInfo.processInfo.environment) -> Double {
        self.read(name, fallback, environment: environment, kind: "a number") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
    }

    private static func read<Value>(
        _ name: String,
        _ fallback: Value,
        environment: [String: String],
        kind: String,
        parse: (String) -> Value?
    ) -> Value {
        guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return fallback }
        guard let value = parse(text) else {
            self.problems.withLock { $0.append("\(name)='\(text)' is not \(kind)") }
            return fallback
        }
        return value
    }

    /// Throws naming every malformed variable read so far.
    public static func validate() throws {
        let problems = self.problems.withLock { $0 }
        guard problems.isEmpty else { throw EnvironmentError(problems: problems) }
    }
}

/// Environment variables that were set to values their options cannot take.
public struct EnvironmentError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { "malformed environment: " + self.problems.joined(separator: "; ") }
}
