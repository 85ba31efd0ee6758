import Foundation
import NIOHTTP1
import RegistrarCore
import Testing

let seedRequest = #"""
{
  "redirect_uris": ["https://another.client.example/oidc"],
  "client_name": "another-example-client",
  "contacts": ["test@iam.test"],
  "token_endpoint_auth_method": "client_secret_basic",
  "scope": "address phone openid email profile offline_access",
  "grant_types": ["refresh_token", "authorization_code"],
  "response_types": ["code"]
}
"""#

extension EndToEnd {
    @Suite("End to end: the registrar binary on a loopback port")
    struct EndToEndTests {
        @Test("the seed's flow survives restarts: register, read, update, delete")
        func seedFlowAcrossRestarts() async throws {
            let server = try ServerProcess()
            try await server.start()
            #expect(server.output.contains("Registrar is ready at \(server.issuer)"))

            let created = try await server.request(.POST, "/iam/api/client-registration", json: seedRequest)
            #expect(created.status == 201)
            let body = try #require(created.object)
            let id = try #require(body["client_id"]?.stringValue)
            let token = try #require(body["registration_access_token"]?.stringValue)
            let uri = try #require(body["registration_client_uri"]?.stringValue)
            #expect(uri == "\(server.issuer)/iam/api/client-registration/\(id)")
            #expect(try await server.stop() == 0)

            try await server.start()
            let read = try await server.request(.GET, uri, token: token)
            #expect(read.status == 200)
            var expected = body
            expected["client_secret"] = nil
            #expect(read.object == expected)

            var update = expected
            update["client_name"] = .string("renamed after a restart")
            let updated = try await server.request(.PUT, uri, token: token, json: JSONWriter.string(.object(update)))
            #expect(updated.status == 200)
            #expect(try await server.stop(signal: SIGINT) == 0)

            try await server.start()
            let reread = try await server.request(.GET, uri, token: token)
            #expect(reread.object?["client_name"] == .string("renamed after a restart"))
            let deleted = try await server.request(.DELETE, uri, token: token)
            #expect(deleted.status == 204)
            #expect(deleted.body.isEmpty)
            #expect(try await server.request(.GET, uri, token: token).status == 401)
            try await server.stop()

            try await server.start()
            let gone = try await server.request(.GET, uri, token: token)
            #expect(gone.status == 401)
            #expect(gone.headers.first(name: "WWW-Authenticate")?.contains("invalid_token") == true)
            try await server.stop()
            #expect(server.log.contains("stopped; database closed"))
        }

        @Test("200 registrations from 16 concurrent clients are distinct and each readable with its own token")
        func concurrentRegistrations() async throws {
            let server = try ServerProcess()
            try await server.start()
            struct Registered: Sendable { let name: String; let id: String; let secret: String; let token: String; let uri: String }
            let perWorker = [13, 13, 13, 13, 13, 13, 13, 13, 12, 12, 12, 12, 12, 12, 12, 12]
            #expect(perWorker.reduce(0, +) == 200)
            let registered = try await withThrowingTaskGroup(of: [Registered].self) { group in
                for (worker, count) in perWorker.enumerated() {
                    group.addTask {
                        var out: [Registered] = []
                        for n in 0..<count {
                            let name = "worker-\(worker)-client-\(n)"
                            let reply = try await server.request(.POST, "/iam/api/client-registration",
                                                                 json: #"{"redirect_uris":["https://w\#(worker).example/cb"],"client_name":"\#(name)"}"#)
                            guard reply.status == 201, let o = reply.object else { throw Failure("registration failed: \(reply.status)") }
                            out.append(Registered(name: name, id: o["client_id"]?.stringValue ?? "", secret: o["client_secret"]?.stringValue ?? "",
                                                  token: o["registration_access_token"]?.stringValue ?? "", uri: o["registration_client_uri"]?.stringValue ?? ""))
                        }
                        return out
                    }
                }
                var all: [Registered] = []
                for try await batch in group { all += batch }
                return all
            }
            #expect(registered.count == 200)
            #expect(Set(registered.map(\.id)).count == 200)
            #expect(Set(registered.map(\.secret)).count == 200)
            #expect(Set(registered.map(\.token)).count == 200)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in stride(from: 0, to: registered.count, by: 25) {
                    let slice = Array(registered[chunk..<min(chunk + 25, registered.count)])
                    group.addTask {
                        for client in slice {
                            let reply = try await server.request(.GET, client.uri, token: client.token)
                            #expect(reply.status == 200)
                            #expect(reply.object?["client_id"] == .string(client.id))
                            #expect(reply.object?["client_name"] == .string(client.name), "records mixed up")
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await server.stop()
        }

        @Test("options come from the environment when no flag is given")
        func environment() async throws {
            let server = try ServerProcess()
            // Flags for host/port/issuer/database are passed by the harness; the token algorithm comes from the environment.
            try await server.start(environment: ["REGISTRAR_TOKEN_ALGORITHM": "ES256"])
            let created = try await server.request(.POST, "/iam/api/client-registration", json: seedRequest)
            let token = try #require(created.object?["registration_access_token"]?.stringValue)
            let header = try JSONParser.parse(Base64URL.decode(String(token.split(separator: ".")[0])) ?? [])
            #expect(header.objectValue?["alg"] == .string("ES256"))
            try await server.stop()
        }

        @Test("bad options stop start-up with a message and a non-zero status", arguments: [
            ["serve", "--port", "not-a-number"],
            ["serve", "--issuer", "ftp://example.org"],
            ["serve", "--token-algorithm", "PS256"],
            ["serve", "--token-algorithm", "none"],
            ["serve", "--port", "0"],
            ["serve", "--database", "/proc/cannot/create/db.sqlite", "--port", "1"],
        ])
        func badOptions(_ arguments: [String]) async throws {
            let process = Process()
            process.executableURL = ServerProcess.binaryURL
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = Pipe()
            try process.run()
            process.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus != 0)
            #expect(!message.isEmpty)
        }
    }
}
