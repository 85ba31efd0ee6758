import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RegistrarCore
import RegistrarHTTP
import RegistrarTesting
import Testing

/// Creates an administration client in the store and returns an access token with these scopes.
func adminToken(_ client: any TestClientProtocol, _ service: RegistrationService, scope: String = "iam:admin.read iam:admin.write") async throws -> String {
    try await adminClient(client, service, scope: scope).token
}

/// Creates an administration client in the store and returns its ID and an access token with these scopes.
func adminClient(_ client: any TestClientProtocol, _ service: RegistrationService,
                 scope: String = "iam:admin.read iam:admin.write") async throws -> (id: String, token: String) {
    let admin = AdminService(registration: service)
    let view = try await admin.create(body: Array(#"{"client_name":"ops"}"#.utf8), admin: true, actor: .commandLine)
    let id = try #require(view["client_id"]?.stringValue), secret = try #require(view["client_secret"]?.stringValue)
    let token = try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, secret),
                                         body: ByteBuffer(string: "grant_type=client_credentials&scope=\(scope.replacingOccurrences(of: " ", with: "+"))")) { response in
        #expect(response.status == .ok, "admin token: \(String(buffer: response.body))")
        return try response.object["access_token"]?.stringValue ?? ""
    }
    return (id, token)
}

