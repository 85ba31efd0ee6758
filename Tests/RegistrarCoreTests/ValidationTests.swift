import Foundation
import RegistrarCore
import Testing

/// A request body: a minimal valid web client with some members replaced (raw JSON values).
func body(_ members: [String: String] = [:]) -> String {
    var all = ["redirect_uris": #"["https://app.example/cb"]"#]
    for (k, v) in members { all[k] = v }
    return "{" + all.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\($0.value)" }.joined(separator: ",") + "}"
}

@Suite("Validation: defaults (RFC 7591 §3.2.1, OIDC Registration §2)")
struct DefaultsTests {
    @Test("an almost empty request gets every default")
    func defaults() throws {
        let m = try validated(body())
        #expect(m.grantTypes == [.authorizationCode])
        #expect(m.responseTypes == [.code])
        #expect(m.tokenEndpointAuthMethod == .clientSecretBasic)
        #expect(m.applicationType == .web)
        #expect(m.idTokenSignedResponseAlg == "RS256")
        #expect(m.subjectType == "public")
        #expect(m.requireAuthTime == false)
        #expect(m.scope == ["openid", "profile", "email", "address", "phone"])
    }

    @Test("the seed's request registers as sent, with offline_access kept")
    func seed() throws {
        let m = try validated(#"""
        {"redirect_uris":["https://another.client.example/oidc"],"client_name":"another-example-client",
         "contacts":["test@iam.test"],"token_endpoint_auth_method":"client_secret_basic",
         "scope":"address phone openid email profile offline_access","grant_types":["refresh_token","authorization_code"],
         "response_types":["code"]}
        """#)
        #expect(m.scope == ["address", "phone", "openid", "email", "profile", "offline_access"])
        #expect(Set(m.grantTypes ?? []) == [.authorizationCode, .refreshToken])
        #expect(m.clientName == "another-example-client")
    }

    @Test("unknown members are dropped and null or empty strings count as absent")
    func unknownAndNull() throws {
        let m = try validated(body(["foo": #""bar""#, "client_uri": #""""#, "logo_uri": "null", "contacts": "null"]))
        #expect(m.clientURI == nil && m.logoURI == nil && m.contacts.isEmpty)
        #expect(!JSONWriter.string(.object(JSONObject(m.jsonMembers()))).contains("foo"))
    }
}

@Suite("Validation: JSON types are strict")
struct TypeTests {
    @Test("wrong JSON types name the member", arguments: [
        ("redirect_uris", #""https://app.example/cb""#, "invalid_redirect_uri"),
        ("redirect_uris", "[1]", "invalid_redirect_uri"),
        ("grant_types", #""authorization_code""#, "invalid_client_metadata"),
        ("response_types", "[null]", "invalid_client_metadata"),
        ("contacts", #""a@b.example""#, "invalid_client_metadata"),
        ("scope", #"["openid"]"#, "invalid_client_metadata"),
        ("client_name", "42", "invalid_client_metadata"),
        ("token_endpoint_auth_method", "true", "invalid_client_metadata"),
        ("jwks", #""{\"keys\":[]}""#, "invalid_client_metadata"),
        ("default_max_age", #""3600""#, "invalid_client_metadata"),
        ("default_max_age", "1.5", "invalid_client_metadata"),
        ("require_auth_time", #""true""#, "invalid_client_metadata"),
        ("require_auth_time", "1", "invalid_client_metadata"),
        ("client_name#en", "[]", "invalid_client_metadata"),
    ])
    func wrongTypes(_ member: String, _ value: String, _ code: String) throws {
        let error = try #require(validationError(body([member: value])))
        #expect(error.code.rawValue == code)
        #expect(error.errorDescription.contains(member.split(separator: "#").first.map(String.init) ?? member))
    }

    @Test("empty strings inside arrays are refused")
    func emptyArrayEntries() throws {
        let error = try #require(validationError(body(["contacts": #"[""]"#])))
        #expect(error.code == .invalidClientMetadata)
    }

    @Test("duplicates in arrays and scope are folded")
    func duplicates() throws {
        let m = try validated(body(["redirect_uris": #"["https://a.example/cb","https://a.example/cb"]"#, "scope": #""openid  email openid""#]))
        #expect(m.redirectURIs == ["https://a.example/cb"])
        #expect(m.scope == ["openid", "email"])
    }
}

@Suite("Validation: redirect_uris")
struct RedirectURITests {
    @Test("web clients accept https, loopback http and reverse-domain private-use schemes", arguments: [
        "https://app.example/cb", "https://app.example:8443/cb?x=1", "http://localhost:8080/cb", "http://127.0.0.1/cb",
        "http://[::1]:4242/", "edu.kit.data.oidc-agent:/redirect", "https://xn--bcher-kva.example/cb",
    ])
    func webAccepted(_ uri: String) throws {
        _ = try validated(body(["redirect_uris": "[\(quoted(uri))]"]))
    }

    @Test("web clients refuse", arguments: [
        "https://app.example/cb#frag", "http://app.example/cb", "javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd",
        "vbscript:x", "blob:https://a.example/x", "about:blank", "not a uri", "/relative/cb", "myapp://cb",
        "https://user:pw@app.example/cb", "https:///cb", "https://exa_mple..com/cb",
    ])
    func webRefused(_ uri: String) throws {
        let error = try #require(validationError(body(["redirect_uris": "[\(quoted(uri))]"])))
        #expect(error.code == .invalidRedirectURI)
        #expect(error.errorDescription.contains("redirect_uris[0]"))
    }

    @Test("every URI is checked, not just the first")
    func everyURI() throws {
        let error = try #require(validationError(body(["redirect_uris": #"["https://ok.example/cb","http://evil.example/cb"]"#])))
        #expect(error.code == .invalidRedirectURI)
        #expect(error.errorDescription.contains("redirect_uris[1]"))
    }

    @Test("implicit web clients need https and no localhost", arguments: [
        ("https://app.example/cb", true), ("http://localhost/cb", false), ("https://localhost/cb", false),
        ("https://127.0.0.1/cb", false), ("com.example.app:/cb", false),
        // Other spellings of this machine (browsers resolve all of them to loopback).
        ("https://localhost./cb", false), ("https://foo.localhost/cb", false), ("https://FOO.LOCALHOST./cb", false),
        ("https://127.1/cb", false), ("https://2130706433/cb", false), ("https://0x7f.1/cb", false),
        ("https://0177.0.0.1/cb", false), ("https://127.000.000.001/cb", false), ("https://0.0.0.0/cb", false), ("https://0/cb", false),
        ("https://[::ffff:127.0.0.1]/cb", false), ("https://[::ffff:7f00:1]/cb", false), ("https://[::127.0.0.1]/cb", false),
        ("https://[0:0:0:0:0:0:0:1]/cb", false), ("https://[::]/cb", false), ("https://[0::1]:8443/cb", false),
        // Hosts that merely look alike are not loopback.
        ("https://localhost.example/cb", true), ("https://mylocalhost/cb", true), ("https://128.0.0.1/cb", true),
        ("https://2130706431/cb", true), ("https://[::ffff:8.8.8.8]/cb", true), ("https://[2001:db8::1]/cb", true),
        ("https://127.0.0.1.example/cb", true),
        // Not loopback, and not a host at all: its last label is a number, so a browser reads it as
        // an IPv4 address, which 0x7g.1 is not.
        ("https://0x7g.1/cb", false),
    ])
    func implicitWeb(_ uri: String, _ ok: Bool) throws {
        let json = body(["redirect_uris": "[\(quoted(uri))]", "grant_types": #"["implicit"]"#, "response_types": #"["id_token"]"#])
        if ok { _ = try validated(json) } else { #expect(validationError(json)?.code == .invalidRedirectURI) }
    }

    @Test("native clients (RFC 8252)", arguments: [
        ("com.example.app:/oauth2redirect", true), ("edu.kit.data.oidc-agent:/redirect", true), ("http://127.0.0.1:51004/cb", true),
        ("http://localhost/cb", true), ("https://app.example/cb", true), ("http://app.example/cb", false),
        ("https://localhost/cb", false), ("myapp://cb", false), ("javascript:x", false),
    ])
    func native(_ uri: String, _ ok: Bool) throws {
        let json = body(["redirect_uris": "[\(quoted(uri))]", "application_type": #""native""#])
        if ok { _ = try validated(json) } else { #expect(validationError(json)?.code == .invalidRedirectURI) }
    }

    @Test("required for authorization_code and implicit, not for device code or client credentials")
    func required() throws {
        #expect(validationError(#"{"grant_types":["authorization_code"]}"#)?.code == .invalidRedirectURI)
        #expect(validationError(#"{"redirect_uris":[]}"#)?.code == .invalidRedirectURI)
        #expect(validationError(#"{}"#)?.code == .invalidRedirectURI)
        let device = try validated(#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code","refresh_token"],"response_types":[]}"#)
        #expect(device.responseTypes == [])
        _ = try validated(#"{"grant_types":["client_credentials"]}"#)
    }
}

@Suite("Validation: grant_types and response_types")
struct GrantResponseTests {
    @Test("every known grant type is accepted", arguments: GrantType.known)
    func knownGrants(_ grant: GrantType) throws {
        var members = ["grant_types": "[\(quoted(grant.rawValue))]"]
        if grant == .implicit { members["response_types"] = #"["token"]"# }
        _ = try validated(body(members))
    }

    @Test("unknown grant types are refused", arguments: ["client_credentilas", "urn:ietf:params:oauth:grant_type:redelegate", "Authorization_Code"])
    func unknownGrants(_ grant: String) throws {
        let error = try #require(validationError(body(["grant_types": "[\(quoted(grant))]"])))
        #expect(error.code == .invalidClientMetadata)
        #expect(error.errorDescription.contains("grant_types"))
    }

    @Test("offline_access adds refresh_token")
    func offlineAccess() throws {
        let m = try validated(body(["scope": #""openid offline_access""#]))
        #expect(m.grantTypes == [.authorizationCode, .refreshToken])
    }

    @Test("response types are derived from the grants when omitted", arguments: [
        (#"["authorization_code"]"#, ["code"]),
        (#"["implicit"]"#, ["token"]),
        (#"["authorization_code","implicit"]"#, ["code", "token"]),
        (#"["client_credentials"]"#, []),
        (#"["urn:ietf:params:oauth:grant-type:device_code"]"#, []),
    ])
    func derived(_ grants: String, _ expected: [String]) throws {
        let m = try validated(body(["grant_types": grants]))
        #expect(m.responseTypes?.map(\.rawValue) == expected)
    }

    @Test("explicit response types need their grants", arguments: [
        (#"["client_credentials"]"#, #"["code"]"#),
        (#"["authorization_code"]"#, #"["token"]"#),
        (#"["authorization_code"]"#, #"["code id_token"]"#),
        (#"["implicit"]"#, #"["code"]"#),
    ])
    func inconsistent(_ grants: String, _ responses: String) throws {
        let error = try #require(validationError(body(["grant_types": grants, "response_types": responses])))
        #expect(error.code == .invalidClientMetadata)
        #expect(error.errorDescription.contains("requires"))
    }

    @Test("hybrid response types in any word order are normalised")
    func hybrid() throws {
        let m = try validated(body(["grant_types": #"["authorization_code","implicit"]"#, "response_types": #"["id_token code","token id_token"]"#]))
        #expect(m.responseTypes?.map(\.rawValue) == ["code id_token", "id_token token"])
    }

    @Test("unknown response types are refused")
    func unknownResponse() {
        #expect(validationError(body(["response_types": #"["code foo"]"#]))?.code == .invalidClientMetadata)
    }
}

@Suite("Validation: token_endpoint_auth_method and keys")
struct AuthMethodTests {
    static let ecKey = #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}"#

    @Test("every supported method is accepted", arguments: ["client_secret_basic", "client_secret_post", "client_secret_jwt", "none"])
    func methods(_ method: String) throws {
        #expect(try validated(body(["token_endpoint_auth_method": quoted(method)])).tokenEndpointAuthMethod?.rawValue == method)
    }

    @Test("unknown methods are refused", arguments: ["tls_client_auth", "client_secret", "BASIC"])
    func unknown(_ method: String) {
        #expect(validationError(body(["token_endpoint_auth_method": quoted(method)]))?.code == .invalidClientMetadata)
    }

    @Test("private_key_jwt needs jwks or jwks_uri, never both")
    func privateKeyJWT() throws {
        #expect(validationError(body(["token_endpoint_auth_method": #""private_key_jwt""#]))?.errorDescription.contains("jwks") == true)
        _ = try validated(body(["token_endpoint_auth_method": #""private_key_jwt""#, "jwks_uri": #""https://app.example/jwks""#]))
        _ = try validated(body(["token_endpoint_auth_method": #""private_key_jwt""#, "jwks": "{\"keys\":[\(Self.ecKey)]}"]))
        let both = body(["jwks_uri": #""https://app.example/jwks""#, "jwks": "{\"keys\":[\(Self.ecKey)]}"])
        #expect(validationError(both)?.code == .invalidClientMetadata)
    }

    @Test("jwks must be a set of loadable public keys", arguments: [
        #"{}"#,
        #"{"keys":{}}"#,
        #"{"keys":[]}"#,
        #"{"keys":["x"]}"#,
        #"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#,
        #"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}"#,
        #"{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}"#,
        #"{"keys":[{"kty":"EC","crv":"P-999","x":"AAAA","y":"AAAA"}]}"#,
        #"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
        #"{"keys":[{"kty":"XYZ"}]}"#,
        #"{"keys":[{"crv":"P-256"}]}"#,
        #"{"keys":[{"kty":"EC","crv":"P-256","alg":"RS256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
        #"{"keys":[{"kty":"OKP","crv":"X25519","use":"sig","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}]}"#,
        #"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
    ])
    func badJWKS(_ jwks: String) throws {
        let error = try #require(validationError(body(["jwks": jwks])))
        #expect(error.code == .invalidClientMetadata)
        #expect(error.errorDescription.contains("jwks"))
    }

    @Test("Ed25519 and EC keys with fitting alg and use are accepted")
    func goodJWKS() throws {
        _ = try validated(body(["jwks": #"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#]))
        _ = try validated(body(["jwks": "{\"keys\":[\(Self.ecKey.dropLast()),\"alg\":\"ES256\",\"use\":\"sig\"}]}"]))
    }

    @Test("duplicate kids are refused")
    func duplicateKids() {
        #expect(validationError(body(["jwks": "{\"keys\":[\(Self.ecKey),\(Self.ecKey)]}"]))?.code == .invalidClientMetadata)
    }

    @Test("token_endpoint_auth_signing_alg must fit the method", arguments: [
        ("client_secret_jwt", "HS256", true), ("client_secret_jwt", "RS256", false), ("client_secret_jwt", "none", false),
        ("client_secret_basic", "HS256", false), ("private_key_jwt", "ES256", true), ("private_key_jwt", "HS512", false),
        ("private_key_jwt", "ES512", false),
    ])
    func signingAlg(_ method: String, _ alg: String, _ ok: Bool) throws {
        var members = ["token_endpoint_auth_method": quoted(method), "token_endpoint_auth_signing_alg": quoted(alg)]
        if method == "private_key_jwt" { members["jwks_uri"] = #""https://app.example/jwks""# }
        if ok { _ = try validated(body(members)) } else { #expect(validationError(body(members))?.code == .invalidClientMetadata) }
    }
}

@Suite("Validation: URIs, names, contacts, scope, OpenID members")
struct OtherMembersTests {
    @Test("URI members must be absolute http(s) URLs", arguments: ["client_uri", "logo_uri", "tos_uri", "policy_uri", "jwks_uri"])
    func uriMembers(_ member: String) throws {
        _ = try validated(body([member: #""https://app.example/page""#]))
        for bad in ["ftp://app.example/x", "not a url", "app.example/x", "javascript:alert(1)"] {
            #expect(validationError(body([member: quoted(bad)]))?.code == .invalidClientMetadata, "\(member)=\(bad)")
        }
    }

    @Test("initiate_login_uri and request_uris need https", arguments: [
        ("initiate_login_uri", #""http://app.example/login""#), ("request_uris", #"["http://app.example/r"]"#),
    ])
    func httpsOnly(_ member: String, _ value: String) throws {
        #expect(validationError(body([member: value]))?.code == .invalidClientMetadata)
        _ = try validated(body([member: value.replacingHTTP()]))
    }

    @Test("sector_identifier_uri is refused (public subject identifiers only; OpenID Connect Registration §5 would require fetching it)")
    func sectorIdentifier() throws {
        for value in [#""https://app.example/s.json""#, #""http://app.example/s.json""#] {
            let error = try #require(validationError(body(["sector_identifier_uri": value])))
            #expect(error.code == .invalidClientMetadata && error.errorDescription.hasPrefix("sector_identifier_uri is not supported"))
        }
        // Empty or null stands for an omitted member.
        _ = try validated(body(["sector_identifier_uri": #""""#]))
        _ = try validated(body(["sector_identifier_uri": "null"]))
    }

    @Test("language-tagged members are kept verbatim; the tag must be BCP 47")
    func localized() throws {
        let m = try validated(body(["client_name": #""Client""#, "client_name#ja-Jpan-JP": #""クライアント名""#, "tos_uri#de": #""https://app.example/agb""#]))
        #expect(m.localized == ["client_name#ja-Jpan-JP": "クライアント名", "tos_uri#de": "https://app.example/agb"])
        #expect(validationError(body(["client_name#not_a_tag": #""x""#]))?.code == .invalidClientMetadata)
        #expect(validationError(body(["logo_uri#en": #""ftp://x.example/a.png""#]))?.code == .invalidClientMetadata)
        // Language tags are case-insensitive: one language, one value.
        let twice = try #require(validationError(body(["client_name#en": #""A""#, "client_name#EN": #""B""#])))
        #expect(twice.code == .invalidClientMetadata && twice.errorDescription.contains("client_name#EN"))
        _ = try validated(body(["client_name#en": #""A""#, "client_name#en-GB": #""B""#, "tos_uri#en": #""https://a.example/tos""#]))
    }

    @Test("human-readable members carry no control characters", arguments: [
        ("client_name", #""a\u0000b""#, false), ("client_name", #""line\nbreak""#, false), ("client_name", #""tab\there""#, false),
        ("client_name#de", #""x\u007f""#, false), ("software_id", #""id\u0085""#, false), ("software_version", #""1\u001b[31m""#, false),
        ("client_description", #""two\nlines\tand a tab""#, true), ("client_description", #""bell\u0007""#, false),
        ("client_description#fr", #""deux\r\nlignes""#, true), ("client_name", #""Ünïcödé 名前 \u00a0ok""#, true),
    ])
    func controlCharacters(_ member: String, _ value: String, _ ok: Bool) throws {
        let json = body([member: value])
        if ok {
            _ = try validated(json)
        } else {
            let error = try #require(validationError(json))
            #expect(error.code == .invalidClientMetadata && error.errorDescription.contains(member) && error.errorDescription.contains("control characters"))
        }
    }

    @Test("contacts are e-mail addresses")
    func contacts() throws {
        _ = try validated(body(["contacts": #"["test@iam.test","ops@example.org"]"#]))
        let error = try #require(validationError(body(["contacts": #"["test@iam.test","call me"]"#])))
        #expect(error.code == .invalidClientMetadata && error.errorDescription.contains("contacts[1]"))
    }

    @Test("scope values are RFC 6749 scope tokens", arguments: ["openid \"quoted\"", "back\\slash", "tab\there", "é"])
    func badScopes(_ scope: String) {
        #expect(validationError(body(["scope": quoted(scope)]))?.code == .invalidClientMetadata)
    }

    @Test("structured scope values pass", arguments: ["storage.read:/home", "wlcg.groups", "eduperson_entitlement", "compute.create"])
    func structuredScopes(_ scope: String) throws {
        #expect(try validated(body(["scope": quoted(scope)])).scope == [scope])
    }

    @Test("OpenID members", arguments: [
        ("subject_type", #""pairwise""#, false), ("subject_type", #""public""#, true), ("default_max_age", "-1", false),
        ("default_max_age", "0", true), ("id_token_signed_response_alg", #""none""#, false), ("id_token_signed_response_alg", #""ES256""#, true),
        ("userinfo_signed_response_alg", #""HS256""#, false), ("request_object_signing_alg", #""PS256""#, true),
        ("id_token_encrypted_response_alg", #""RSA-OAEP""#, false), ("id_token_encrypted_response_enc", #""A128CBC-HS256""#, false),
        ("application_type", #""desktop""#, false),
    ])
    func openID(_ member: String, _ value: String, _ ok: Bool) throws {
        if ok { _ = try validated(body([member: value])) } else { #expect(validationError(body([member: value]))?.code == .invalidClientMetadata) }
    }

    @Test("an enc without its alg names the missing member")
    func encWithoutAlg() throws {
        let error = try #require(validationError(body(["userinfo_encrypted_response_enc": #""A128GCM""#])))
        #expect(error.errorDescription.contains("requires userinfo_encrypted_response_alg"))
    }

    @Test("logout URIs", arguments: [
        ("post_logout_redirect_uris", #"["https://app.example/bye"]"#, true), ("post_logout_redirect_uris", #"["https://app.example/bye#x"]"#, false),
        ("post_logout_redirect_uris", #"["http://app.example/bye"]"#, false), ("backchannel_logout_uri", #""https://app.example/bc""#, true),
        ("backchannel_logout_uri", #""https://app.example/bc#f""#, false), ("frontchannel_logout_uri", #""https://app.example/fc""#, true),
        ("frontchannel_logout_uri", #""https://other.example/fc""#, false),
    ])
    func logout(_ member: String, _ value: String, _ ok: Bool) throws {
        if ok { _ = try validated(body([member: value])) } else { #expect(validationError(body([member: value]))?.code == .invalidClientMetadata) }
    }

    @Test("size limits", arguments: [
        ("client_name", quoted(String(repeating: "n", count: 257))),
        ("client_uri", quoted("https://app.example/" + String(repeating: "p", count: 2100))),
        ("contacts", "[" + (0..<101).map { "\"u\($0)@example.org\"" }.joined(separator: ",") + "]"),
        ("scope", quoted((0..<101).map { "s\($0)" }.joined(separator: " "))),
    ])
    func limits(_ member: String, _ value: String) throws {
        let error = try #require(validationError(body([member: value])))
        #expect(error.code == .invalidClientMetadata)
    }

    @Test("too many redirect URIs is an invalid_redirect_uri")
    func tooManyRedirects() {
        let many = "[" + (0..<101).map { "\"https://app.example/cb\($0)\"" }.joined(separator: ",") + "]"
        #expect(validationError(body(["redirect_uris": many]))?.code == .invalidRedirectURI)
    }
}

extension String {
    func replacingHTTP() -> String {
        var s = self
        if let r = s.range(of: "http://") { s.replaceSubrange(r, with: "https://") }
        return s
    }
}
