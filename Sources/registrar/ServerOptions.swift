import ArgumentParser
import Foundation

/// Options shared by the commands that open the database.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "SQLite database file (created with its folder on first start), or postgres://user:password@host:port/database for a store shared by several instances. [env: REGISTRAR_DATABASE] (default: registrar.sqlite)",
        valueName: "path-or-url"))
    var database: String?

    @Option(name: .long, help: "PostgreSQL only: most pooled connections per instance. [env: REGISTRAR_DATABASE_POOL_SIZE] (default: 10)")
    var databasePoolSize: Int?

    @Option(name: .long, help: "PostgreSQL only: seconds one database call may take before the request is answered 503. [env: REGISTRAR_DATABASE_TIMEOUT] (default: 3)")
    var databaseTimeout: Double?

    /// The database location: flag, then environment, then default.
    var resolvedDatabase: String {
        database ?? Environment.value("REGISTRAR_DATABASE") ?? "registrar.sqlite"
    }

    var resolvedPoolSize: Int {
        get throws {
            let value = try databasePoolSize ?? Environment.value("REGISTRAR_DATABASE_POOL_SIZE").map { text in
                guard let n = Int(text) else { throw ValidationError("REGISTRAR_DATABASE_POOL_SIZE must be a number") }
                return n
            } ?? 10
            guard (1...1000).contains(value) else { throw ValidationError("--database-pool-size must be between 1 and 1000") }
            return value
        }
    }

    var resolvedTimeout: Double {
        get throws {
            let value = try databaseTimeout ?? Environment.value("REGISTRAR_DATABASE_TIMEOUT").map { text in
                guard let n = Double(text) else { throw ValidationError("REGISTRAR_DATABASE_TIMEOUT must be a number of seconds") }
                return n
            } ?? 3
            guard value > 0, value <= 300 else { throw ValidationError("--database-timeout must be between 0 and 300 seconds") }
            return value
        }
    }
}

/// Reads environment variables, treating empty values as unset.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
