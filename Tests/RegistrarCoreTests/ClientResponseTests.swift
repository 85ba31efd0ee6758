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

    /// A generator of registration bodies (SplitMix64, seeded: the same bodies on every run).
    struct Bodies {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func chance() -> Bool { next() % 2 == 0 }
        mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }
        mutating func text() -> String {
            let pieces = ["app", " ", "Ünïcødé", "€", "\"q\"", "back\\slash", "/path", "日本", "😀", "tab\t", "é"]
            return (0..<(1 + Int(next() % 4))).map { _ in pick(pieces) }.joined()
        }
        mutating func body() -> JSONObject {
            var members: [(String, JSONValue)] = []
            let native = chance()
            members.append(("redirect_uris", .array((0...(next() % 2)).map { i in
                .string(native ? "http://127.0.0.1:\(8000 + i)/cb" : "https://app\(i).example/cb?x=\(next() % 100)") })))
            if native { members.append(("application_type", .string("native"))) }
            if chance() { members.append(("client_name", .string(text()))) }
            for tag in ["fr", "de-CH", "ja"] where chance() { members.append(("client_name#\(tag)", .string(text()))) }
            if chance() { members.append(("client_description", .string(text() + "\n" + text()))) }
            if chance() { members.append(("contacts", .array([.string("a\(next() % 9)@example.org"), .string("ops@example.net")]))) }
            if chance() { members.append(("scope", .string(pick(["openid", "openid email profile", "openid offline_access"])))) }
            let grants = pick([["authorization_code"], ["authorization_code", "refresh_token"], ["client_credentials"]])
            members.append(("grant_types", .array(grants.map(JSONValue.string))))
            if grants == ["client_credentials"] { members.append(("response_types", .array([]))) }
            members.append(("token_endpoint_auth_method", .string(pick(["client_secret_basic", "client_secret_post", "none", "private_key_jwt"]))))
            if chance() { members.append(("require_auth_time", .bool(chance()))) }
            if chance() { members.append(("default_max_age", .int(Int64(next() % 86_400)))) }
            if chance() { members.append(("logo_uri", .string("https://app.example/logo.png"))) }
            if chance() { members.append(("software_id", .string("sw-\(next() % 1000)"))) }
            if chance() { members.append(("software_version", .string("1.\(next() % 10)"))) }
            members.append(("jwks", .object(JSONObject([("keys", .array([.object(JSONObject([
                ("kty", .string("EC")), ("crv", .string("P-256")), ("use", .string("sig")), ("kid", .string(text())),
                ("x", .string("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4")), ("y", .string("4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM")),
            ]))]))]))))
            return JSONObject(members)
        }
    }

    @Test("for 300 generated registrations, the read's response is the registration's without the secret, byte for byte")
    func generated() async throws {
        var settings = RegistrarSettings()
        settings.policies["anonymous"] = RegistrationPolicy(name: "anonymous")
        let f = try await ServiceFixture(settings: settings)
        var bodies = Bodies(state: 2026)
        var accepted = 0
        for _ in 0..<300 {
            let response: ClientResponse
            do { response = try await f.service.register(body: JSONWriter.bytes(.object(bodies.body()))) } catch is RegistrarError { continue }
            accepted += 1
            let id = response.client.clientID
            let token = try #require(response.registrationAccessToken)
            let read = try await f.service.read(clientID: id, bearer: token)
            let registered = ClientResponse(client: response.client, clientSecret: nil, registrationAccessToken: token,
                                            registrationClientURI: response.registrationClientURI)
            #expect(String(decoding: read.bytes, as: UTF8.self) == String(decoding: registered.bytes, as: UTF8.self))
        }
        #expect(accepted >= 150, "only \(accepted) of 300 generated bodies were accepted")
    }

    /// A registration whose `jwks` carries a member nested `depth` arrays deep.
    static func nested(_ depth: Int) -> String {
        let deep = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        return #"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","deep":"#
            + deep + "}]}}"
    }

    @Test("whatever nesting a registration may have, its stored client decodes again (the document nests it a level deeper)")
    func deepestRegistrationReadsBack() async throws {
        let f = try await ServiceFixture()
        // The body's object, jwks, keys, the key: four levels before `deep`; 60 more make 64, the limit.
        let created = try await f.service.register(body: Array(Self.nested(60).utf8))
        let token = try #require(created.registrationAccessToken)
        let row = try #require(try await f.store.storedClient(id: created.client.clientID))
        #expect(try row.client(id: created.client.clientID) == created.client)
        // An update echoing the response works too (it decodes the stored client first).
        var echo = created.json
        echo["client_secret"] = nil
        _ = try await f.service.update(clientID: created.client.clientID, bearer: token, body: JSONWriter.bytes(.object(echo)))
        await #expect(throws: RegistrarError.self) { _ = try await f.service.register(body: Array(Self.nested(61).utf8)) }
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
