import RegistrarCore
import Testing

@Suite("URI, language tag, e-mail, encoding helpers")
struct SupportingTypesTests {
    @Test("splits absolute URIs into their parts")
    func uriParts() throws {
        let uri = try #require(URIReference("HTTPS://User@Example.COM:8443/p?q=1#f"))
        #expect(uri.scheme == "https")
        #expect(uri.host == "example.com")
        #expect(uri.port == 8443)
        #expect(uri.userInfo == "User")
        #expect(uri.hasFragment)
        let custom = try #require(URIReference("edu.kit.data.oidc-agent:/redirect"))
        #expect(custom.scheme == "edu.kit.data.oidc-agent")
        #expect(!custom.hasAuthority)
        let v6 = try #require(URIReference("http://[::1]:8080/cb"))
        #expect(v6.host == "[::1]" && v6.port == 8080 && v6.isLoopbackHost)
    }

    @Test("refuses text that is not an absolute URI", arguments: [
        "", "relative/path", "/abs/path", "://x", "1http://x", "https://exa mple.com", "https://example.com/é",
        "https://example.com:99999/", "https://example.com:80a/", "https://[::1/", "https://example.com/%zz", "http://a\"b",
    ])
    func refusesNonURIs(_ text: String) {
        #expect(URIReference(text) == nil)
    }

    @Test("recognises loopback hosts", arguments: [
        ("http://localhost/cb", true), ("http://127.0.0.1/cb", true), ("http://127.45.3.2:9/", true), ("http://[::1]/", true),
        ("http://127.0.0.256/", false), ("http://localhost.example.com/", false), ("http://10.0.0.1/", false), ("http://example.com/", false),
    ])
    func loopback(_ text: String, _ expected: Bool) throws {
        #expect(try #require(URIReference(text)).isLoopbackHost == expected)
    }

    @Test("host names: letters, digits, - and _ in labels of at most 63, one trailing dot allowed, IP literals as they are", arguments: [
        ("https://app.example.com/cb", true), ("https://my_host.example/cb", true), ("https://a-b.c/", true), ("https://example.com./", true),
        ("https://[::1]/", true), ("https://127.0.0.1:8443/", true), ("https://" + String(repeating: "a", count: 63) + ".com/", true),
        ("https://" + String(repeating: "a", count: 64) + ".com/", false), ("https://-a.com/", false), ("https://a-.com/", false),
        ("https://a..com/", false), ("https://.a.com/", false), ("https://a%41.com/", false),
        // A last label that is a number makes the host an IPv4 address, which must then be one.
        ("https://999.999.999.999/cb", false), ("https://1.2.3.256/", false), ("https://example.123/", false), ("https://1.2.3.4./", true),
        ("https://0x7f.1/", true), ("https://2130706433/", true), ("https://a.0x1g/", true), ("https://a.0xzz.com/", true), ("https://4294967296/", false),
        ("https://example.0x10/", false), ("https://1.2.3.4.5/", false), ("https://v1.example/", true),
    ])
    func hosts(_ text: String, _ expected: Bool) throws {
        #expect(try #require(URIReference(text)).hasValidHost == expected, "\(text)")
    }

    @Test("accepts well-formed BCP 47 tags", arguments: [
        "en", "ja-Jpan-JP", "de-CH-1901", "zh-Hant-TW", "sl-rozaj-biske", "en-US-x-twain", "x-whatever", "i-klingon",
        "zh-yue-HK", "es-419", "en-a-bbb-x-a-ccc",
    ])
    func goodTags(_ tag: String) {
        #expect(LanguageTag.isWellFormed(tag))
    }

    @Test("refuses malformed BCP 47 tags", arguments: [
        "", "e", "en_US", "en-", "-en", "en--US", "toolonglanguage", "ja-Jpan-JP-", "en-a", "en-x", "1en", "ja Jpan", "en-US-a-",
    ])
    func badTags(_ tag: String) {
        #expect(!LanguageTag.isWellFormed(tag))
    }

    @Test("accepts plausible e-mail addresses and refuses the rest", arguments: [
        ("test@iam.test", true), ("first.last+tag@sub.example.org", true), ("o'brien@example.ie", true),
        ("no-at-sign", false), ("a@b", false), ("a@@b.c", false), ("@example.com", false), ("a.@example.com", false),
        ("a..b@example.com", false), ("a b@example.com", false), ("a@-example.com", false), ("a@example..com", false),
        ("ops@ex-ample.co.uk", true), ("x@a.b", true), ("é@example.com", false), ("a@exämple.com", false),
        ("a@\u{301}example.com", false), ("a\u{301}@example.com", false), ("a@example.com\r\n", false), ("a@example-.com", false),
        (String(repeating: "a", count: 65) + "@example.com", false), ("a@" + String(repeating: "b", count: 64) + ".com", false),
    ])
    func emails(_ text: String, _ expected: Bool) {
        #expect(EmailAddress.isValid(text) == expected)
    }

    @Test("base64url round-trips every length and refuses foreign characters")
    func base64url() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.encode(Array("hello?>".utf8)) == "aGVsbG8_Pg")
        #expect(Base64URL.decode("aGVsbG8/Pg") == nil)
        #expect(Base64URL.decode("a") == nil)
        #expect(Base64URL.decode("aGVsbG8=") == nil)
    }

    @Test("a compact JWS splits into exactly three base64url parts, with JSON objects for header and claims")
    func compactJWS() throws {
        let header = Base64URL.encode(Array(#"{"alg":"ES256","kid":"k1"}"#.utf8))
        let claims = Base64URL.encode(Array(#"{"aud":"client-1","exp":1795820596}"#.utf8))
        let signature = Base64URL.encode([1, 2, 3, 250])
        let jws = try #require(CompactJWS("\(header).\(claims).\(signature)"))
        #expect(jws.header["kid"] == .string("k1") && jws.claims["aud"] == .string("client-1") && jws.claims["exp"] == .int(1_795_820_596))
        #expect(jws.signature == [1, 2, 3, 250])
        #expect(jws.signingInput == Array("\(header).\(claims)".utf8))
        // An empty signature is a part too (decodes to nothing).
        #expect(CompactJWS("\(header).\(claims).")?.signature == [])
        for malformed in ["\(header).\(claims)", "\(header).\(claims).\(signature).\(signature)", "\(header)..\(signature)",
                          "\(header).\(claims).\(signature)=", "\(header).\u{301}\(claims).\(signature)", "",
                          "\(Base64URL.encode(Array("[1]".utf8))).\(claims).\(signature)"] {
            #expect(CompactJWS(malformed) == nil, "\(malformed)")
        }
    }

    @Test("compares secrets by content whatever their lengths")
    func constantTime() {
        #expect(ConstantTime.equals("abc", "abc"))
        #expect(!ConstantTime.equals("abc", "abd"))
        #expect(!ConstantTime.equals("abc", "abcd"))
        #expect(!ConstantTime.equals("", "a"))
        #expect(ConstantTime.equals("", ""))
    }
}
