import ArgumentParser
import Foundation

/// Options shared by the commands that open the database.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "SQLite database file, created with its folder on first start. [env: REGISTRAR_DATABASE] (default: registrar.sqlite)",
        valueName: "path"))
    var database: String?

    /// The database path: flag, then environment, then default.
    var resolvedDatabase: String {
        database ?? Environment.value("REGISTRAR_DATABASE") ?? "registrar.sqlite"
    }
}

/// Reads environment variables, treating empty values as unset.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
