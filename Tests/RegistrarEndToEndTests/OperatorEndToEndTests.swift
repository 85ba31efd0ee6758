import Foundation
import NIOHTTP1
import RegistrarCore
import Testing

/// Runs the registrar binary to completion (in `directory`, if given) and returns (status, stdout,
/// stderr). A process still running after `timeout` seconds (a server that started when it should
/// not have) is stopped, so that a test fails instead of hanging.
func runRegistrar(_ arguments: [String], in directory: URL? = nil, timeout: Int = 120) throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = ServerProcess.binaryURL
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeout)) { if process.isRunning { process.terminate() } }
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

extension EndToEnd {
    @Suite("End to end: configuration file and initial access tokens")
    struct OperatorEndToEndTests {
        @Test("a --database that is neither a file path nor a postgres:// URL is a wrong command line (64) for serve too, shown masked, nothing created")
        func databaseThatIsNoPath() throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("registrar-dbarg-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            for (command, location) in [(["serve", "--port", "18999"], "postgress://registrar:hunter2@127.0.0.1/db"),
                                        (["serve", "--port", "18999"], ":memory:"), (["serve", "--port", "18999"], "sqlite:///tmp/x.sqlite"),
                                        (["tokens", "list"], "mysql://root:hunter2@127.0.0.1/db"), (["keys", "list"], "file:x.db")] {
                let (status, _, message) = try runRegistrar(command + ["--database", location], in: folder, timeout: 10)
                #expect(status == 64, "\(command) \(location): \(status) \(message)")
                #expect(message.contains("--database must be a file path or a postgres://"), "\(message)")
                #expect(!message.contains("hunter2"), "the password was printed: \(message)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "a database was created")
        }

        @Test("a bad configuration file stops start-up with the member and the problem")
        func badConfiguration() async throws {
            let server = try ServerProcess()
            // YAML 1.1's other booleans (yes, no, on, off, True...) are refused like any non-boolean.
            let cases = [
                ("registration:\n  mode: sometimes\n", "registration.mode", "open, token, disabled"),
                ("server:\n  metrics: yes\n", "server.metrics", "true or false"),
                ("registration:\n  cleanup:\n    enabled: On\n", "registration.cleanup.enabled", "true or false"),
                ("jwks_uri_fetch:\n  allow_http: TRUE\n", "jwks_uri_fetch.allow_http", "true or false"),
            ]
            for (text, member, problem) in cases {
                let config = try server.writeConfiguration(text)
                let (status, _, errors) = try runRegistrar(["serve", "--port", String(server.port), "--database", server.databasePath, "--config", config])
                #expect(status != 0, "\(text)")
                #expect(errors.contains(member) && errors.contains(problem), "\(text): \(errors)")
            }
        }

        @Test("token mode with tokens made by `registrar tokens`: create, use, list, revoke")
        func tokenLifecycle() async throws {
            let server = try ServerProcess()
            let config = try server.writeConfiguration("""
                registration:
                  mode: token
                  rate_limits:
                    registrations: { per_minute: 0 }
                    failed_tokens: { per_minute: 0 }
                policies:
                  machines:
                    grant_types:
                      allowed: [client_credentials]
                    scopes:
                      default: [compute]
                """)
            let common = ["--database", server.databasePath, "--config", config]
            let (unknownStatus, _, unknownErrors) = try runRegistrar(["tokens", "create", "--policy", "nobody"] + common)
            #expect(unknownStatus != 0 && unknownErrors.contains("no policy named \"nobody\""))

            let (status, created, notice) = try runRegistrar(["tokens", "create", "--policy", "machines", "--max-uses", "1", "--expires-in", "1h", "--note", "e2e"] + common)
            #expect(status == 0, "\(notice)")
            let token = created.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.hasPrefix("rgi_"))

            try await server.start(configuration: try String(contentsOfFile: config, encoding: .utf8))
            #expect(server.output.contains("registration: token"))
            let anonymous = try await server.request(.POST, "/iam/api/client-registration", json: #"{"grant_types":["client_credentials"]}"#)
            #expect(anonymous.status == 401)
            #expect(anonymous.headers.first(name: "WWW-Authenticate") == "Bearer")
            let registered = try await server.request(.POST, "/iam/api/client-registration", token: token, json: #"{"grant_types":["client_credentials"]}"#)
            #expect(registered.status == 201)
            #expect(registered.object?["scope"] == .string("compute"))
            let again = try await server.request(.POST, "/iam/api/client-registration", token: token, json: #"{"grant_types":["client_credentials"]}"#)
            #expect(again.status == 401, "a single-use token registered twice")
            try await server.stop()

            let (listStatus, listed, _) = try runRegistrar(["tokens", "list", "--json"] + common)
            #expect(listStatus == 0)
            let tokens = try JSONParser.parse(Array(listed.utf8)).arrayValue ?? []
            #expect(tokens.count == 1)
            let entry = try #require(tokens.first?.objectValue)
            #expect(entry["state"] == .string("used up") && entry["uses"] == .int(1) && entry["policy"] == .string("machines"))
            #expect(entry["note"] == .string("e2e"))
            #expect(!listed.contains(token), "list printed the token")
            let id = try #require(entry["id"]?.stringValue)

            let (tableStatus, table, _) = try runRegistrar(["tokens", "list"] + common)
            #expect(tableStatus == 0 && table.contains("POLICY") && table.contains(id))
            let (revokeStatus, revoked, _) = try runRegistrar(["tokens", "revoke", id] + common)
            #expect(revokeStatus == 0 && revoked.contains("revoked"))
            let (missingStatus, _, missing) = try runRegistrar(["tokens", "revoke", "no-such-id"] + common)
            #expect(missingStatus != 0 && missing.contains("no initial access token"))
        }
    }
}
