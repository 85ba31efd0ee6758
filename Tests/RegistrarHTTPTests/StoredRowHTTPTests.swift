import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RegistrarCore
import RegistrarHTTP
import RegistrarSQL
@testable import RegistrarSQLite
import RegistrarTesting
import Testing

/// A read answers from the stored row without decoding the client; a row it cannot read must fail
/// like any internal error, and only that client's requests.
@Suite("HTTP: a stored row that cannot be read")
struct StoredRowHTTPTests {
    /// The real router over a real SQLite file, which the test may damage with SQL.
    static func withRouter(_ body: @Sendable (any TestClientProtocol, SQLiteStore, RegistrationService) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("registrar-row-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try await SQLiteStore.open(path: folder.appendingPathComponent("db.sqlite").path, logger: Logger(label: "test"))
        let service = RegistrationService(configuration: ServerConfiguration(issuer: HTTPFixture.issuer), store: database.store,
                                          keys: try await TestKeys.keys())
        let app = Application(router: buildRouter(service: service, tokens: nil, options: HTTPOptions()))
        do {
            try await app.test(.router) { client in try await body(client, database, service) }
            await database.close()
        } catch {
            await database.close()
            throw error
        }
    }

    @Test("a client whose stored document is unreadable: 500 server_error on GET and PUT, nothing internal said; it can still delete itself; other clients unaffected")
    func unreadableDocument() async throws {
        try await Self.withRouter { client, database, service in
            let (broken, brokenToken, _) = try await registerSeedClient(client)
            let (fine, fineToken, fineBody) = try await registerSeedClient(client)
            // Cut the document off inside its metadata, as a damaged file or a foreign write might.
            _ = try await database.writer.query("UPDATE clients SET document = substr(document, 1, 40) WHERE client_id = '\(broken)'")
            let path = "/iam/api/client-registration/\(broken)"
            for method in [HTTPRequest.Method.get, .put] {
                try await client.execute(uri: path, method: method, headers: bearer(brokenToken) + jsonHeaders,
                                         body: ByteBuffer(string: seedBody)) { response in
                    #expect(response.status == .internalServerError, "\(method)")
                    #expect(response.oauthError?.code == "server_error", "\(method)")
                    let text = String(buffer: response.body)
                    #expect(!text.contains("metadata") && !text.contains(broken) && !text.contains("document"), "\(text)")
                }
            }
            // The failed reads were neither a read nor a use of the client.
            try await service.audit?.flush()
            let events = try await database.store.auditEvents(clientID: broken, since: nil, limit: 100)
            #expect(!events.contains { $0.kind == .read }, "\(events.map(\.kind))")
            #expect(await service.uses.pendingCount == 0)
            try await client.execute(uri: path, method: .delete, headers: bearer(brokenToken)) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: path, method: .get, headers: bearer(brokenToken)) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/iam/api/client-registration/\(fine)", method: .get, headers: bearer(fineToken)) { response in
                #expect(response.status == .ok)
                var expected = fineBody
                expected["client_secret"] = nil
                let object = try response.object
                #expect(object == expected)
            }
        }
    }

    @Test("stored metadata that no longer validates is the server's failure (500), never the request's (400)")
    func metadataThatNoLongerValidates() async throws {
        try await Self.withRouter { client, database, _ in
            let (id, token, registered) = try await registerSeedClient(client)
            _ = try await database.writer.query(
                "UPDATE clients SET document = replace(document, '\"contacts\":[\"test@iam.test\"]', '\"contacts\":\"test@iam.test\"') WHERE client_id = '\(id)'")
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .put, headers: bearer(token) + jsonHeaders,
                                     body: ByteBuffer(bytes: JSONWriter.bytes(.object(registered)))) { response in
                #expect(response.status == .internalServerError)
                #expect(response.oauthError?.code == "server_error")
            }
            // Registration's own checks are unaffected.
            _ = try await registerSeedClient(client)
        }
    }
}
