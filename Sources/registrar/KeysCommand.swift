import ArgumentParser
import Foundation
import Logging
import RegistrarCore

/// `registrar keys`: the server's signing keys, on the database directly.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List and rotate the server's signing keys.",
        discussion: """
            Rotation makes a new key current and retires the old one: it signs nothing more, but it stays in the JWK Set until every access token it signed has expired. Running servers pick the new key up within 10 seconds.

            Examples:
              registrar keys list
              registrar keys rotate --algorithm ES256
            """,
        subcommands: [List.self, Rotate.self])

    func run() async throws { throw ValidationError("name a command: list or rotate") }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the signing keys and their state.",
                                                        discussion: "Example:\n  registrar keys list --json")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Flag(name: .long, help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            let settings = try databaseOptions.settings()
            let database = try await Database.open(options: databaseOptions, settings: settings, logger: Logger(label: "registrar"))
            let keys: [StoredSigningKey]
            do { keys = try await database.store.signingKeys() } catch { await database.close(); throw error }
            await database.close()
            let now = SystemWallClock().now()
            let window = settings.tokens.accessTokenLifetime + TokenService.keyReloadAllowance
            func state(_ key: StoredSigningKey) -> String {
                guard let retired = key.retiredAt else { return "current" }
                return now.milliseconds < retired.milliseconds + window * 1000 ? "retired, published" : "retired"
            }
            if json {
                print(JSONWriter.string(.array(keys.map { key in
                    .object(JSONObject([("kid", .string(key.kid)), ("algorithm", .string(key.algorithm)), ("state", .string(state(key))),
                                        ("created_at", .int(key.createdAt.seconds)),
                                        ("retired_at", key.retiredAt.map { .int($0.seconds) } ?? .null)]))
                })))
                return
            }
            let rows = [["KID", "ALGORITHM", "STATE", "CREATED", "RETIRED"]] + keys.map { key in
                [key.kid, key.algorithm, state(key), TokensCommand.date(key.createdAt), key.retiredAt.map(TokensCommand.date) ?? ""]
            }
            print(Table.render(rows))
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new signing key current and retire the old one.",
            discussion: "Examples:\n  registrar keys rotate\n  registrar keys rotate --algorithm ES256")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(name: .long, help: "RS256, ES256 or all.")
        var algorithm: String = "all"

        func validate() throws {
            guard algorithm.lowercased() == "all" || SigningAlgorithm(rawValue: algorithm.uppercased()) != nil else {
                throw ValidationError("--algorithm must be RS256, ES256 or all")
            }
        }

        func run() async throws {
            // validate() refused any other value.
            let algorithms = SigningAlgorithm(rawValue: algorithm.uppercased()).map { [$0] } ?? SigningAlgorithm.allCases
            let settings = try databaseOptions.settings()
            let database = try await Database.open(options: databaseOptions, settings: settings, logger: Logger(label: "registrar"))
            do {
                // Rotation needs only the signing keys, not the sealing key.
                for algorithm in algorithms {
                    let key: SigningKey
                    do {
                        key = try await KeyRing.rotateStored(algorithm, store: database.store, clock: SystemWallClock())
                    } catch StoreError.duplicate {
                        // Another rotation of this algorithm committed while this one ran (the
                        // database allows one current key per algorithm); this one changed nothing.
                        throw CommandFailure("\(algorithm.rawValue): another rotation ran at the same moment and its key is current; "
                                             + "this one changed nothing (registrar keys list shows the keys)")
                    }
                    print("\(algorithm.rawValue): new current key \(key.kid)")
                }
            } catch {
                await database.close()
                throw error
            }
            await database.close()
        }
    }
}
