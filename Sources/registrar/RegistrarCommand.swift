import ArgumentParser

/// `registrar`: the command line.
@main
struct RegistrarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registrar",
        abstract: "An OpenID Connect provider built around Dynamic Client Registration (RFC 7591, RFC 7592).",
        discussion: """
            Examples:
              registrar serve --config /etc/registrar/registrar.yaml
              registrar clients create --admin --name operations
              registrar tokens create --policy partners --max-uses 10 --expires-in 30d
              registrar keys rotate --algorithm ES256
              registrar audit --client-id 9bef3e68-f329-4dbf-9c3e-45647c08dfd5
            """,
        subcommands: [ServeCommand.self, MigrateCommand.self, ClientsCommand.self, TokensCommand.self, KeysCommand.self, AuditCommand.self, BenchSeedCommand.self, BenchCodecCommand.self],
        defaultSubcommand: nil)

    /// `registrar` alone is a wrong command line (exit 64), not a request for help.
    func run() async throws { throw ValidationError("name a command: serve, migrate, clients, tokens, keys or audit") }
}
