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
        // An empty path or ":memory:" would give each SQLite connection its own private database.
        guard !location.trimmingCharacters(in: .whitespaces).isEmpty, location != ":memory:", !location.hasPrefix("file:") else {
            throw ValidationError("--database must be a file path or a postgres:// URL, not \"\(location)\"")
        }
        let durability = SQLiteStore.Durability(rawValue: try options.resolvedDurability(registrar)) ?? .process
        let existed = FileManager.default.fileExists(atPath: location)
        let sqlite = try await SQLiteStore.open(path: location, durability: durability, logger: logger)
        if !existed && noteCreation {
            FileHandle.standardError.write(Data("note: there was no database at \(location); created a new one\n".utf8))
        }
        return Database(store: sqlite.store, description: location, close: { await sqlite.close() })
    }

    /// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
    static func masked(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "postgres://***"
    }
}
