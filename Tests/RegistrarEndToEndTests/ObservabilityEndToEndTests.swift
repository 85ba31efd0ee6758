import Foundation
import NIOHTTP1
import RegistrarCore
import Testing

extension EndToEnd {
    @Suite("End to end: logs, metrics, the operator's command line")
    struct ObservabilityEndToEndTests {
        @Test("a full run at trace level writes JSON logs with one line per request and never a secret or a token")
        func logsHoldNoSecrets() async throws {
            let server = try ServerProcess()
            // An administration client, made on the database before the server starts.
            let config = try server.writeConfiguration(machineConfiguration)
            let (adminStatus, adminOutput, adminErrors) = try runRegistrar(["clients", "create", "--admin", "--name", "ops", "--json",
                                                                            "--database", server.databasePath, "--config", config])
            #expect(adminStatus == 0, "\(adminErrors)")
            let adminClient = try #require(try JSONParser.parse(Array(adminOutput.utf8)).objectValue)
            let adminID = try #require(adminClient["client_id"]?.stringValue), adminSecret = try #require(adminClient["client_secret"]?.stringValue)

            try await server.start(extraArguments: ["--log-level", "trace", "--log-format", "json"], configuration: machineConfiguration)
            var secrets: [String] = [adminSecret]
            // Registration, read, update, secret rotation, tokens, introspection, revocation, admin calls.
            let created = try await server.request(.POST, "/iam/api/client-registration",
                                                   json: #"{"grant_types":["client_credentials"],"scope":"read","token_endpoint_auth_method":"client_secret_post"}"#)
            let id = try #require(created.object?["client_id"]?.stringValue)
            let rat = try #require(created.object?["registration_access_token"]?.stringValue)
            secrets += [rat, try #require(created.object?["client_secret"]?.stringValue)]
            _ = try await server.request(.GET, "/iam/api/client-registration/\(id)", token: rat)
            let rotated = try await server.request(.POST, "/iam/api/client-registration/\(id)/secret", token: rat)
            let secret = try #require(rotated.object?["client_secret"]?.stringValue)
            secrets.append(secret)
            let encoded = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let token = try await server.request(.POST, "/token", form: "grant_type=client_credentials&client_id=\(id)&client_secret=\(encoded)")
            let accessToken = try #require(token.object?["access_token"]?.stringValue)
            secrets.append(accessToken)
            _ = try await server.request(.POST, "/introspect", form: "token=\(accessToken)&client_id=\(id)&client_secret=\(encoded)")
            _ = try await server.request(.POST, "/revoke", form: "token=\(accessToken)&client_id=\(id)&client_secret=\(encoded)")
            _ = try await server.request(.POST, "/token", form: "grant_type=client_credentials&client_id=\(id)&client_secret=wrong-\(encoded)")
            // The ID and the secret swapped: the secret is an unknown client ID, logged only as a fingerprint.
            _ = try await server.request(.POST, "/token", form: "grant_type=client_credentials&client_id=\(encoded)&client_secret=\(id)")
            let adminToken = try await server.tokenRequest(id: adminID, secret: adminSecret, scope: "iam:admin.read iam:admin.write")
            secrets.append(adminToken)
            let newRAT = try await server.request(.POST, "/iam/api/clients/\(id)/rat", token: adminToken)
            secrets.append(try #require(newRAT.object?["registration_access_token"]?.stringValue))
            let newSecret = try await server.request(.POST, "/iam/api/clients/\(id)/secret", token: adminToken)
            secrets.append(try #require(newSecret.object?["client_secret"]?.stringValue))
            _ = try await server.request(.GET, "/iam/api/clients?count=5", token: adminToken)
            _ = try await server.request(.GET, "/iam/api/client-registration/\(id)", token: rat)  // now a dead token
            let metrics = try await server.request(.GET, "/metrics")
            try await server.stop()

            let log = server.log
            let lines = log.split(separator: "\n")
            #expect(lines.count > 20)
            #expect(lines.allSatisfy { (try? JSONParser.parse(Array($0.utf8)))?.objectValue != nil }, "a log line is not a JSON object")
            let requests = lines.filter { $0.contains(#""message":"request""#) }
            #expect(requests.count >= 13, "one line per request")
            #expect(requests.allSatisfy { $0.contains(#""status":"#) && $0.contains(#""duration_ms":"#) && $0.contains(#""hb.request.id":"#) })
            for secret in secrets {
                #expect(!log.contains(secret), "a secret or token reached the log")
                // Also no half of one (a truncated token in a message would still leak).
                #expect(!log.contains(String(secret.prefix(secret.count / 2))) || secret.count < 40, "part of a secret reached the log")
            }
            let text = String(decoding: metrics.body, as: UTF8.self)
            #expect(text.contains(#"registrar_http_requests_total{route="/token",method="POST",status="200"}"#))
            #expect(text.contains("registrar_registrations_total"))
            #expect(text.contains("registrar_database_duration_seconds_bucket"))
            for secret in secrets { #expect(!text.contains(secret)) }
        }

        @Test("a server that starts at trace level on an empty database logs neither the signing keys it makes nor the secrets it issues")
        func traceOnFreshDatabase() async throws {
            let server = try ServerProcess()
            try await server.start(extraArguments: ["--log-level", "trace"], configuration: machineConfiguration)
            let created = try await server.request(.POST, "/iam/api/client-registration", json: #"{"grant_types":["client_credentials"]}"#)
            #expect(created.status == 201)
            let secret = try #require(created.object?["client_secret"]?.stringValue)
            let rat = try #require(created.object?["registration_access_token"]?.stringValue)
            try await server.stop()
            let log = server.log
            #expect(log.contains(" trace "), "the server logged at trace level")
            #expect(!log.contains("PRIVATE KEY"), "a signing key reached the log")
            #expect(!log.contains(secret) && !log.contains(rat), "a secret reached the log")
            // Digests at rest are secrets too: a stored digest must not be logged either.
            #expect(!log.contains(String(SecretDigest.of(secret).dropFirst("sha256:".count))), "a secret's digest reached the log")
            // Text lines: time, level, label, the metadata sorted by key (the request's own and the
            // request ID the HTTP server set on its logger), the source module, the message.
            let requestLine = try #require(log.split(separator: "\n").first { $0.hasSuffix("[RegistrarHTTP] request") && $0.contains("status=201") })
            let pattern = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info registrar: duration_ms=[0-9.]+ hb\.request\.id=[0-9a-f]+ method=POST path=/iam/api/client-registration status=201 \[RegistrarHTTP\] request$/#
            #expect(requestLine.wholeMatch(of: pattern) != nil, "unexpected text log line: \(requestLine)")
        }

        @Test("a value from a request cannot write a line of its own into the text log; a malformed body is a 400, not a server error")
        func requestValuesInTextLines() async throws {
            let server = try ServerProcess()
            try await server.start(configuration: machineConfiguration)
            // A value from the request that is logged as it came: the `kid` of an assertion that
            // names a registered client, with a line break and a terminal escape (failed client
            // authentications are logged with their reason at `info`).
            let jwk = #"{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
            let created = try await server.request(.POST, "/iam/api/client-registration", json: #"""
                {"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[\#(jwk)]}}
                """#)
            let id = try #require(created.object?["client_id"]?.stringValue, "\(created.status)")
            let forged = "x\n2026-12-07T00:00:00+0000 critical registrar: FORGED\u{1B}[31m"
            func part(_ json: String) -> String { Base64URL.encode(Array(json.utf8)) }
            let header = "{\"alg\":\"ES256\",\"kid\":\(String(decoding: try JSONEncoder().encode(forged), as: UTF8.self))}"
            let assertion = part(header) + "." + part(#"{"iss":"\#(id)","sub":"\#(id)"}"#) + "." + part(String(repeating: "s", count: 64))
            let posted = try await server.request(.POST, "/token", form: "grant_type=client_credentials&client_id=\(id)"
                + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=\(assertion)")
            #expect(posted.status == 401)
            // An unknown client ID with the same characters, in a Basic header: logged only as a fingerprint.
            let basic = try await server.request(.POST, "/token", form: "grant_type=client_credentials", basic: ("a\u{2028}FORGED\rLINE", "pw"))
            #expect(basic.status == 401)
            // A chunk size that is not hexadecimal, and a body the client never finishes.
            let malformed = try server.raw("POST /iam/api/client-registration HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                           + "Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n")
            #expect(malformed.hasPrefix("HTTP/1.1 400 "), "\(malformed.prefix(80))")
            #expect(malformed.contains(#""error":"invalid_request""#))
            _ = try server.raw("POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant",
                               closeAfterSending: true)
            try await Task.sleep(for: .milliseconds(300))
            try await server.stop()
            let log = server.log
            for line in log.split(separator: "\n") {
                #expect(line.wholeMatch(of: #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \w+ registrar: .*/#) != nil, "a line the server did not begin: \(line)")
            }
            #expect(!log.contains("\u{1B}") && !log.contains("\r") && !log.contains("\u{2028}"))
            #expect(log.contains(#"reason=no key for kid x\n2026-12-07T00:00:00+0000 critical registrar: FORGED\u{1B}[31m"#), "\(log)")
            #expect(!log.contains("FORGED\\rLINE") && log.contains(#/client_id_sha256=[0-9a-f]{16} reason=unknown client/#))
            #expect(!log.contains("request failed") && !log.contains("status=500"), "a client's malformed request counted as a server error")
            #expect(log.components(separatedBy: "status=400").count - 1 == 2, "both malformed requests logged as 400")
        }

        @Test("a connection that goes silent is closed after server.idle_timeout: before its head, in its body, between requests")
        func idleConnectionsClosed() async throws {
            let server = try ServerProcess()
            try await server.start(configuration: "server:\n  idle_timeout: 1s\n")
            let silent = try server.closesConnection(after: "", within: 6)
            #expect(silent.closed && silent.received.isEmpty)
            let partialHead = try server.closesConnection(after: "GET /health/live HTTP/1.1\r\nHost: x\r\n", within: 6)
            #expect(partialHead.closed && partialHead.received.isEmpty)
            let partialBody = try server.closesConnection(
                after: "POST /iam/api/client-registration HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"re", within: 6)
            #expect(partialBody.closed)
            // A finished request is answered, and the kept-alive connection is closed once silent.
            let kept = try server.closesConnection(after: "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n", within: 6)
            #expect(kept.closed && kept.received.hasPrefix("HTTP/1.1 200 "))
            try await server.stop()
        }

        @Test("SIGTERM waits for a request stalled in its body for the 10 s grace, not the idle timeout; pending audit events are still written")
        func boundedShutdown() async throws {
            let server = try ServerProcess()
            try await server.start(configuration: "server:\n  idle_timeout: 1h\n")
            let created = try await server.request(.POST, "/iam/api/client-registration", json: #"{"redirect_uris":["https://a.example/cb"]}"#)
            let id = try #require(created.object?["client_id"]?.stringValue)
            let stalled = try server.openConnection(
                sending: "POST /iam/api/client-registration HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"re",
                receiveTimeout: 30)
            defer { close(stalled) }
            try await Task.sleep(for: .milliseconds(300))
            // `stop` fails if the process has not exited 20 s after the signal.
            #expect(try await server.stop() == 0)
            #expect(server.log.contains("request cancelled: the server is stopping"), "\(server.log)")
            #expect(!server.log.contains("request failed"))
            let (status, audit, _) = try runRegistrar(["audit", "--database", server.databasePath, "--json"])
            #expect(status == 0 && audit.contains(id) && audit.contains("created"), "the audit events were lost: \(audit)")
        }

        @Test("`registrar clients` and `registrar audit` work on the database, with tables and JSON")
        func clientsCommands() async throws {
            let server = try ServerProcess()
            let config = try server.writeConfiguration(machineConfiguration)
            let common = ["--database", server.databasePath, "--config", config]
            let (status, created, reminder) = try runRegistrar(["clients", "create", "--name", "portal", "--redirect-uri", "https://portal.example/cb", "--json"] + common)
            #expect(status == 0)
            #expect(reminder.contains("shown only this once"), "a secret was printed: the reminder goes to standard error, with --json too")
            let (publicStatus, _, noReminder) = try runRegistrar(["clients", "create", "--name", "spa", "--auth-method", "none",
                                                                  "--redirect-uri", "https://spa.example/cb"] + common)
            #expect(publicStatus == 0 && !noReminder.contains("secret"), "no secret, no reminder: \(noReminder)")
            // A --database where there is none: a new database, and a note saying so, once.
            let typo = ["--database", server.databasePath + ".typo.sqlite", "--config", config]
            let (typoStatus, _, typoNote) = try runRegistrar(["keys", "list"] + typo)
            #expect(typoStatus == 0 && typoNote.contains("there was no database at \(server.databasePath).typo.sqlite"), "\(typoNote)")
            #expect(try !runRegistrar(["keys", "list"] + typo).2.contains("no database"))
            // Wrong values on the command line: exit 64, a message naming the option.
            for (arguments, option) in [(["--start-index", "0"], "--start-index"), (["--search", ""], "--search"), (["--count=-1"], "--count"),
                                        (["--search", "x", "--search-type", "uri"], "--search-type"), (["--count", "101"], "--count"),
                                        (["--search-type", "contacts"], "--search-type needs --search")] {
                let (badStatus, _, message) = try runRegistrar(["clients", "list"] + arguments + common)
                #expect(badStatus == 64 && message.contains(option), "\(arguments): \(badStatus) \(message)")
            }
            let id = try #require(try JSONParser.parse(Array(created.utf8)).objectValue?["client_id"]?.stringValue)
            let (_, table, _) = try runRegistrar(["clients", "list"] + common)
            #expect(table.contains("CLIENT_ID") && table.contains(id) && table.contains("portal"))
            let (_, found, _) = try runRegistrar(["clients", "list", "--search", "portal", "--json"] + common)
            #expect(try JSONParser.parse(Array(found.utf8)).objectValue?["totalResults"] == .int(1))
            #expect(try runRegistrar(["clients", "disable", id] + common).0 == 0)
            let (_, shown, _) = try runRegistrar(["clients", "show", id, "--json"] + common)
            #expect(try JSONParser.parse(Array(shown.utf8)).objectValue?["active"] == .bool(false))
            #expect(try runRegistrar(["clients", "enable", id] + common).0 == 0)
            let (_, secret, _) = try runRegistrar(["clients", "rotate-secret", id] + common)
            #expect(secret.trimmingCharacters(in: .whitespacesAndNewlines).count == 86)
            let (_, ratLine, _) = try runRegistrar(["clients", "rotate-token", id] + common)
            let rat = ratLine.trimmingCharacters(in: .whitespacesAndNewlines)
            // The command signs as the server does (HS256 by default, under the key both take from
            // the database), and the server takes its token at the client's registration URI.
            try await server.start()
            let registered = try await server.request(.POST, "/iam/api/client-registration", json: seedRequest)
            let serverToken = try #require(registered.object?["registration_access_token"]?.stringValue)
            let header = { (token: String) in CompactJWS(token)?.header }
            #expect(header(rat)?["alg"] == .string("HS256"))
            #expect(header(rat) == header(serverToken))
            let read = try await server.request(.GET, "/iam/api/client-registration/\(id)", token: rat)
            #expect(read.status == 200 && read.object?["client_id"] == .string(id))
            try await server.stop()
            #expect(try runRegistrar(["clients", "delete", id] + common).0 == 0)
            let (missingStatus, _, missing) = try runRegistrar(["clients", "show", id] + common)
            #expect(missingStatus != 0 && missing.contains("no client"))
            let (_, audit, _) = try runRegistrar(["audit", "--client-id", id, "--json"] + common)
            let kinds = try JSONParser.parse(Array(audit.utf8)).arrayValue?.compactMap { $0.objectValue?["event"]?.stringValue } ?? []
            #expect(kinds == ["deleted", "read", "token_rotated", "secret_rotated", "enabled", "disabled", "created"], "\(kinds)")
            #expect(!audit.contains(secret.trimmingCharacters(in: .whitespacesAndNewlines)))
            let (_, help, _) = try runRegistrar(["clients", "create", "--help"])
            #expect(help.contains("Examples:"))
        }
    }
}

extension ServerProcess {
    func tokenRequest(id: String, secret: String, scope: String) async throws -> String {
        let reply = try await formRequest("/token", id: id, secret: secret,
                                          form: "grant_type=client_credentials&scope=\(scope.replacingOccurrences(of: " ", with: "+"))")
        guard let token = reply.object?["access_token"]?.stringValue else { throw Failure("no admin token: \(reply.status)") }
        return token
    }
}
