import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RegistrarCore
import RegistrarOutbound
import RegistrarTesting
import Synchronization
import Testing

let clientJWKS = #"{"keys":[{"kty":"EC","crv":"P-256","kid":"good","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"EC","crv":"P-256","kid":"bad","x":"AAAA","y":"AAAA"}]}"#

/// A live loopback server playing a client's jwks_uri, counting its hits.
func withJWKSServer(_ body: @Sendable (Int, @Sendable () -> Int) async throws -> Void) async throws {
    let hits = Mutex(0)
    let router = Router()
    router.get("/jwks") { _, _ -> Response in
        hits.withLock { $0 += 1 }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: clientJWKS)))
    }
    router.get("/big") { _, _ -> Response in
        Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"keys":[],"pad":""# + String(repeating: "x", count: 200_000) + "\"}")))
    }
    router.get("/missing") { _, _ in Response(status: .notFound) }
    // Usable keys beyond the limit of a registered jwks (16).
    router.get("/many") { _, _ -> Response in
        let key = #"{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
        let keys = (0..<17).map { key.replacingOccurrences(of: #""kid":"k""#, with: #""kid":"k\#($0)""#) }
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: #"{"keys":["# + keys.joined(separator: ",") + "]}")))
    }
    // A valid head, then the body a byte every 200 ms for 20 s.
    router.get("/drip") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: #"{"keys":["#))
            for _ in 0..<100 {
                try await Task.sleep(for: .milliseconds(200))
                try await writer.write(ByteBuffer(string: " "))
            }
            try await writer.write(ByteBuffer(string: "]}"))
            try await writer.finish(nil)
        })
    }
    router.get("/slow") { _, _ -> Response in
        hits.withLock { $0 += 1 }
        try await Task.sleep(for: .milliseconds(300))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: clientJWKS)))
    }
    router.get("/redirect") { _, _ in Response(status: .found, headers: [.location: "/jwks"]) }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    try await app.test(.live) { client in
        try await body(client.port!, { hits.withLock { $0 } })
    }
}

@Suite("jwks_uri fetching (SSRF protection)")
struct JWKSFetcherTests {
    func fetcher(allowHTTP: Bool = false, allowPrivate: Bool = false, clock: any WallClock = SystemWallClock()) -> JWKSFetcher {
        var settings = JWKSFetcher.Settings()
        settings.allowHTTP = allowHTTP
        settings.allowPrivateNetworks = allowPrivate
        settings.timeout = 3
        return JWKSFetcher(settings: settings, clock: clock, logger: Logger(label: "test"))
    }

    @Test("non-public addresses are recognised", arguments: [
        ("127.0.0.1", true), ("10.1.2.3", true), ("172.16.0.1", true), ("172.32.0.1", false), ("192.168.0.5", true),
        ("169.254.169.254", true), ("100.64.0.1", true), ("0.0.0.0", true), ("::1", true), ("fe80::1", true), ("fd00::1", true),
        ("8.8.8.8", false), ("2001:4860:4860::8888", false), ("::ffff:127.0.0.1", true),
    ])
    func forbidden(_ address: String, _ expected: Bool) {
        #expect(JWKSFetcher.isForbidden(address) == expected)
    }

    @Test("by default: no http, no loopback (by address or by name), nothing is fetched")
    func refusals() async throws {
        try await withJWKSServer { port, hits in
            let strict = fetcher()
            for uri in ["http://127.0.0.1:\(port)/jwks", "https://127.0.0.1:\(port)/jwks", "https://localhost:\(port)/jwks", "ftp://example.org/jwks"] {
                await #expect(throws: (any Error).self, "\(uri)") { _ = try await strict.keys(at: uri, refresh: false) }
            }
            let httpOnly = fetcher(allowHTTP: true)
            await #expect(throws: (any Error).self) { _ = try await httpOnly.keys(at: "http://127.0.0.1:\(port)/jwks", refresh: false) }
            #expect(hits() == 0, "a refused URL was contacted")
        }
    }

    @Test("when allowed: usable keys only, cached, refetched on request at most once per interval")
    func fetchAndCache() async throws {
        try await withJWKSServer { port, hits in
            let clock = TestClock()
            let open = fetcher(allowHTTP: true, allowPrivate: true, clock: clock)
            let uri = "http://127.0.0.1:\(port)/jwks"
            let set = try await open.keys(at: uri, refresh: false)
            #expect(set["keys"]?.arrayValue?.compactMap { $0.objectValue?["kid"]?.stringValue } == ["good"])
            _ = try await open.keys(at: uri, refresh: false)
            #expect(hits() == 1, "not cached")
            _ = try await open.keys(at: uri, refresh: true)
            #expect(hits() == 2, "a forced refresh did not fetch")
            _ = try await open.keys(at: uri, refresh: true)
            #expect(hits() == 2, "forced refreshes are not rate-limited")
            clock.advance(milliseconds: 30_000)
            _ = try await open.keys(at: uri, refresh: true)
            #expect(hits() == 3)
            clock.advance(milliseconds: 300_000)
            _ = try await open.keys(at: uri, refresh: false)
            #expect(hits() == 4, "the cache outlived its lifetime")
        }
    }

    @Test("the timeout bounds the whole fetch, a body sent slowly too; concurrent uses of one URL share a fetch")
    func slowAnswers() async throws {
        try await withJWKSServer { port, hits in
            var settings = JWKSFetcher.Settings()
            settings.allowHTTP = true
            settings.allowPrivateNetworks = true
            settings.timeout = 1
            let open = JWKSFetcher(settings: settings, clock: SystemWallClock(), logger: Logger(label: "test"))
            let start = ContinuousClock.now
            await #expect(throws: (any Error).self) { _ = try await open.keys(at: "http://127.0.0.1:\(port)/drip", refresh: false) }
            // The body would take 20 s; the fetch gives up after about 1 s.
            #expect(ContinuousClock.now - start < .seconds(5), "\(ContinuousClock.now - start)")
            let uri = "http://127.0.0.1:\(port)/slow"
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await open.keys(at: uri, refresh: false)["keys"]?.arrayValue?.count ?? 0 } }
                for try await count in group { #expect(count == 1) }
            }
            #expect(hits() == 1, "each concurrent use fetched on its own")
        }
    }

    @Test("oversized documents, sets of more than 16 keys, errors and redirects are refused")
    func badAnswers() async throws {
        try await withJWKSServer { port, hits in
            let open = fetcher(allowHTTP: true, allowPrivate: true)
            for path in ["big", "many", "missing", "redirect"] {
                await #expect(throws: (any Error).self, "\(path)") { _ = try await open.keys(at: "http://127.0.0.1:\(port)/\(path)", refresh: false) }
            }
            #expect(hits() == 0, "a redirect was followed")
        }
    }
}
