import ArgumentParser
import Foundation
import Logging
import RegistrarCore

/// The database, the keys and the administration service, for the commands that change clients.
struct AdminContext {
    let database: Database
    let admin: AdminService

    static func open(_ options: DatabaseOptions, sealingKeyFile: String? = nil) async throws -> AdminContext {
        let settings = try options.settings()
        var logger = Logger(label: "registrar")
        logger.logLevel = .warning
        let database = try await Database.open(options: options, settings: settings, logger: logger)
        do {
            let sealing = try (sealingKeyFile ?? Environment.value("REGISTRAR_SEALING_KEY_FILE") ?? settings.sealingKeyFile).map(ServeCommand.readSealingKey)
            let keys = try await ServerKeys.load(from: database.store, clock: SystemWallClock(), random: SystemRandomSource(), sealingKey: sealing)
            // The same issuer and token algorithm as `registrar serve` works out from the same sources,
            // so that the tokens and URLs this command hands out are the server's.
            let host = Environment.value("REGISTRAR_HOST") ?? settings.host ?? "127.0.0.1"
            let port = try Environment.integer("REGISTRAR_PORT") ?? settings.port ?? 8080
            let hostForURL = host.contains(":") ? "[\(host)]" : host
            var configuration = ServerConfiguration(issuer: Environment.value("REGISTRAR_ISSUER") ?? settings.issuer ?? "http://\(hostForURL):\(port)")
            let algorithmName = Environment.value("REGISTRAR_TOKEN_ALGORITHM") ?? settings.registrationTokenAlgorithm?.rawValue ?? RegistrationTokenAlgorithm.default.rawValue
            guard let algorithm = RegistrationTokenAlgorithm(name: algorithmName) else {
                throw ValidationError("REGISTRAR_TOKEN_ALGORITHM must be \(RegistrationTokenAlgorithm.names), not \(algorithmName)")
            }
            configuration.registrationTokenAlgorithm = algorithm
            configuration.clientSecretLifetime = settings.registration.clientSecretLifetime
            let service = RegistrationService(configuration: configuration, store: database.store, keys: keys, settings: settings, logger: logger)
            return AdminContext(database: database, admin: AdminService(registration: service))
        } catch {
            await database.close()
            throw error
        }
    }

    /// Runs `body`, then writes the audit trail and closes the database.
    func run<T>(_ body: (AdminService) async throws -> T) async throws -> T {
        do {
            let result = try await body(admin)
            try? await admin.registration.audit?.flush()
            await database.close()
            return result
        } catch {
            try? await admin.registration.audit?.flush()
            await database.close()
            throw error
        }
    }
}

/// Options of the commands that need the sealing key (secrets of client_secret_jwt clients).
struct SealingOption: ParsableArguments {
    @Option(name: .long, help: "File holding the sealing key, if the server uses one. [env: REGISTRAR_SEALING_KEY_FILE]")
    var sealingKeyFile: String?
}

