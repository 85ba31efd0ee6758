/// One versioned schema change, as a list of SQL statements for one dialect.
public struct SQLMigration: Sendable {
    /// The version it brings the schema to; versions are applied in increasing order, once each.
    public let version: Int
    /// A short name, recorded with the version.
    public let name: String
    /// The statements, run in order inside one transaction.
    public let statements: [String]

    /// Creates a migration.
    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}
