import Foundation
import Logging
import PostgresKit
import PostgresNIO

/// The PostgreSQL servers the tests use, from the environment (`scripts/test-postgres.sh start`
/// prints it; `.ci/run` exports it).
public enum TestPostgres {
    /// `REGISTRAR_TEST_POSTGRES_URL`: the server for store and end-to-end tests.
    public static var url: String? { value("REGISTRAR_TEST_POSTGRES_URL") }
    /// `REGISTRAR_TEST_POSTGRES_OUTAGE_URL`: a second server that the outage test stops and starts.
    public static var outageURL: String? { value("REGISTRAR_TEST_POSTGRES_OUTAGE_URL") }
    /// `REGISTRAR_TEST_POSTGRES_OUTAGE_CTL`: a command taking `stop` or `start` for that server.
    public static var outageControl: String? { value("REGISTRAR_TEST_POSTGRES_OUTAGE_CTL") }

    /// Whether the PostgreSQL tests can run.
    public static var isConfigured: Bool { url != nil }
    /// Whether the outage test can run.
    public static var isOutageConfigured: Bool { outageURL != nil && outageControl != nil }

    /// Why PostgreSQL tests are skipped.
    public static let skipReason = "REGISTRAR_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/test-postgres.sh start)\"` to run the PostgreSQL tests"
    /// Why the outage test is skipped.
    public static let outageSkipReason = "REGISTRAR_TEST_POSTGRES_OUTAGE_URL and REGISTRAR_TEST_POSTGRES_OUTAGE_CTL are not set: run `eval \"$(scripts/test-postgres.sh start)\"`"

    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// Creates an empty database on the server of `serverURL` and returns the URL that names it,
    /// so that each test starts from nothing and tests can run in parallel.
    public static func freshDatabase(on serverURL: String, prefix: String = "t") async throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await execute("CREATE DATABASE \(name)", on: serverURL)
        guard var components = URLComponents(string: serverURL) else { throw URLError(.badURL) }
        components.path = "/" + name
        guard let url = components.string else { throw URLError(.badURL) }
        return url
    }

    /// Drops a database made by ``freshDatabase(on:prefix:)``, closing its sessions.
    public static func dropDatabase(_ databaseURL: String, serverURL: String) async {
        guard let name = URLComponents(string: databaseURL)?.path.dropFirst(), !name.isEmpty else { return }
        try? await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", on: serverURL)
    }

    /// Runs one statement on a short-lived connection.
    public static func execute(_ sql: String, on serverURL: String) async throws {
        let configuration = try SQLPostgresConfiguration(url: serverURL).coreConfiguration
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "registrar.tests.postgres"))
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "registrar.tests.postgres"))
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}

