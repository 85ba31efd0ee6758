import ArgumentParser
import Foundation
import Logging
import RegistrarCore

/// `registrar tokens`: initial access tokens (RFC 7591 §3), managed on the database directly.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke initial access tokens.",
        discussion: """
            An initial access token lets its bearer register clients under a named policy from the
            configuration file; in `registration.mode: token` one is required. Tokens are stored as
            digests: the token itself is printed once, by `create`.

            Examples:
              registrar tokens create --policy partners --max-uses 10 --expires-in 30d
              registrar tokens list
              registrar tokens revoke <token id>
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    func run() async throws { throw ValidationError("name a command: create, list or revoke") }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once.",
            discussion: """
                Examples:
                  registrar tokens create --policy partners --expires-in 7d --max-uses 10 --note "ACME onboarding" --config registrar.yaml
                  registrar tokens create --policy anonymous --max-uses 1
                """)

        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(name: .long, help: "The policy registrations made with the token run under (a name from the configuration's policies).")
        var policy: String
        @Option(name: .long, help: "Lifetime, such as 30m, 12h, 7d or a number of seconds (default: no expiry).")
        var expiresIn: String?
        @Option(name: .long, help: "How many registrations the token may make (default: no limit).")
        var maxUses: Int?
        @Option(name: .long, help: "A note for the operator, shown by `list`.")
        var note: String?
        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        /// The checks that need no configuration, here so that a mistake shows this command's usage.
        func validate() throws {
            if let expiresIn {
                guard let seconds = DurationText.seconds(expiresIn) else { throw ValidationError("--expires-in must be a duration such as 30m, 12h or 7d (at most 100 years)") }
                guard seconds > 0 else { throw ValidationError("--expires-in must be more than 0 (leave it out for a token that does not expire)") }
            }
            if let maxUses, maxUses < 1 { throw ValidationError("--max-uses must be at least 1") }
        }

        func run() async throws {
            let settings = try databaseOptions.settings()
            guard settings.policy(named: policy) != nil else {
                throw ValidationError("no policy named \"\(policy)\" in the configuration (policies: \(settings.policies.keys.sorted().joined(separator: ", "))); pass --config with the file that defines it")
            }
            let expiresIn = expiresIn.flatMap(DurationText.seconds)  // validate() refused anything else
            let made = InitialAccessToken.make(policy: policy, note: note, expiresIn: expiresIn, maxUses: maxUses.map(Int64.init),
                                               clock: SystemWallClock(), random: SystemRandomSource())
            let database = try await Database.open(options: databaseOptions, settings: settings, logger: Logger(label: "registrar"))
            do {
                try await database.store.insertInitialAccessToken(made.record)
            } catch {
                await database.close()
                throw error
            }
            await database.close()
            if json {
                print(JSONWriter.string(.object(TokensCommand.describe(made.record, now: SystemWallClock().now(), token: made.token))))
            } else {
                print(made.token)
                FileHandle.standardError.write(Data("initial access token \(made.record.id) created for policy \(policy); it is shown only this once\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never the tokens themselves).",
                                                        discussion: "Example:\n  registrar tokens list --json")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Flag(name: .long, help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            let settings = try databaseOptions.settings()
            let database = try await Database.open(options: databaseOptions, settings: settings, logger: Logger(label: "registrar"))
            let tokens: [InitialAccessToken]
            do { tokens = try await database.store.initialAccessTokens() } catch { await database.close(); throw error }
            await database.close()
            let now = SystemWallClock().now()
            if json {
                print(JSONWriter.string(.array(tokens.map { .object(TokensCommand.describe($0, now: now)) })))
                return
            }
            let rows = [["ID", "POLICY", "STATE", "USES", "EXPIRES", "NOTE"]] + tokens.map { token in
                [token.id, token.policy, token.state(at: now), "\(token.uses)/\(token.maxUses.map(String.init) ?? "∞")",
                 token.expiresAt.map(TokensCommand.date) ?? "never", token.note ?? ""]
            }
            print(Table.render(rows))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its ID; it stops working at once.",
                                                        discussion: "Example:\n  registrar tokens revoke Xy3kQ2vR8aB1")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "The token's ID, as `list` shows it.")
        var id: String

        func run() async throws {
            let settings = try databaseOptions.settings()
            let database = try await Database.open(options: databaseOptions, settings: settings, logger: Logger(label: "registrar"))
            let found: Bool
            do { found = try await database.store.revokeInitialAccessToken(id: id, at: SystemWallClock().now()) } catch { await database.close(); throw error }
            await database.close()
            guard found else { throw CommandFailure("no initial access token with ID \(id)") }
            print("initial access token \(id) revoked")
        }
    }

    static func describe(_ token: InitialAccessToken, now: Timestamp, token secret: String? = nil) -> JSONObject {
        var object = JSONObject()
        object["id"] = .string(token.id)
        if let secret { object["token"] = .string(secret) }
        object["policy"] = .string(token.policy)
        object["state"] = .string(token.state(at: now))
        object["uses"] = .int(token.uses)
        object["max_uses"] = token.maxUses.map(JSONValue.int) ?? .null
        object["created_at"] = .int(token.createdAt.seconds)
        object["expires_at"] = token.expiresAt.map { .int($0.seconds) } ?? .null
        object["revoked_at"] = token.revokedAt.map { .int($0.seconds) } ?? .null
        object["note"] = token.note.map(JSONValue.string) ?? .null
        return object
    }

    static func date(_ time: Timestamp) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(time.seconds)))
    }
}

/// Plain-text tables for the command line.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