/// `registrar clients`: the operator's view of clients, on the database directly (no server needed).
struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "List, show, create, disable, enable and delete clients; rotate their secrets and tokens.",
        discussion: """
            Every command takes the server's --config and --database (or REGISTRAR_CONFIG, REGISTRAR_DATABASE).

            Examples:
              registrar clients list --search portal
              registrar clients create --name portal --redirect-uri https://portal.example.org/cb
              registrar clients disable 9bef3e68-f329-4dbf-9c3e-45647c08dfd5
              registrar clients rotate-secret 9bef3e68-f329-4dbf-9c3e-45647c08dfd5
            """,
        subcommands: [List.self, Show.self, Create.self, Disable.self, Enable.self, Delete.self, RotateSecret.self, RotateToken.self])

    func run() async throws {
        throw ValidationError("name a command: list, show, create, disable, enable, delete, rotate-secret or rotate-token")
    }

    static func printClient(_ view: JSONObject, json: Bool) {
        if json {
            print(JSONWriter.string(.object(view)))
            return
        }
        for (key, value) in view.members {
            let text: String
            switch value {
            case .string(let s): text = s
            case .array(let a): text = a.map { $0.stringValue ?? JSONWriter.string($0) }.joined(separator: " ")
            case .null: continue
            default: text = JSONWriter.string(value)
            }
            print("\(key.padding(toLength: 32, withPad: " ", startingAt: 0)) \(text)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List clients, or find them.",
            discussion: """
                Examples:
                  registrar clients list
                  registrar clients list --dynamic-only --count 50 --start-index 51
                  registrar clients list --search oidc-agent --search-type name --json
                """)
        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(name: .long, help: "First item, counting from 1.") var startIndex = 1
        @Option(name: .long, help: "Items per page (at most 100).") var count = 20
        @Flag(name: .long, help: "Only dynamically registered clients.") var dynamicOnly = false
        @Option(name: .long, help: "Find clients with a term starting with this text.") var search: String?
        @Option(name: .long, help: "What to search: name (the default), contacts, scope, grantType, redirectUri; with --search.") var searchType: String?
        @Flag(name: .long, help: "Print JSON instead of a table.") var json = false

        func validate() throws {
            if let searchType {
                guard ClientSearchKind(rawValue: searchType) != nil else { throw ValidationError("--search-type must be one of name, contacts, scope, grantType, redirectUri") }
                guard search != nil else { throw ValidationError("--search-type needs --search") }
            }
            guard startIndex >= 1 else { throw ValidationError("--start-index must be 1 or more") }
            guard (0...100).contains(count) else { throw ValidationError("--count must be between 0 and 100") }
            if let search, search.isEmpty || search.count > 256 { throw ValidationError("--search must be 1 to 256 characters") }
        }

        func run() async throws {
            let kind = searchType.flatMap(ClientSearchKind.init(rawValue:)) ?? .name  // validate() refused any other value
            var page = JSONObject()
            try await ClientsCommand.operate(databaseOptions) { admin in
                if let search {
                    page = try await admin.search(text: search, kind: kind, startIndex: startIndex, count: count, dynamicOnly: dynamicOnly)
                } else {
                    page = try await admin.list(startIndex: startIndex, count: count, dynamicOnly: dynamicOnly)
                }
            }
            if json { print(JSONWriter.string(.object(page))); return }
            let resources = page["Resources"]?.arrayValue?.compactMap(\.objectValue) ?? []
            let rows = [["CLIENT_ID", "NAME", "POLICY", "ACTIVE", "METHOD", "CREATED"]] + resources.map { c in
                [c["client_id"]?.stringValue ?? "", c["client_name"]?.stringValue ?? "", c["policy"]?.stringValue ?? "",
                 c["active"] == .bool(false) ? "no" : "yes", c["token_endpoint_auth_method"]?.stringValue ?? "",
                 { if case .int(let ms)? = c["created_at"] { return TokensCommand.date(Timestamp(milliseconds: ms)) } else { return "" } }()]
            }
            print(Table.render(rows))
            var total: Int64 = 0
            if case .int(let n)? = page["totalResults"] { total = n }
            print("\(resources.count) of \(total)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one client.", discussion: "Example:\n  registrar clients show 9bef3e68-f329-4dbf-9c3e-45647c08dfd5")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "The client_id.") var clientID: String
        @Flag(name: .long, help: "Print JSON.") var json = false
        func run() async throws {
            var view = JSONObject()
            try await ClientsCommand.operate(databaseOptions) { admin in view = admin.view(try await admin.client(clientID)) }
            ClientsCommand.printClient(view, json: json)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a static client and print its secret once.",
            discussion: """
                --admin creates an administration client: client_credentials with the scopes
                iam:admin.read and iam:admin.write, which only clients made this way can hold.

                Examples:
                  registrar clients create --admin --name operations
                  registrar clients create --name portal --redirect-uri https://portal.example.org/cb --scope "openid email"
                  registrar clients create --metadata '{"client_name":"batch","grant_types":["client_credentials"]}'
                """)
        @OptionGroup var databaseOptions: DatabaseOptions
        @OptionGroup var sealing: SealingOption
        @Flag(name: .long, help: "An administration client (iam:admin.read and iam:admin.write).") var admin = false
        @Option(name: .long, help: "client_name.") var name: String?
        @Option(name: .long, help: "A redirect URI (repeatable).") var redirectURI: [String] = []
        @Option(name: .long, help: "A grant type (repeatable).") var grantType: [String] = []
        @Option(name: .long, help: "Space-separated scopes.") var scope: String?
        @Option(name: .long, help: "token_endpoint_auth_method.") var authMethod: String?
        @Option(name: .long, help: "The whole registration as a JSON object (other options are laid over it).") var metadata: String?
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            var object = JSONObject()
            if let metadata {
                guard case .object(let o)? = try? JSONParser.parse(Array(metadata.utf8)) else { throw ValidationError("--metadata must be a JSON object") }
                object = o
            }
            if let scope { object["scope"] = .string(scope) }
            if let name { object["client_name"] = .string(name) }
            if !redirectURI.isEmpty { object["redirect_uris"] = .array(redirectURI.map(JSONValue.string)) }
            if !grantType.isEmpty { object["grant_types"] = .array(grantType.map(JSONValue.string)) }
            if let authMethod { object["token_endpoint_auth_method"] = .string(authMethod) }
            let body = JSONWriter.bytes(.object(object))
            let view: JSONObject
            do {
                view = try await AdminContext.open(databaseOptions, sealingKeyFile: sealing.sealingKeyFile).run { service in
                    try await service.create(body: body, admin: admin, actor: .commandLine)
                }
            } catch let error as RegistrarError {
                throw CommandFailure("\(error.code.rawValue): \(error.errorDescription)")
            }
            ClientsCommand.printClient(view, json: json)
            // On standard error, so that --json output stays one JSON document.
            if view["client_secret"] != nil { FileHandle.standardError.write(Data("the client secret is shown only this once\n".utf8)) }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a client: it cannot authenticate or change itself.",
                                                        discussion: "Example:\n  registrar clients disable 9bef3e68-f329-4dbf-9c3e-45647c08dfd5")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "The client_id.") var clientID: String
        func run() async throws {
            try await ClientsCommand.operate(databaseOptions) { try await $0.setActive(clientID, false, actor: .commandLine) }
            print("client \(clientID) disabled")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled client.",
                                                        discussion: "Example:\n  registrar clients enable 9bef3e68-f329-4dbf-9c3e-45647c08dfd5")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "The client_id.") var clientID: String
        func run() async throws {
            try await ClientsCommand.operate(databaseOptions) { try await $0.setActive(clientID, true, actor: .commandLine) }
            print("client \(clientID) enabled")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a client; its credentials and tokens die with it.",
                                                        discussion: "Example:\n  registrar clients delete 9bef3e68-f329-4dbf-9c3e-45647c08dfd5")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "The client_id.") var clientID: String
        func run() async throws {
            try await ClientsCommand.operate(databaseOptions) { try await $0.delete(clientID, actor: .commandLine) }
            print("client \(clientID) deleted")
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate-secret", abstract: "Issue a new client secret (printed once); the old one dies.",
                                                        discussion: "Example:\n  registrar clients rotate-secret 9bef3e68-f329-4dbf-9c3e-45647c08dfd5")
        @OptionGroup var databaseOptions: DatabaseOptions
        @OptionGroup var sealing: SealingOption
        @Argument(help: "The client_id.") var clientID: String
        @Flag(name: .long, help: "Print the client as JSON.") var json = false
        func run() async throws {
            var view = JSONObject()
            try await ClientsCommand.operate(databaseOptions, sealing: sealing.sealingKeyFile) { view = try await $0.rotateSecret(clientID, actor: .commandLine) }
            if json { print(JSONWriter.string(.object(view))) } else { print(view["client_secret"]?.stringValue ?? "") }
        }
    }

    struct RotateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate-token",
                                                        abstract: "Issue a new registration access token (printed once); the old one dies.",
                                                        discussion: "Example:\n  registrar clients rotate-token 9bef3e68-f329-4dbf-9c3e-45647c08dfd5")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "The client_id.") var clientID: String
        @Flag(name: .long, help: "Print the client as JSON.") var json = false
        func run() async throws {
            var view = JSONObject()
            try await ClientsCommand.operate(databaseOptions) { view = try await $0.rotateRegistrationToken(clientID, actor: .commandLine) }
            if json { print(JSONWriter.string(.object(view))) } else { print(view["registration_access_token"]?.stringValue ?? "") }
        }
    }

    /// Runs an operation, turning a Registrar error into a clear message and a non-zero status.
    static func operate(_ options: DatabaseOptions, sealing: String? = nil, _ body: (AdminService) async throws -> Void) async throws {
        do {
            try await AdminContext.open(options, sealingKeyFile: sealing).run(body)
        } catch let error as RegistrarError {
            throw CommandFailure(error.errorDescription)
        }
    }
}


