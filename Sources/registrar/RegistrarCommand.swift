import ArgumentParser

/// `registrar`: the command line.
@main
struct RegistrarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registrar",
        abstract: "An OpenID Connect provider built around Dynamic Client Registration (RFC 7591, RFC 7592).",
        subcommands: [ServeCommand.self, MigrateCommand.self, ClientsCommand.self, TokensCommand.self, KeysCommand.self, AuditCommand.self, BenchSeedCommand.self, BenchCodecCommand.self],
        defaultSubcommand: nil)
}
