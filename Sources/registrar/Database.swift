import ArgumentParser
import Foundation
import Logging
import RegistrarCore
import RegistrarPostgres
import RegistrarSQLite

/// The store the command line opened: SQLite for a file path, PostgreSQL for a `postgres://` URL.
struct Database {
    let store: any ClientStore & KeyStore & TokenStateStore
    /// The location with any password masked, for logs and the ready line.
    let description: String
    let close: @Sendable () async -> Void

    /// Opens the store the options name. A command other than `serve` and `migrate` that finds no
    /// SQLite file where it was pointed creates one, as `serve` would, and says so on standard
    /// error (`noteCreation`), so that a mistyped `--database` does not pass unnoticed.
    static func open(options: DatabaseOptions, settings registrar: RegistrarSettings, logger: Logger, noteCreation: Bool = true) async throws -> Database {
        let location = options.resolvedDatabase(registrar)
        if PostgresStore.isPostgresURL(location) {
            var settings = PostgresStore.Settings()
            settings.maximumConnections = try options.resolvedPoolSize(registrar)
            settings.requestTimeout = .milliseconds(Int64(try options.resolvedTimeout(registrar) * 1000))
            settings.connectTimeout = settings.requestTimeout
            let postgres = try await PostgresStore.open(url: location, settings: settings, logger: logger)
            return Database(store: postgres.store, description: masked(location), close: { await postgres.close() })
        }
        try checkFilePath(location)
        let durability = SQLiteStore.Durability(rawValue: try options.resolvedDurability(registrar)) ?? .process
        let existed = FileManager.default.fileExists(atPath: location)
        let sqlite = try await SQLiteStore.open(path: location, durability: durability, logger: logger)
        if !existed && noteCreation {
            FileHandle.standardError.write(Data("note: there was no database at \(location); created a new one\n".utf8))
        }
        return Database(store: sqlite.store, description: location, close: { await sqlite.close() })
    }

    /// Refuses a location that is not a file path SQLite should open: an empty path or `:memory:`
    /// (each SQLite connection would get its own private database), a `file:` URI, and anything that
    /// looks like a URL (`postgress://...`, `mysql://...`, `sqlite:///...`): a mistyped scheme would
    /// otherwise start an empty SQLite database in a folder named after the URL, password included.
    /// A wrong command line (exit 64), whichever command reads it; the value is shown masked.
    static func checkFilePath(_ location: String) throws {
        let scheme = location.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
        let looksLikeURL = scheme.first?.isLetter == true && location.dropFirst(scheme.count).hasPrefix("://")
        guard !location.trimmingCharacters(in: .whitespaces).isEmpty, location != ":memory:", !location.hasPrefix("file:"), !looksLikeURL else {
            throw ValidationError("--database must be a file path or a postgres:// (or postgresql://) URL, not \"\(masked(location))\"")
        }
    }

    /// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
    static func masked(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "postgres://***"
    }
}
