import ArgumentParser
import Foundation
import RegistrarCore

/// Options shared by every command that opens the database: the configuration file and the store.
/// Precedence everywhere: flag, then environment variable, then configuration file, then default.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Configuration file, YAML or JSON (see docs/configuration.md). [env: REGISTRAR_CONFIG]", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp(
        "SQLite database file (created with its folder on first start), or postgres://user:password@host:port/database for a store shared by several instances. [env: REGISTRAR_DATABASE] (default: registrar.sqlite)",
        valueName: "path-or-url"))
    var database: String?

    @Option(name: .long, help: "PostgreSQL only: most pooled connections per instance. [env: REGISTRAR_DATABASE_POOL_SIZE] (default: 10)")
    var databasePoolSize: Int?

    @Option(name: .long, help: "PostgreSQL only: seconds one database call may take before the request is answered 503. [env: REGISTRAR_DATABASE_TIMEOUT] (default: 3)")
    var databaseTimeout: Double?

    @Option(name: .long, help: "SQLite only: process (a 201 survives a crash of the process) or full (it survives power loss too: fsync on commit). [env: REGISTRAR_DURABILITY] (default: process)")
    var durability: String?

    func resolvedDurability(_ settings: RegistrarSettings) throws -> String {
        let value = durability ?? Environment.value("REGISTRAR_DURABILITY") ?? settings.durability ?? "process"
        guard ["process", "full"].contains(value) else { throw ValidationError("--durability must be process or full") }
        return value
    }

    /// The settings from the configuration file, or the defaults when there is none.
    func settings() throws -> RegistrarSettings {
        guard let path = config ?? Environment.value("REGISTRAR_CONFIG") else { return RegistrarSettings() }
        do {
            return try ConfigurationFile.load(path)
        } catch let error as ConfigurationError {
            throw ValidationError("configuration file \(path): \(error.description)")
        }
    }

    func resolvedDatabase(_ settings: RegistrarSettings) -> String {
        database ?? Environment.value("REGISTRAR_DATABASE") ?? settings.database ?? "registrar.sqlite"
    }

    func resolvedPoolSize(_ settings: RegistrarSettings) throws -> Int {
        let value = try databasePoolSize ?? Environment.integer("REGISTRAR_DATABASE_POOL_SIZE") ?? settings.databasePoolSize ?? 10
        guard (1...1000).contains(value) else { throw ValidationError("--database-pool-size must be between 1 and 1000") }
        return value
    }

    func resolvedTimeout(_ settings: RegistrarSettings) throws -> Double {
        let value = try databaseTimeout ?? Environment.double("REGISTRAR_DATABASE_TIMEOUT") ?? settings.databaseTimeout.map(Double.init) ?? 3
        guard value > 0, value <= 300 else { throw ValidationError("--database-timeout must be more than 0 and at most 300 seconds") }
        return value
    }
}

/// Reads environment variables, treating empty values as unset.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func integer(_ name: String) throws -> Int? {
        try value(name).map { text in
            guard let n = Int(text) else { throw ValidationError("\(name) must be a whole number, not \(text)") }
            return n
        }
    }

    static func double(_ name: String) throws -> Double? {
        try value(name).map { text in
            guard let n = Double(text) else { throw ValidationError("\(name) must be a number, not \(text)") }
            return n
        }
    }
}

/// A command that ran and failed (an unknown client, a refused change): ArgumentParser prints
/// "Error: " and the text, without the usage that a mistyped command line gets, and exits 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
