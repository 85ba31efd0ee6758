import Foundation
import NIOHTTP1
import RegistrarCore
import RegistrarTesting
import Testing

/// Where a test's server keeps its data.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite, postgres
    var description: String { rawValue }

    /// A fresh database location, or `nil` when this kind is not configured here.
    func freshDatabase() async throws -> String? {
        switch self {
        case .sqlite:
            return URL(fileURLWithPath: ServerProcess.scratchRoot).appendingPathComponent("\(UUID().uuidString)/db.sqlite").path
        case .postgres:
            guard let server = TestPostgres.url else { return nil }
            return try await TestPostgres.freshDatabase(on: server, prefix: "e2e")
        }
    }
}

extension EndToEnd {
    @Suite("End to end: several instances, crashes and outages")
    struct StoreEndToEndTests {
        @Test("two instances on one PostgreSQL database serve the same clients",
              .enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.skipReason)))
        func twoInstances() async throws {
            let database = try #require(try await StoreKind.postgres.freshDatabase())
            let a = try ServerProcess(databasePath: database, issuer: "https://id.example.org")
            let b = try ServerProcess(databasePath: database, issuer: "https://id.example.org")
            try await a.start(configuration: machineConfiguration)
            try await b.start(configuration: machineConfiguration)

            let created = try await a.request(.POST, "/iam/api/client-registration", json: seedRequest)
            #expect(created.status == 201)
            let body = try #require(created.object)
            let token = try #require(body["registration_access_token"]?.stringValue)
            let uri = try #require(body["registration_client_uri"]?.stringValue)
            #expect(uri.hasPrefix("https://id.example.org/iam/api/client-registration/"))

            let readOnB = try await b.request(.GET, uri, token: token)
            #expect(readOnB.status == 200)
            var update = try #require(readOnB.object)
            update["client_name"] = .string("updated on B")
            let updateOnB = try await b.request(.PUT, uri, token: token, json: JSONWriter.string(.object(update)))
            #expect(updateOnB.status == 200)
            let readOnA = try await a.request(.GET, uri, token: token)
            #expect(readOnA.object?["client_name"] == .string("updated on B"))
            #expect(try await a.request(.DELETE, uri, token: token).status == 204)
            let afterDelete = try await b.request(.GET, uri, token: token)
            #expect(afterDelete.status == 401)

            // An access token issued by A, introspected on B (which then remembers its signature),
            // revoked on A: inactive on B at the next request.
            let machine = try await a.request(.POST, "/iam/api/client-registration", json: #"{"grant_types":["client_credentials"]}"#)
            let id = try #require(machine.object?["client_id"]?.stringValue), secret = try #require(machine.object?["client_secret"]?.stringValue)
            let accessToken = try await a.tokenRequest(id: id, secret: secret)
            for _ in 0..<2 {
                #expect(try await b.formRequest("/introspect", id: id, secret: secret, form: "token=\(accessToken)").object?["active"] == .bool(true))
            }
            #expect(try await a.formRequest("/revoke", id: id, secret: secret, form: "token=\(accessToken)").status == 200)
            #expect(try await b.formRequest("/introspect", id: id, secret: secret, form: "token=\(accessToken)").object == JSONObject([("active", .bool(false))]))

            // Both instances publish the same keys.
            let jwksA = try await a.request(.GET, "/jwks"), jwksB = try await b.request(.GET, "/jwks")
            #expect(jwksA.object == jwksB.object)
            try await a.stop()
            try await b.stop()
            await TestPostgres.dropDatabase(database, serverURL: TestPostgres.url!)
        }

        @Test("SIGKILL in the middle of concurrent registrations loses no registration that got a 201", arguments: StoreKind.allCases)
        func crashSafety(_ kind: StoreKind) async throws {
            guard let database = try await kind.freshDatabase() else {
                #expect(kind == .postgres && !TestPostgres.isConfigured)
                return
            }
            let server = try ServerProcess(databasePath: database)
            try await server.start()
            struct Confirmed: Sendable { let uri: String; let token: String; let name: String }
            let confirmed = ConfirmedList<Confirmed>()
            let workers = 8
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for worker in 0..<workers {
                        group.addTask {
                            var n = 0
                            while !Task.isCancelled {
                                n += 1
                                let name = "crash-\(worker)-\(n)"
                                guard let reply = try? await server.request(.POST, "/iam/api/client-registration",
                                                                            json: #"{"redirect_uris":["https://c.example/cb"],"client_name":"\#(name)"}"#)
                                else { return }  // the connection died with the server
                                if reply.status == 201, let o = reply.object, let uri = o["registration_client_uri"]?.stringValue,
                                   let token = o["registration_access_token"]?.stringValue {
                                    confirmed.append(Confirmed(uri: uri, token: token, name: name))
                                }
                            }
                        }
                    }
                }
            }
            // Let the load build up, then kill the server without warning.
            let deadline = ContinuousClock.now + .seconds(20)
            while confirmed.count < 60 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try await server.stop(signal: SIGKILL)
            load.cancel()
            await load.value
            let acknowledged = confirmed.all
            #expect(acknowledged.count >= 60, "too few registrations before the kill: \(acknowledged.count)")

            try await server.start()
            var lost: [String] = []
            for client in acknowledged {
                let reply = try await server.request(.GET, client.uri, token: client.token)
                if reply.status != 200 || reply.object?["client_name"] != .string(client.name) { lost.append(client.name) }
            }
            #expect(lost.isEmpty, "registrations lost after SIGKILL on \(kind): \(lost.count) of \(acknowledged.count)")
            try await server.stop()
            if kind == .postgres { await TestPostgres.dropDatabase(database, serverURL: TestPostgres.url!) }
        }

        @Test("a PostgreSQL outage gives quick 503s, and service resumes without a restart",
              .enabled(if: TestPostgres.isOutageConfigured, Comment(rawValue: TestPostgres.outageSkipReason)))
        func outage() async throws {
            let server = try #require(TestPostgres.outageURL)
            let control = try #require(TestPostgres.outageControl)
            let database = try await TestPostgres.freshDatabase(on: server, prefix: "outage")
            let registrar = try ServerProcess(databasePath: database)
            try await registrar.start(extraArguments: ["--database-timeout", "2"])
            let created = try await registrar.request(.POST, "/iam/api/client-registration", json: seedRequest)
            let uri = try #require(created.object?["registration_client_uri"]?.stringValue)
            let token = try #require(created.object?["registration_access_token"]?.stringValue)

            try Self.run(control, "stop")
            do {
                var durations: [Duration] = []
                for _ in 0..<6 {
                    let start = ContinuousClock.now
                    let reply = try await registrar.request(.GET, uri, token: token)
                    durations.append(ContinuousClock.now - start)
                    #expect(reply.status == 503)
                    #expect(reply.object?["error"] == .string("temporarily_unavailable"))
                    #expect(reply.headers.first(name: "Retry-After") != nil)
                }
                #expect(durations.allSatisfy { $0 < .seconds(3) }, "503s were not quick: \(durations)")
                #expect(durations.dropFirst().allSatisfy { $0 < .seconds(1) }, "later 503s did not fail fast: \(durations)")
                let registration = try await registrar.request(.POST, "/iam/api/client-registration", json: seedRequest)
                #expect(registration.status == 503)
                #expect(registrar.isRunning)
            } catch {
                try? Self.run(control, "start")
                throw error
            }
            try Self.run(control, "start")

            let deadline = ContinuousClock.now + .seconds(30)
            var status = 0
            while ContinuousClock.now < deadline {
                status = try await registrar.request(.GET, uri, token: token).status
                if status == 200 { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(status == 200, "service did not resume after the database came back")
            #expect(try await registrar.request(.POST, "/iam/api/client-registration", json: seedRequest).status == 201)
            try await registrar.stop()
            await TestPostgres.dropDatabase(database, serverURL: server)
        }

        /// Runs the outage control command. `system` rather than `Process`: `pg_ctl start` leaves a
        /// daemon behind that keeps Foundation's exit-detection descriptor open, so `waitUntilExit`
        /// would never return.
        static func run(_ command: String, _ argument: String) throws {
            let status = system("'\(command)' \(argument) </dev/null >/dev/null 2>&1")
            guard status == 0 else { throw Failure("\(command) \(argument) failed with status \(status)") }
        }
    }
}

/// A list that concurrent tasks append to.
final class ConfirmedList<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []
    func append(_ item: Element) { lock.lock(); items.append(item); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return items.count }
    var all: [Element] { lock.lock(); defer { lock.unlock() }; return items }
}
