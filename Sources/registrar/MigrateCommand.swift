import ArgumentParser
import Logging


/// `registrar migrate`: applies the database migrations and exits.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the database migrations and exit.",
        discussion: """
            `registrar serve` migrates on start as well; run this to do it ahead of a deployment.

            Migrations run under a lock, so several instances (or this command) starting at the same
            moment take turns and apply each version once.

            Examples:
              registrar migrate --database /var/lib/registrar/db.sqlite
              registrar migrate --database postgres://registrar:secret@db.internal:5432/registrar
            """)

    @OptionGroup var databaseOptions: DatabaseOptions

    func run() async throws {
        var logger = Logger(label: "registrar")
        logger.logLevel = .info
        let database = try await Database.open(options: databaseOptions, settings: try databaseOptions.settings(), logger: logger)
        await database.close()
        print("database \(database.description) is up to date")
    }
}
