import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import RegistrarCore
import Synchronization

/// Fetches the JWK Sets of `private_key_jwt` clients from their `jwks_uri`, which a client chose and
/// the server visits: a server-side request forgery risk, so by default
///
/// - only `https` URLs, on the standard host name rules;
/// - no loopback, private, link-local, unique-local, CGNAT or multicast address: the host is resolved
///   first, every address is checked, and the connection goes to the checked address (the name is
///   kept for TLS), so DNS rebinding cannot swap it afterwards;
/// - no redirects, short timeouts, a size cap;
/// - results cached for a bounded time; a forced refetch (an unknown `kid`) at most once per
///   `minimumRefreshInterval` per URL.
public actor JWKSFetcher: ClientKeySource {
    /// What the operator allows.
    public struct Settings: Sendable, Equatable {
        /// Allow `http` URLs (for tests and closed networks).
        public var allowHTTP = false
        /// Allow loopback and private addresses (for tests and closed networks).
        public var allowPrivateNetworks = false
        /// Seconds for connecting and for the whole response.
        public var timeout: Int64 = 5
        /// Largest accepted document.
        public var maximumBytes = 64 * 1024
        /// Most usable keys in a fetched set, as in a registered `jwks`: an assertion without a
        /// `kid` is checked against every key that fits its algorithm, so a set of hundreds of keys
        /// would make each assertion cost hundreds of signature checks.
        public var maximumKeys = ServerConfiguration.Limits().maximumJWKSKeys
        /// Seconds a fetched set is reused.
        public var cacheLifetime: Int64 = 300
        /// Seconds between forced refetches of one URL.
        public var minimumRefreshInterval: Int64 = 30
        public init() {}
    }

    struct Entry {
        var jwks: JSONObject
        var fetchedAt: Timestamp
    }

    let settings: Settings
    let clock: any WallClock
    let logger: Logger
    var cache: [String: Entry] = [:]
    var lastForced: [String: Timestamp] = [:]
    /// When a fetch of a URL last failed: no new attempt for `minimumRefreshInterval`, so a broken
    /// jwks_uri cannot make every assertion wait for a timeout.
    var failures: [String: (Timestamp, String)] = [:]

    /// Creates a fetcher.
    public init(settings: Settings, clock: any WallClock, logger: Logger) {
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    public func keys(at uri: String, refresh: Bool) async throws -> JSONObject {
        let now = clock.now()
        if let entry = cache[uri] {
            let fresh = now.milliseconds - entry.fetchedAt.milliseconds < settings.cacheLifetime * 1000
            let mayForce = lastForced[uri].map { now.milliseconds - $0.milliseconds >= settings.minimumRefreshInterval * 1000 } ?? true
            if fresh && (!refresh || !mayForce) { return entry.jwks }
        }
        if let (failedAt, reason) = failures[uri], now.milliseconds - failedAt.milliseconds < settings.minimumRefreshInterval * 1000 {
            if let entry = cache[uri] { return entry.jwks }
            throw FetchError(description: "the last fetch failed (\(reason)); not retried yet")
        }
        if refresh { lastForced[uri] = now }
        // Concurrent assertions of one client share one fetch.
        if let running = inFlight[uri] { return try await running.value }
        let fetch = Task { try await Self.within(seconds: settings.timeout) { try await self.fetch(uri) } }
        inFlight[uri] = fetch
        defer { inFlight[uri] = nil }
        let jwks: JSONObject
        do {
            jwks = try await fetch.value
        } catch {
            if failures.count >= 1000 { failures.removeAll() }
            failures[uri] = (now, "\(error)")
            throw error
        }
        failures[uri] = nil
        if cache.count >= 1000 { cache.removeAll() }
        cache[uri] = Entry(jwks: jwks, fetchedAt: now)
        return jwks
    }

    /// The fetches in progress, by URL.
    var inFlight: [String: Task<JSONObject, any Error>] = [:]

    /// `body`'s result, or a ``FetchError`` once `seconds` have passed, whichever comes first: the
    /// limit for the whole fetch (resolving the name, connecting, the answer's head and its body,
    /// which a server could otherwise send a byte at a time). At the limit `body` is cancelled
    /// and not waited for (a name lookup cannot be cancelled); a `body` that finishes first leaves
    /// the timer to expire on its own.
    static func within<T: Sendable>(seconds: Int64, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let gate = Gate()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work = Task {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                if gate.open() { continuation.resume(with: result) }
            }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                guard gate.open() else { return }
                work.cancel()
                continuation.resume(throwing: FetchError(description: "no complete answer within \(seconds) s"))
            }
        }
    }

    /// Lets exactly one of the work and the timer resume the caller.
    final class Gate: Sendable {
        private let opened = Mutex(false)
        /// `true` for the first caller only.
        func open() -> Bool { opened.withLock { opened in defer { opened = true }; return !opened } }
    }

    /// Why a fetch was refused or failed.
    public struct FetchError: Error, CustomStringConvertible {
        public let description: String
    }

    func fetch(_ uri: String) async throws -> JSONObject {
        guard let url = URL(string: uri), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw FetchError(description: "not a URL")
        }
        guard scheme == "https" || (scheme == "http" && settings.allowHTTP) else { throw FetchError(description: "only https jwks_uri are fetched") }
        let addresses = try await Self.resolve(host)
        guard let address = addresses.first else { throw FetchError(description: "host does not resolve") }
        if !settings.allowPrivateNetworks, let forbidden = addresses.first(where: Self.isForbidden) {
            throw FetchError(description: "jwks_uri resolves to a non-public address (\(forbidden))")
        }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(settings.timeout), read: .seconds(settings.timeout))
        // Connect to the address checked above; the name stays for TLS verification.
        configuration.dnsOverride = [host: address]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            var request = HTTPClientRequest(url: uri)
            request.headers.add(name: "Accept", value: "application/jwk-set+json, application/json")
            let response = try await client.execute(request, timeout: .seconds(settings.timeout))
            guard response.status == .ok else { throw FetchError(description: "jwks_uri answered \(response.status.code)") }
            let body = try await response.body.collect(upTo: settings.maximumBytes)
            try await client.shutdown()
            guard case .object(let object)? = try? JSONParser.parse(Array(buffer: body)), case .array(let keys)? = object["keys"] else {
                throw FetchError(description: "jwks_uri did not return a JWK Set")
            }
            // Keep only loadable public keys.
            let usable = keys.filter { key in
                guard case .object(let jwk) = key, case .string(let kty)? = jwk["kty"] else { return false }
                return (try? PublicJWK.check(jwk, kty: kty)) != nil
            }
            guard usable.count <= settings.maximumKeys else {
                throw FetchError(description: "jwks_uri returned more than \(settings.maximumKeys) keys")
            }
            return JSONObject([("keys", .array(usable))])
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Every address of a host name (or the literal itself).
    static func resolve(_ host: String) async throws -> [String] {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if IPAddressRange(bare) != nil { return [bare] }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(bare, nil, &hints, &result) == 0, let first = result else {
                    continuation.resume(throwing: FetchError(description: "host does not resolve"))
                    return
                }
                defer { freeaddrinfo(first) }
                var addresses: [String] = []
                var pointer: UnsafeMutablePointer<addrinfo>? = first
                while let info = pointer {
                    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                        if !addresses.contains(text) { addresses.append(text) }
                    }
                    pointer = info.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }

    static let forbiddenRanges: [IPAddressRange] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96",
    ].compactMap(IPAddressRange.init)

    /// Whether an address is loopback, private, link-local or otherwise not a public address.
    public static func isForbidden(_ address: String) -> Bool {
        forbiddenRanges.contains { $0.contains(address) }
    }
}
