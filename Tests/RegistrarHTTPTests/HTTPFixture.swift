import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RegistrarCore
import RegistrarHTTP
import RegistrarSQL
import RegistrarSQLite
import RegistrarTesting
import Testing

/// The real router over a real SQLite file.
struct HTTPFixture {
    static let issuer = "https://id.example.org"

    /// Runs a test against the router; the database is closed afterwards.
    static func withRouter<T>(
        issuer: String = issuer, store: (any ClientStore)? = nil, settings: RegistrarSettings = RegistrarSettings(),
        options: HTTPOptions = HTTPOptions(), statements: SoftwareStatementVerifier? = nil, clock: any WallClock = SystemWallClock(),
        withTokens: Bool = false, configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (any TestClientProtocol, RegistrationService) async throws -> T
    ) async throws -> T {
        var configuration = ServerConfiguration(issuer: issuer)
        configure(&configuration)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("registrar-http-\(UUID().uuidString)")
        let database = try await SQLiteStore.open(path: folder.appendingPathComponent("db.sqlite").path, logger: Logger(label: "test"))
        let service = RegistrationService(configuration: configuration, store: store ?? database.store,
                                          keys: try await TestKeys.keys(), settings: settings, statements: statements, clock: clock)
        var tokens: TokenService?
        if withTokens {
            let authenticator = ClientAuthenticator(
                store: store ?? database.store, tokenState: database.store, keys: service.keyRing, keySource: NoClientKeySource(), clock: clock,
                uses: service.uses, audiences: TokenSettings().assertionAudience.audiences(issuer: issuer).values, logger: Logger(label: "test"))
            tokens = TokenService(configuration: service.configuration, settings: TokenSettings(), store: store ?? database.store,
                                  tokenState: database.store, keys: service.keyRing, authenticator: authenticator, clock: clock,
                                  random: SystemRandomSource(), logger: Logger(label: "test"))
        }
        let app = Application(router: buildRouter(service: service, tokens: tokens, options: options))
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            let result = try await app.test(.router) { client in try await body(client, service) }
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }
}

let seedBody = #"""
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

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

/// Settings whose anonymous policy allows every grant type the server supports.
var permissiveSettings: RegistrarSettings {
    var settings = RegistrarSettings()
    settings.policies["anonymous"] = RegistrationPolicy(name: "anonymous")
    return settings
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

extension TestResponse {
    /// The body as a JSON object.
    var object: JSONObject {
        get throws {
            let bytes = Array(buffer: body)
            guard case .object(let o) = try JSONParser.parse(bytes) else { throw RegistrarError.invalidRequest("response body is not a JSON object") }
            return o
        }
    }

    /// The `{error, error_description}` pair of an OAuth error body.
    var oauthError: (code: String, description: String)? {
        guard let o = try? object, case .string(let code)? = o["error"], case .string(let d)? = o["error_description"] else { return nil }
        return (code, d)
    }
}

/// Registers the seed's client and returns (client_id, token, response body).
func registerSeedClient(_ client: any TestClientProtocol, body: String = seedBody) async throws -> (String, String, JSONObject) {
    try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) { response in
        #expect(response.status == .created)
        let object = try response.object
        return (object["client_id"]?.stringValue ?? "", object["registration_access_token"]?.stringValue ?? "", object)
    }
}
