import ArgumentParser
import Foundation
import Logging
import RegistrarCore
import RegistrarSQL

/// `registrar bench-seed`: writes many clients straight into the database for the benchmark suite.
/// Client `bench-<i>` has the registration access token `bench.<i>.t` and the secret
/// `bench-secret-<i>`, so load scripts can address any of them without a list.
struct BenchSeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-seed", abstract: "Seed benchmark clients directly into the database (for Benchmarks/run.sh).",
        shouldDisplay: false)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Option(name: .long, help: "How many clients.") var count: Int
    @Option(name: .long, help: "Index of the first client.") var start = 0
    @Option(name: .long, help: "Clients per transaction.") var batch = 500

    func run() async throws {
        guard count > 0, batch > 0 else { throw ValidationError("--count and --batch must be positive") }
        let settings = try databaseOptions.settings()
        var logger = Logger(label: "registrar")
        logger.logLevel = .warning
        let database = try await Database.open(options: databaseOptions, settings: settings, logger: logger, noteCreation: false)
        guard let store = database.store as? SQLClientStore else { await database.close(); throw CommandFailure("seeding needs a SQL store") }
        let template = try MetadataValidator.standard.validate(try ClientMetadata(json: JSONObject([
            ("redirect_uris", .array([.string("https://bench.example/cb")])), ("client_name", .string("bench client")),
            ("grant_types", .array([.string("authorization_code"), .string("client_credentials")])),
            ("scope", .string("openid read")), ("contacts", .array([.string("ops@bench.example")])),
        ])), configuration: ServerConfiguration(issuer: "http://127.0.0.1"))
        let now = SystemWallClock().now()
        let began = ContinuousClock.now
        do {
            var i = start
            while i < start + count {
                let upper = min(i + batch, start + count)
                let clients = (i..<upper).map { n -> RegisteredClient in
                    var metadata = template
                    metadata.clientName = "bench client \(n)"
                    metadata.redirectURIs = ["https://bench\(n % 1000).example/cb/\(n)"]
                    return RegisteredClient(clientID: "bench-\(n)", metadata: metadata, createdAt: now,
                                            secretDigest: SecretDigest.of("bench-secret-\(n)"),
                                            registrationTokenDigest: SecretDigest.of("bench.\(n).t"))
                }
                try await store.insertMany(clients)
                i = upper
            }
            try await store.compactSearchIndex()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        let elapsed = ContinuousClock.now - began
        print("seeded \(count) clients in \(elapsed)")
    }
}
