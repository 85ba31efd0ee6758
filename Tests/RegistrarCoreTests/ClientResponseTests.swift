@testable import RegistrarCore
import RegistrarTesting
import Testing

/// A read answers from the stored row (``StoredClientResponse``) without decoding the client; every
/// other response writes the decoded client (``ClientResponse``). The two must say the same.
@Suite("Client responses")
struct ClientResponseTests {
    static let uri = "https://id.example.org/iam/api/client-registration/x"

    /// The read's response from `row`, and the response written from the decoded row.
    static func both(_ row: StoredClientRow, id: String = "c1", token: String = "t.o.k") throws -> (stored: [UInt8], decoded: [UInt8]) {
        let stored = try StoredClientResponse(clientID: id, row: row, registrationAccessToken: token, registrationClientURI: uri)
        let decoded = ClientResponse(client: try row.client(id: id), clientSecret: nil, registrationAccessToken: token, registrationClientURI: uri)
        return (stored.bytes, decoded.bytes)
    }

    /// Clients that differ in every member the response takes from the document or the columns.
    static func variants() async throws -> [RegisteredClient] {
        let f = try await ServiceFixture()
        let (confidential, _) = try await f.register(seedRequest)
        let (public_, _) = try await f.register(#"""
            {"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","application_type":"native",
             "client_name":"quote\" back\\slash ünï €","client_name#fr":"Nom","client_name#de-CH":"Name",
             "client_description":"line one\nline\ttwo","require_auth_time":true,"default_max_age":3600,
             "jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
                              "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"sig","kid":"}]{\\\"x"}]},
             "contacts":["a@b.example","c@d.example"]}
            """#)
        var expiring = confidential.client
        expiring.expiresAt = Timestamp(milliseconds: 1_800_000_000_999)
        expiring.softwareStatement = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"
        expiring.active = false
        expiring.reuseRefreshToken = false
        expiring.clearAccessTokensOnRefresh = false
        expiring.secretExpiresAt = 1_900_000_000
        var static_ = public_.client
        static_.dynamicallyRegistered = false
        static_.metadata.requireAuthTime = false
        static_.admin = true
        static_.statusChangedBy = "admin-1"
        return [confidential.client, public_.client, expiring, static_]
    }

    @Test("a read's response is byte for byte the one written from the decoded client")
    func sameAsDecoded() async throws {
        for client in try await Self.variants() {
            let (stored, decoded) = try Self.both(StoredClientRow(client), id: client.clientID)
            #expect(String(decoding: stored, as: UTF8.self) == String(decoding: decoded, as: UTF8.self))
        }
    }

    @Test("the members the response takes from the client are all there")
    func members() async throws {
        let clients = try await Self.variants()
        let read = try StoredClientResponse(clientID: clients[2].clientID, row: StoredClientRow(clients[2]), registrationAccessToken: "t.o.k",
                                            registrationClientURI: Self.uri).json
        #expect(read["client_id"] == .string(clients[2].clientID))
        #expect(read["software_statement"] == .string("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"))
        #expect(read["active"] == .bool(false))
        #expect(read["reuse_refresh_token"] == .bool(false))
        #expect(read["client_expires_at"] == .int(1_800_000_000))
        #expect(read["client_secret_expires_at"] == .int(1_900_000_000))
        #expect(read["registration_access_token"] == .string("t.o.k"))
        #expect(read["client_secret"] == nil)
        let other = try StoredClientResponse(clientID: clients[1].clientID, row: StoredClientRow(clients[1]), registrationAccessToken: "t.o.k",
                                             registrationClientURI: Self.uri).json
        #expect(other["require_auth_time"] == .bool(true))
        #expect(other["client_name#de-CH"] == .string("Name"))
        #expect(other["client_secret_expires_at"] == nil, "a public client has no secret")
        #expect(other.members.map(\.key).filter { $0 == "require_auth_time" }.count == 1)
    }

    /// Stored documents are what ``ClientMetadata/jsonMembers()`` wrote: its order, no spaces
    /// inside values. Around members the scanner allows spaces.
    @Test("documents without the optional members read as decoding reads them")
    func defaults() throws {
        for document in [
            #"{"metadata":{}}"#,
            #"{"metadata":{"client_name":"x","require_auth_time":false},"active":1,"reuse_refresh_token":null,"secret_expires_at":1.5}"#,
            #"{ "metadata" : { "client_name" :"n", "scope" : "a b"} , "software_statement" : "a\/b" , "extra" : [1, {"}": "]"}] }"#,
        ] {
            for secret in [nil, "digest"] as [String?] {
                let row = StoredClientRow(document: document, createdAt: 1_700_000_000_123, updatedAt: 1_700_000_000_123,
                                          secretDigest: secret, registrationTokenDigest: "d", version: 1, policy: "anonymous",
                                          dynamicallyRegistered: true, expiresAt: nil, lastUsedAt: nil)
                let (stored, decoded) = try Self.both(row)
                #expect(String(decoding: stored, as: UTF8.self) == String(decoding: decoded, as: UTF8.self), "\(document)")
            }
        }
    }

    @Test("an unreadable document is reported as corrupt, as decoding reports it")
    func corrupt() throws {
        for document in ["", "{", "[]", #"{"metadata":[]}"#, #"{"active":true}"#, #"{"metadata":{"a":"b}}"#, #"{"metadata":{"a" "b"}}"#] {
            let row = StoredClientRow(document: document, createdAt: 0, updatedAt: 0, secretDigest: nil, registrationTokenDigest: "d",
                                      version: 1, policy: "anonymous", dynamicallyRegistered: true, expiresAt: nil, lastUsedAt: nil)
            #expect(throws: StoreError.self, "\(document)") {
                _ = try StoredClientResponse(clientID: "c1", row: row, registrationAccessToken: "t", registrationClientURI: Self.uri)
            }
            #expect(throws: (any Error).self, "\(document)") { _ = try row.client(id: "c1") }
        }
    }
}