@Suite("HTTP: administration API")
struct AdminHTTPTests {
    @Test("no token 401, bad token 401 invalid_token, a token without the scope 403 insufficient_scope; read scope cannot write")
    func authorization() async throws {
        try await withTokenRouter { client, service in
            try await client.execute(uri: "/iam/api/clients", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
            try await client.execute(uri: "/iam/api/clients", method: .get, headers: bearer("a.b.c")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
            }
            let (id, secret) = try await registerMachine(client)
            let plain = try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, secret),
                                                 body: ByteBuffer(string: "grant_type=client_credentials")) { try $0.object["access_token"]?.stringValue ?? "" }
            try await client.execute(uri: "/iam/api/clients", method: .get, headers: bearer(plain)) { response in
                #expect(response.status == .forbidden)
                #expect(response.oauthError?.code == "insufficient_scope")
                #expect(response.headers[.wwwAuthenticate] == #"Bearer error="insufficient_scope", scope="iam:admin.read""#)
            }
            let reader = try await adminToken(client, service, scope: "iam:admin.read")
            try await client.execute(uri: "/iam/api/clients", method: .get, headers: bearer(reader)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/iam/api/clients/\(id)/disable", method: .patch, headers: bearer(reader)) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test("an administration client gets no registration access token, one from before cannot change it, and taking its scopes ends its tokens' access")
    func administrationClientCredentials() async throws {
        try await withTokenRouter { client, service in
            let (id, token) = try await adminClient(client, service)
            try await client.execute(uri: "/iam/api/clients/\(id)/rat", method: .post, headers: bearer(token)) { response in
                #expect(response.status == .badRequest && response.oauthError?.code == "invalid_request")
            }
            // A registration access token issued to it by an earlier version: no secret, no change.
            let stored = try #require(try await service.store.client(id: id))
            var legacy = stored
            let rat = try service.makeRegistrationToken(clientID: id, now: service.clock.now())
            legacy.registrationTokenDigest = SecretDigest.of(rat)
            legacy.version += 1
            #expect(try await service.store.update(legacy, replacing: stored))
            try await client.execute(uri: "/iam/api/client-registration/\(id)/secret", method: .post, headers: bearer(rat)) { response in
                #expect(response.status == .forbidden && response.oauthError?.code == "access_denied")
            }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .put, headers: bearer(rat) + jsonHeaders,
                                     body: ByteBuffer(string: #"{"client_id":"\#(id)","client_name":"ops"}"#)) { response in
                #expect(response.status == .forbidden)
            }
            // The operator takes the administration scopes away: the token issued before stops at once.
            try await client.execute(uri: "/iam/api/clients", method: .get, headers: bearer(token)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/iam/api/clients/\(id)", method: .put, headers: bearer(token) + jsonHeaders,
                                     body: ByteBuffer(string: #"{"client_id":"\#(id)","client_name":"ops","grant_types":["client_credentials"],"scope":"reports.read"}"#)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/iam/api/clients", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .forbidden && response.oauthError?.code == "insufficient_scope")
            }
        }
    }

    @Test("dynamic registration never obtains the administration scopes")
    func noAdminScopesForDCR() async throws {
        try await withTokenRouter { client, _ in
            let body = #"{"grant_types":["client_credentials"],"scope":"read iam:admin.read iam:admin.write"}"#
            let (_, _, object) = try await registerSeedClient(client, body: body)
            #expect(object["scope"] == .string("read"))
            let id = object["client_id"]!.stringValue!, secret = object["client_secret"]!.stringValue!
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, secret),
                                     body: ByteBuffer(string: "grant_type=client_credentials&scope=iam:admin.read")) { response in
                #expect(response.oauthError?.code == "invalid_scope")
            }
        }
    }

    @Test("paged list with a capped count, the dynamic-only filter, and 400 for a bad startIndex")
    func paging() async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            for _ in 0..<12 { _ = try await registerSeedClient(client) }
            try await client.execute(uri: "/iam/api/clients?count=5&startIndex=1", method: .get, headers: bearer(token)) { response in
                let o = try response.object
                #expect(o["totalResults"] == .int(13) && o["itemsPerPage"] == .int(5) && o["startIndex"] == .int(1))
                #expect(o["Resources"]?.arrayValue?.count == 5)
            }
            try await client.execute(uri: "/iam/api/clients?count=500&startIndex=11", method: .get, headers: bearer(token)) { response in
                let o = try response.object
                #expect(o["itemsPerPage"] == .int(3))
            }
            try await client.execute(uri: "/iam/api/clients?drOnly=true&count=100", method: .get, headers: bearer(token)) { response in
                let got = try response.object
                #expect(got["totalResults"] == .int(12), "the static admin client is not dynamically registered")
            }
            try await client.execute(uri: "/iam/api/clients?startIndex=0", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .badRequest)
            }
            // A count beyond 64 bits is a large count, capped like any other; a non-number is 400.
            try await client.execute(uri: "/iam/api/clients?count=99999999999999999999", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok)
                let o = try response.object
                #expect(o["itemsPerPage"] == .int(13))
            }
            for bad in ["1e3", "12x", "-", ""] {
                try await client.execute(uri: "/iam/api/clients?count=\(bad)", method: .get, headers: bearer(token)) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
        }
    }

    @Test("a static client whose every requested scope is reserved has no scope, as a registration; one that asks for none gets the defaults")
    func reservedOnlyScopes() async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            let created = try await client.execute(uri: "/iam/api/clients", method: .post, headers: bearer(token) + jsonHeaders,
                                                   body: ByteBuffer(string: #"{"grant_types":["client_credentials"],"scope":"iam:admin.read"}"#)) { response in
                #expect(response.status == .created)
                return try response.object
            }
            #expect(created["scope"] == nil, "\(String(describing: created["scope"]))")
            let id = try #require(created["client_id"]?.stringValue)
            try await client.execute(uri: "/iam/api/clients/\(id)", method: .put, headers: bearer(token) + jsonHeaders,
                                     body: ByteBuffer(string: #"{"grant_types":["client_credentials"],"scope":"iam:admin.write registration-token"}"#)) { response in
                #expect(response.status == .ok)
                let replaced = try response.object
                #expect(replaced["scope"] == nil)
            }
            let plain = try await client.execute(uri: "/iam/api/clients", method: .post, headers: bearer(token) + jsonHeaders,
                                                 body: ByteBuffer(string: #"{"grant_types":["client_credentials"]}"#)) { try $0.object }
            #expect(plain["scope"] != nil, "no scope asked: the defaults")
        }
    }

    @Test("create, read, replace, delete; secret and registration token rotation kill the old ones")
    func lifecycle() async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            let created = try await client.execute(uri: "/iam/api/clients", method: .post, headers: bearer(token) + jsonHeaders,
                                                   body: ByteBuffer(string: #"{"client_name":"batch","grant_types":["client_credentials"],"scope":"read iam:admin.write"}"#)) { response in
                #expect(response.status == .created)
                return try response.object
            }
            let id = try #require(created["client_id"]?.stringValue), oldSecret = try #require(created["client_secret"]?.stringValue)
            #expect(created["dynamically_registered"] == .bool(false))
            #expect(created["scope"] == .string("read"), "only --admin clients may hold the administration scopes")
            try await client.execute(uri: "/iam/api/clients/\(id)", method: .get, headers: bearer(token)) { response in
                let o = try response.object
                #expect(o["client_name"] == .string("batch") && o["client_secret"] == nil)
            }
            try await client.execute(uri: "/iam/api/clients/\(id)", method: .put, headers: bearer(token) + jsonHeaders,
                                     body: ByteBuffer(string: #"{"client_name":"renamed","grant_types":["client_credentials"],"scope":"read write"}"#)) { response in
                #expect(response.status == .ok)
                let got = try response.object
                #expect(got["client_name"] == .string("renamed"))
            }
            let newSecret = try await client.execute(uri: "/iam/api/clients/\(id)/secret", method: .post, headers: bearer(token)) { response in
                #expect(response.status == .created)
                return try response.object["client_secret"]?.stringValue ?? ""
            }
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, oldSecret), body: ByteBuffer(string: "grant_type=client_credentials")) { response in
                #expect(response.status == .unauthorized, "the old secret still works")
            }
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, newSecret), body: ByteBuffer(string: "grant_type=client_credentials")) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/iam/api/clients/\(id)", method: .delete, headers: bearer(token)) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/iam/api/clients/\(id)", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("a new registration access token replaces the old one at once")
    func ratRotation() async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            let (id, oldRAT, _) = try await registerSeedClient(client)
            let newRAT = try await client.execute(uri: "/iam/api/clients/\(id)/rat", method: .post, headers: bearer(token)) { response in
                #expect(response.status == .created)
                return try response.object["registration_access_token"]?.stringValue ?? ""
            }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(oldRAT)) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(newRAT)) { #expect($0.status == .ok) }
        }
    }

    @Test("a static client shows a registration_client_uri once it has a registration access token, and the token works there")
    func staticClientRegistrationURI() async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            let created = try await client.execute(uri: "/iam/api/clients", method: .post, headers: bearer(token) + jsonHeaders,
                                                   body: ByteBuffer(string: #"{"client_name":"static","grant_types":["client_credentials"],"scope":"read"}"#)) { response in
                #expect(response.status == .created)
                return try response.object
            }
            let id = try #require(created["client_id"]?.stringValue)
            #expect(created["registration_client_uri"] == nil && created["registration_access_token"] == nil)
            let rotated = try await client.execute(uri: "/iam/api/clients/\(id)/rat", method: .post, headers: bearer(token)) { response in
                #expect(response.status == .created)
                return try response.object
            }
            let uri = "\(HTTPFixture.issuer)/iam/api/client-registration/\(id)"
            #expect(rotated["registration_client_uri"] == .string(uri))
            let rat = try #require(rotated["registration_access_token"]?.stringValue)
            try await client.execute(uri: "/iam/api/clients/\(id)", method: .get, headers: bearer(token)) { response in
                let o = try response.object
                #expect(o["registration_client_uri"] == .string(uri) && o["registration_access_token"] == nil)
            }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(rat)) { response in
                #expect(response.status == .ok)
                let o = try response.object
                #expect(o["registration_client_uri"] == .string(uri) && o["dynamically_registered"] == .bool(false))
            }
        }
    }

    @Test("a disabled client cannot authenticate and its owner gets 403 on PUT; enabling restores it")
    func disable() async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            let (id, rat, object) = try await registerSeedClient(client, body: #"{"grant_types":["client_credentials"],"scope":"read"}"#)
            let secret = object["client_secret"]!.stringValue!
            try await client.execute(uri: "/iam/api/clients/\(id)/disable", method: .patch, headers: bearer(token)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, secret), body: ByteBuffer(string: "grant_type=client_credentials")) { response in
                #expect(response.oauthError?.code == "invalid_client")
            }
            var echo = object
            echo["client_secret"] = nil
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .put, headers: bearer(rat) + jsonHeaders,
                                     body: ByteBuffer(bytes: JSONWriter.bytes(.object(echo)))) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/iam/api/clients/\(id)", method: .get, headers: bearer(token)) { response in
                let o = try response.object
                #expect(o["active"] == .bool(false) && o["status_changed_by"] != nil && o["status_changed_on"] != nil)
            }
            try await client.execute(uri: "/iam/api/clients/\(id)/enable", method: .patch, headers: bearer(token)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, secret), body: ByteBuffer(string: "grant_type=client_credentials")) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("search by name, contact, scope, grant type and redirect URI, by prefix", arguments: [
        ("name", "oidc", 1), ("name", "Agent", 1), ("name", "another", 2), ("contacts", "test@iam", 2), ("contacts", "iam.test", 2),
        ("scope", "offline", 2), ("grantType", "urn:ietf:params:oauth:grant-type:device", 1), ("redirectUri", "another.client.example", 2),
        ("redirectUri", "https://nowhere", 0),
    ])
    func search(_ type: String, _ text: String, _ expected: Int) async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            _ = try await registerSeedClient(client)
            var seed2 = seedBody.replacingOccurrences(of: "another-example-client", with: "another client two")
            seed2 = seed2.replacingOccurrences(of: "\"grant_types\": [\"refresh_token\", \"authorization_code\"]", with: "\"grant_types\": [\"refresh_token\", \"authorization_code\"]")
            _ = try await registerSeedClient(client, body: seed2)
            _ = try await registerSeedClient(client, body: #"{"client_name":"oidc-agent:laptop","grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}"#)
            let query = "search=\(text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&searchType=\(type)"
            try await client.execute(uri: "/iam/api/search/clients?\(query)", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok)
                let got = try response.object
                #expect(got["totalResults"] == .int(Int64(expected)), "\(type)=\(text)")
            }
        }
    }

    @Test("an unknown searchType is 400")
    func badSearchType() async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            try await client.execute(uri: "/iam/api/search/clients?search=x&searchType=colour", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test("the owner rotates the secret with the registration access token; the old secret dies")
    func ownerRotation() async throws {
        try await withTokenRouter { client, _ in
            let (id, rat, object) = try await registerSeedClient(client, body: #"{"grant_types":["client_credentials"],"scope":"read"}"#)
            let old = object["client_secret"]!.stringValue!
            let new = try await client.execute(uri: "/iam/api/client-registration/\(id)/secret", method: .post, headers: bearer(rat)) { response in
                #expect(response.status == .ok)
                return try response.object["client_secret"]?.stringValue ?? ""
            }
            #expect(new.count == 86 && new != old)
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, old), body: ByteBuffer(string: "grant_type=client_credentials")) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, new), body: ByteBuffer(string: "grant_type=client_credentials")) { #expect($0.status == .ok) }
            try await client.execute(uri: "/iam/api/client-registration/\(id)/secret", method: .post) { #expect($0.status == .unauthorized) }
        }
    }

    @Test("the audit trail records who did what, and never a secret or a token")
    func audit() async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            let (id, rat, object) = try await registerSeedClient(client)
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(rat)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer("wrong.token.x")) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/iam/api/clients/\(id)/disable", method: .patch, headers: bearer(token)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/iam/api/clients/\(id)/enable", method: .patch, headers: bearer(token)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/iam/api/clients/\(id)/secret", method: .post, headers: bearer(token)) { #expect($0.status == .created) }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .delete, headers: bearer(rat)) { #expect($0.status == .noContent) }
            let text = try await client.execute(uri: "/iam/api/audit?client_id=\(id)&since=0", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok)
                let events = try response.object["events"]?.arrayValue?.compactMap(\.objectValue) ?? []
                let kinds = events.compactMap { $0["event"]?.stringValue }
                #expect(Set(kinds) == ["created", "read", "disabled", "enabled", "secret_rotated", "deleted", "denied"], "\(kinds)")
                #expect(kinds.first == "deleted", "newest first")
                #expect(events.first { $0["event"] == .string("disabled") }?["admin_client_id"] != .null)
                #expect(events.first { $0["event"] == .string("denied") }?["detail"] == .string("invalid_token"))
                return String(buffer: response.body)
            }
            #expect(!text.contains(rat) && !text.contains(object["client_secret"]!.stringValue!) && !text.contains(token))
        }
    }

    @Test("every refusal of the registration API is audited, a secret issued by an administrator's PUT is secret_rotated, and throttling names the client")
    func auditCompleteness() async throws {
        var options = HTTPOptions()
        options.failedTokenLimiter = RateLimiter(limit: RateLimit(perMinute: 1, burst: 2), clock: SystemWallClock())
        try await HTTPFixture.withRouter(settings: permissiveSettings, options: options, withTokens: true) { client, service in
            let token = try await adminToken(client, service)
            // An administrator's PUT that moves a public client to a secret-based method issues a secret.
            let machine = try await client.execute(uri: "/iam/api/clients", method: .post, headers: bearer(token) + jsonHeaders,
                                                   body: ByteBuffer(string: #"{"client_name":"m","grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#)) { response in
                #expect(response.status == .created)
                return try response.object["client_id"]?.stringValue ?? ""
            }
            try await client.execute(uri: "/iam/api/clients/\(machine)", method: .put, headers: bearer(token) + jsonHeaders,
                                     body: ByteBuffer(string: #"{"client_name":"m","grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic"}"#)) { response in
                #expect(response.status == .ok)
                let o = try response.object
                #expect(o["client_secret"]?.stringValue != nil)
            }
            // Refusals decided before the service sees the request: the body's type and size, two
            // Authorization headers, a PUT's token.
            let (id, rat, _) = try await registerSeedClient(client)
            var twice = bearer(rat)
            twice.append(HTTPField(name: .authorization, value: "Bearer other"))
            let text: HTTPFields = [.contentType: "text/plain"]
            let refusals: [(String, HTTPRequest.Method, HTTPFields, String, HTTPResponse.Status)] = [
                ("/iam/api/client-registration", .post, text, "{}", .badRequest),
                ("/iam/api/client-registration", .post, jsonHeaders, String(repeating: " ", count: 70_000), .contentTooLarge),
                ("/iam/api/client-registration/\(id)", .put, bearer(rat) + text, "{}", .badRequest),
                ("/iam/api/client-registration/\(id)", .get, twice, "", .badRequest),
                ("/iam/api/client-registration/\(id)", .put, bearer("wrong.token.x") + jsonHeaders, "{}", .unauthorized),
                ("/iam/api/client-registration/\(id)", .get, bearer("wrong.token.y"), "", .unauthorized),
                // The failed-token bucket (burst 2) is empty now: throttled.
                ("/iam/api/client-registration/\(id)", .get, bearer("wrong.token.z"), "", .tooManyRequests),
            ]
            for (uri, method, headers, body, status) in refusals {
                try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == status, "\(method) \(uri)")
                }
            }
            // Read through the service: while the failed-token limit is reached, the administration
            // API answers this address 429 too.
            let events = try await AdminService(registration: service).auditEvents(clientID: nil, since: nil)
            let machineKinds = events.filter { $0.clientID == machine }.map(\.kind)
            #expect(machineKinds.contains(.secretRotated) && machineKinds.contains(.updated), "\(machineKinds)")
            let details = events.filter { $0.kind == .denied }.map { "\($0.clientID ?? "-") \($0.detail ?? "")" }
            #expect(details.filter { $0 == "- invalid_request" }.count == 2, "\(details)")
            #expect(details.filter { $0 == "\(id) invalid_request" }.count == 2, "\(details)")
            #expect(details.filter { $0 == "\(id) invalid_token" }.count == 2, "\(details)")
            let throttled = events.filter { $0.kind == .rateLimited }
            #expect(throttled.count == 1 && throttled.first?.clientID == id, "\(throttled)")
        }
    }

    @Test("out-of-range numbers in the query are 400, never a crash; milliseconds are refused", arguments: ["9223372036854775807", "-9223372036854775808", "abc",
                                                                                                        "1795790253888"])
    func auditSince(_ since: String) async throws {
        try await withTokenRouter { client, service in
            let token = try await adminToken(client, service)
            try await client.execute(uri: "/iam/api/audit?since=\(since)", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test("health: live and ready answer 200; ready is 503 when the database fails")
    func health() async throws {
        try await HTTPFixture.withRouter { client, _ in
            try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                let got = try response.object
                #expect(got["database"] == .string("ok"))
            }
        }
        try await HTTPFixture.withRouter(store: FailingStore(error: StoreError.unavailable("down"))) { client, _ in
            try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/health/ready", method: .get) { #expect($0.status == .serviceUnavailable) }
        }
    }
}