/// `registrar audit`: the audit trail.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Show the audit trail, newest first.",
        discussion: """
            Examples:
              registrar audit --since 1d
              registrar audit --client-id 9bef3e68-f329-4dbf-9c3e-45647c08dfd5 --json
            """)
    @OptionGroup var databaseOptions: DatabaseOptions
    @Option(name: .long, help: "Only events of this client.") var clientID: String?
    @Option(name: .long, help: "Only events of the last duration (such as 1h, 7d).") var since: String?
    @Option(name: .long, help: "At most this many events.") var count = 100
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let start = try since.map { text -> Timestamp in
            guard let seconds = DurationText.seconds(text) else { throw ValidationError("--since must be a duration such as 1h or 7d (at most 100 years)") }
            return Timestamp(milliseconds: SystemWallClock().now().milliseconds - seconds.secondsAsMilliseconds)
        }
        let events = try await AdminContext.open(databaseOptions).run { try await $0.auditEvents(clientID: clientID, since: start, limit: count) }
        if json { print(JSONWriter.string(.array(events.map { .object($0.json) }))); return }
        let rows = [["TIME", "EVENT", "CLIENT_ID", "OUTCOME", "ACTOR", "DETAIL"]] + events.map { e in
            [TokensCommand.date(e.time), e.kind.rawValue, e.clientID ?? "", e.outcome,
             [e.actorIP, e.initialAccessTokenID.map { "iat:" + $0 }, e.adminClientID.map { "admin:" + $0 }].compactMap { $0 }.joined(separator: " "),
             e.detail ?? ""]
        }
        print(Table.render(rows))
    }
}
