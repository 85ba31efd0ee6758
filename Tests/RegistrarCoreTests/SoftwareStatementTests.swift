import Foundation
import RegistrarCore
import RegistrarTesting
import Testing

/// A directory that signs software statements with its own ES256 key.
struct StatementDirectory {
    static let issuer = "https://directory.example"
    let key: SigningKey
    var trusted: TrustedStatementIssuer { TrustedStatementIssuer(issuer: Self.issuer, jwks: JSONObject([("keys", .array([.object(key.publicJWK)]))])) }

    init() throws { key = try SigningKey.generate(.es256, createdAt: Timestamp(milliseconds: 0)) }

    func statement(_ claims: [(String, JSONValue)], issuer: String = StatementDirectory.issuer) throws -> String {
        try JWTSigner.sign(claims: JSONObject([("iss", .string(issuer))] + claims), with: key)
    }
}

@Suite("Software statements (RFC 7591 §2.3, §3.1.1)")
struct SoftwareStatementTests {
    func fixture(_ directory: StatementDirectory, require: Bool = false) async throws -> ServiceFixture {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.requireSoftwareStatement = require
        var settings = settingsWith([anonymous])
        settings.trustedStatementIssuers = [directory.trusted]
        return try await ServiceFixture(settings: settings, statements: try await SoftwareStatementVerifier(trustedIssuers: [directory.trusted]))
    }

