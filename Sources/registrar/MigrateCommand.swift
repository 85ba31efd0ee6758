import ArgumentParser
import Logging
import RegistrarSQLite

/// `registrar migrate`: applies the database migrations and exits.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the database migrations and exit.",
        discussion: """
            `registrar serve` migrates on start as well; run this to do it ahead of a deployment.

            Example:
              registrar migrate --database /var/lib/registrar/db.sqlite
            """)

    @OptionGroup var databaseOptions: DatabaseOptions

    func run() async throws {
        var logger = Logger(label: "registrar")
        logger.logLevel = .info
        let database = try await SQLiteStore.open(path: databaseOptions.resolvedDatabase, readers: 0, logger: logger)
        await database.close()
        print("database \(databaseOptions.resolvedDatabase) is up to date")
    }
}