    @Test("members in the statement win over the request's, and the statement is returned unmodified")
    func precedence() async throws {
        let directory = try StatementDirectory()
        let f = try await fixture(directory)
        let statement = try directory.statement([("client_name", .string("B")), ("software_id", .string("app-42")),
                                                 ("redirect_uris", .array([.string("https://b.example/cb")])),
                                                 ("exp", .int(1_700_000_000 + 3600))])
        let response = try await f.service.register(body: Array(#"""
            {"client_name":"A","redirect_uris":["https://a.example/cb"],"contacts":["a@a.example"],"software_statement":"\#(statement)"}
            """#.utf8))
        let json = response.json
        #expect(json["client_name"] == .string("B"))
        #expect(json["software_id"] == .string("app-42"))
        #expect(json["redirect_uris"] == .array([.string("https://b.example/cb")]))
        #expect(json["contacts"] == .array([.string("a@a.example")]), "members only in the request are kept")
        #expect(json["software_statement"] == .string(statement))
        let read = try await f.service.read(clientID: response.client.clientID, bearer: response.registrationAccessToken)
        #expect(read.json["software_statement"] == .string(statement))
        // An update echoing the registration, after the statement expired, still applies it.
        f.clock.advance(milliseconds: 7_200_000)
        var echo = read.json
        echo["client_name"] = .string("changed in the body")
        let updated = try await f.service.update(clientID: response.client.clientID, bearer: response.registrationAccessToken,
                                                 body: JSONWriter.bytes(.object(echo)))
        #expect(updated.json["client_name"] == .string("B"), "the statement still wins on update")
        // A different, expired statement is refused.
        let stale = try directory.statement([("client_name", .string("C")), ("exp", .int(1_700_000_000))])
        echo["software_statement"] = .string(stale)
        await #expect(throws: RegistrarError(code: .invalidSoftwareStatement, status: 400, description: "")) {
            _ = try await f.service.update(clientID: response.client.clientID, bearer: response.registrationAccessToken,
                                           body: JSONWriter.bytes(.object(echo)))
        }
        let unchanged = try await f.service.read(clientID: response.client.clientID, bearer: response.registrationAccessToken)
        #expect(unchanged.json["software_statement"] == .string(statement), "a refused update changes nothing")
    }

    @Test("an update that leaves the statement out, or sends null or \"\", removes it and its members (RFC 7592 §2.2)",
          arguments: [JSONValue?.none, .null, .string("")])
    func removedOnUpdate(_ removal: JSONValue?) async throws {
        let directory = try StatementDirectory()
        let f = try await fixture(directory)
        let statement = try directory.statement([("client_name", .string("B")), ("software_id", .string("app-42"))])
        let response = try await f.service.register(body: Array(#"""
            {"client_name":"A","redirect_uris":["https://a.example/cb"],"software_statement":"\#(statement)"}
            """#.utf8))
        let clientID = response.client.clientID, token = response.registrationAccessToken
        var body = try await f.service.read(clientID: clientID, bearer: token).json
        body["software_statement"] = removal
        body["client_name"] = .string("not B")
        body["software_id"] = nil
        let removed = try await f.service.update(clientID: clientID, bearer: token, body: JSONWriter.bytes(.object(body)))
        #expect(removed.json["client_name"] == .string("not B"), "the statement's members no longer apply")
        #expect(removed.json["software_id"] == nil)
        #expect(removed.json["software_statement"] == nil)
        let after = try await f.service.read(clientID: clientID, bearer: token).json
        #expect(after["software_statement"] == nil)
        #expect(after["client_name"] == .string("not B"))
    }

    @Test("under a policy that requires a statement, an update must send one: leaving it out or removing it is refused")
    func requiredOnUpdate() async throws {
        let directory = try StatementDirectory()
        let f = try await fixture(directory, require: true)
        let statement = try directory.statement([("client_name", .string("bound"))])
        let response = try await f.service.register(body: Array(#"""
            {"redirect_uris":["https://a.example/cb"],"software_statement":"\#(statement)"}
            """#.utf8))
        let clientID = response.client.clientID, token = response.registrationAccessToken
        var body = try await f.service.read(clientID: clientID, bearer: token).json
        body["client_name"] = .string("free")
        let echoed = try await f.service.update(clientID: clientID, bearer: token, body: JSONWriter.bytes(.object(body)))
        #expect(echoed.json["software_statement"] == .string(statement), "the stored statement sent back is kept")
        #expect(echoed.json["client_name"] == .string("bound"))
        for removal in [JSONValue?.none, .null, .string("")] {
            body["software_statement"] = removal
            await #expect(throws: RegistrarError(code: .invalidSoftwareStatement, status: 400, description: "")) {
                _ = try await f.service.update(clientID: clientID, bearer: token, body: JSONWriter.bytes(.object(body)))
            }
        }
        let stored = try await f.service.read(clientID: clientID, bearer: token).json
        #expect(stored["software_statement"] == .string(statement), "a refused update changes nothing")
        #expect(stored["client_name"] == .string("bound"))
    }

    @Test("each bad statement has its error code", arguments: [
        "not.a.jwt", "garbage", "a.b", "",
    ])
    func malformed(_ statement: String) async throws {
        let directory = try StatementDirectory()
        let f = try await fixture(directory)
        let body = #"{"redirect_uris":["https://a.example/cb"],"software_statement":"\#(statement)"}"#
        if statement.isEmpty {
            _ = try await f.registerJSON(body)
        } else {
            await #expect(throws: RegistrarError(code: .invalidSoftwareStatement, status: 400, description: "")) { _ = try await f.registerJSON(body) }
        }
    }

    @Test("unsigned, forged, expired, credential-carrying or issuer-less statements are invalid; an unknown issuer is unapproved")
    func refusals() async throws {
        let directory = try StatementDirectory()
        let f = try await fixture(directory)
        let other = try StatementDirectory()
        let header = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8))
        let claims = Base64URL.encode(Array(#"{"iss":"https://directory.example","client_name":"x"}"#.utf8))
        let cases: [(String, RegistrarError.Code)] = [
            ("\(header).\(claims).", .invalidSoftwareStatement),
            (try other.statement([("client_name", .string("x"))]), .invalidSoftwareStatement),
            (try directory.statement([("exp", .int(1_600_000_000))]), .invalidSoftwareStatement),
            (try directory.statement([("client_secret", .string("mine"))]), .invalidSoftwareStatement),
            (try JWTSigner.sign(claims: JSONObject([("client_name", .string("x"))]), with: directory.key), .invalidSoftwareStatement),
            (try directory.statement([("client_name", .string("x"))], issuer: "https://elsewhere.example"), .unapprovedSoftwareStatement),
        ]
        for (statement, code) in cases {
            do {
                _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"software_statement":"\#(statement)"}"#)
                Issue.record("accepted a statement that should give \(code)")
            } catch let error as RegistrarError {
                #expect(error.code == code, "\(error)")
                #expect(error.status == 400)
            }
        }
        #expect(try await f.store.count() == 0)
    }

    @Test("a signature that is not canonical base64url is reported as such, not as a wrong algorithm")
    func nonCanonicalSignature() async throws {
        let directory = try StatementDirectory()
        let f = try await fixture(directory)
        let statement = try directory.statement([("client_name", .string("x"))])
        // An ES256 signature is 64 bytes, 86 characters: the last one carries 2 unused bits, which
        // must be zero. Setting one leaves the bytes the same for a lenient decoder.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let last = statement.last!, index = alphabet.firstIndex(of: last)!
        let forged = String(statement.dropLast()) + String(alphabet[index ^ 1])
        do {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"software_statement":"\#(forged)"}"#)
            Issue.record("a statement with a non-canonical signature was accepted")
        } catch let error as RegistrarError {
            #expect(error.code == .invalidSoftwareStatement)
            #expect(error.errorDescription.contains("base64url"), "\(error.errorDescription)")
        }
        #expect(await f.store.count() == 0)
    }

    @Test("a statement with critical header extensions is invalid (RFC 7515 §4.1.11)")
    func critical() async throws {
        let directory = try StatementDirectory()
        let f = try await fixture(directory)
        let header = JSONObject([("alg", .string("ES256")), ("crit", .array([.string("urn:example:ext")])), ("urn:example:ext", .bool(true))])
        let claims = JSONObject([("iss", .string(StatementDirectory.issuer)), ("client_name", .string("x"))])
        let input = Base64URL.encode(JSONWriter.bytes(.object(header))) + "." + Base64URL.encode(JSONWriter.bytes(.object(claims)))
        let statement = input + "." + Base64URL.encode(try directory.key.sign(Array(input.utf8)))
        do {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"software_statement":"\#(statement)"}"#)
            Issue.record("a statement with crit was accepted")
        } catch let error as RegistrarError {
            #expect(error.code == .invalidSoftwareStatement && error.errorDescription.contains("crit"), "\(error)")
        }
    }

    @Test("a policy can require a statement")
    func required() async throws {
        let directory = try StatementDirectory()
        let f = try await fixture(directory, require: true)
        await #expect(throws: RegistrarError(code: .invalidSoftwareStatement, status: 400, description: "")) {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#)
        }
        let statement = try directory.statement([("client_name", .string("ok"))])
        _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"software_statement":"\#(statement)"}"#)
    }

    @Test("a trusted issuer's key without a kid verifies statements")
    func keyWithoutKid() async throws {
        let directory = try StatementDirectory()
        var jwk = directory.key.publicJWK
        jwk["kid"] = nil
        let trusted = TrustedStatementIssuer(issuer: StatementDirectory.issuer, jwks: JSONObject([("keys", .array([.object(jwk)]))]))
        var settings = settingsWith([])
        settings.trustedStatementIssuers = [trusted]
        let f = try await ServiceFixture(settings: settings, statements: try await SoftwareStatementVerifier(trustedIssuers: [trusted]))
        let statement = try directory.statement([("client_name", .string("no kid"))])
        #expect(try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"software_statement":"\#(statement)"}"#)["client_name"] == .string("no kid"))
    }

    @Test("without trusted issuers, a statement cannot be approved")
    func noIssuers() async throws {
        let directory = try StatementDirectory()
        let f = try await ServiceFixture()
        let statement = try directory.statement([("client_name", .string("x"))])
        await #expect(throws: RegistrarError(code: .unapprovedSoftwareStatement, status: 400, description: "")) {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"software_statement":"\#(statement)"}"#)
        }
    }
}
