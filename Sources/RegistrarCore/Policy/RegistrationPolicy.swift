/// What a registration may ask for: a named set of rules that an operator configures. Open
/// registration runs under the policy named `anonymous`; an initial access token names the policy it
/// grants. The policy a client was registered under is stored with it and applied again to every
/// update.
public struct RegistrationPolicy: Sendable, Equatable {
    /// The policy's name, as configured and as stored with each client.
    public var name: String

    /// Grant types a client may register: `nil` means every supported grant type.
    public var allowedGrantTypes: [GrantType]?
    /// Grant types a client may never register under this policy.
    public var forbiddenGrantTypes: [GrantType] = []
    /// Token endpoint authentication methods a client may use: `nil` means every supported one.
    public var allowedAuthMethods: [AuthMethod]?
    /// Application types a client may declare: `nil` means both.
    public var allowedApplicationTypes: [ApplicationType]?

    /// Scope rules.
    public var scopes = ScopeRules()
    /// Redirect URI rules.
    public var redirectURIs = RedirectRules()

    /// How long a client registered under this policy lives, in seconds; `nil` for ever.
    public var clientLifetime: Int64?
    /// Most clients registered under this policy at one time; `nil` for no limit.
    public var maxClients: Int?
    /// Registration access token rules.
    public var registrationToken = TokenRules()
    /// Whether a registration must carry a trusted software statement.
    public var requireSoftwareStatement = false

    /// Creates a policy that allows everything the server supports.
    public init(name: String) { self.name = name }

    /// The built-in `anonymous` policy, used by open registration unless configured otherwise: no
    /// `password`, `client_credentials` or token exchange, as INDIGO IAM forbids them to anonymous
    /// callers.
    public static var anonymous: RegistrationPolicy {
        var policy = RegistrationPolicy(name: "anonymous")
        policy.forbiddenGrantTypes = [.password, .clientCredentials, .tokenExchange]
        return policy
    }

    /// Scope rules of a policy.
    public struct ScopeRules: Sendable, Equatable {
        /// Scopes a client may hold: `nil` means any. Entries ending in `/`, `:` or `*` match by
        /// prefix (`storage.read:/` matches `storage.read:/home`).
        public var allowed: [String]?
        /// Scopes removed silently from a request (INDIGO IAM's restricted scopes), unless the client
        /// already holds them. Same matching as `allowed`.
        public var restricted: [String] = []
        /// Scopes given when a request asks for none: `nil` means the server's default scopes.
        public var defaults: [String]?
        /// What happens to a requested scope outside `allowed` (or, when `allowed` is not set,
        /// outside the scopes the server advertises).
        public var unknown: UnknownScopes = .keep
        /// Creates permissive rules.
        public init() {}
    }

    /// What to do with a scope the policy does not know.
    public enum UnknownScopes: String, Sendable, Equatable, CaseIterable {
        /// Keep it (INDIGO IAM's behaviour).
        case keep
        /// Remove it silently.
        case drop
        /// Refuse the request with `invalid_client_metadata`.
        case reject
    }

    /// Redirect URI rules of a policy.
    public struct RedirectRules: Sendable, Equatable {
        /// Host patterns an `http(s)` redirect URI must match (`example.org`, `*.example.org`):
        /// `nil` means any host.
        public var allowedHosts: [String]?
        /// Host patterns an `http(s)` redirect URI must not match.
        public var deniedHosts: [String] = []
        /// Whether web clients must use `https` even on loopback hosts.
        public var requireHTTPS = false
        /// Creates permissive rules.
        public init() {}
    }

    /// Registration access token rules of a policy.
    public struct TokenRules: Sendable, Equatable {
        /// When the token is replaced.
        public var rotation: Rotation = .never
        /// Age in seconds after which the token is replaced on the client's next successful update,
        /// whatever `rotation` says; `nil` for no limit. The old token keeps working for reads and
        /// deletes until then, so a client that never updates is never locked out.
        public var maxAge: Int64?
        /// Creates the default rules: never rotate.
        public init() {}
    }

    /// When a registration access token rotates.
    public enum Rotation: String, Sendable, Equatable, CaseIterable {
        /// Never: the token lives as long as the client (INDIGO IAM, OpenBanking Brasil).
        case never
        /// On every successful update: the response carries the new token, the old one dies.
        case onUpdate = "on-update"
    }
}

/// Matching of scope and host patterns.
public enum PolicyPattern {
    /// Whether a scope matches a scope pattern: equal, or a prefix when the pattern ends in `/`, `:`
    /// or `*` (the `*` itself not part of the prefix).
    public static func scope(_ scope: String, matches pattern: String) -> Bool {
        if scope == pattern { return true }
        if pattern.hasSuffix("*") { return scope.hasPrefix(String(pattern.dropLast())) }
        if pattern.hasSuffix("/") || pattern.hasSuffix(":") { return scope.hasPrefix(pattern) }
        return false
    }

    /// Whether a host matches a host pattern: the same host, or for `*.example.org` any subdomain
    /// of `example.org` (not `example.org` itself). Both are compared as browsers and DNS read
    /// them (``canonicalHost(_:)``): in any case, with or without the root's final dot, an IP
    /// address in any of its spellings.
    public static func host(_ host: String, matches pattern: String) -> Bool {
        let host = canonicalHost(host)
        if pattern.hasPrefix("*.") {
            let suffix = "." + canonicalHost(String(pattern.dropFirst(2)))
            return host.hasSuffix(suffix) && host.utf8.count > suffix.utf8.count
        }
        return host == canonicalHost(pattern)
    }

    /// A host as policies compare it: lower-cased, without a final dot; an IPv4 address in any form
    /// a browser reads (`10.1`, `167772161`, `0x0a000001`, WHATWG URL) as its dotted quad; an IPv6
    /// literal as its eight groups in hexadecimal (`[0:0:0:0:0:0:0:1]` for `[::1]`), and an
    /// IPv4-mapped one (`[::ffff:10.0.0.1]`) as the IPv4 address it reaches.
    public static func canonicalHost(_ host: String) -> String {
        let name = host.lowercased()
        if name.hasPrefix("[") {
            guard let bytes = IPAddressRange.parseAddress(name), bytes.count == 16 else { return name }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                return bytes[12...].map(String.init).joined(separator: ".")
            }
            let groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            return "[" + groups.joined(separator: ":") + "]"
        }
        let trimmed = URIReference.withoutFinalDot(name)
        if URIReference.endsInNumber(trimmed), let v4 = URIReference.whatwgIPv4(trimmed) {
            return [v4 >> 24, v4 >> 16 & 0xFF, v4 >> 8 & 0xFF, v4 & 0xFF].map(String.init).joined(separator: ".")
        }
        return String(trimmed)
    }

    /// Why `pattern` is not a host pattern, or `nil` if it is one: a host as it appears in a URI
    /// (a DNS name, an IPv4 address or a bracketed IPv6 literal; ASCII, so an internationalized
    /// name in its `xn--` form), or `*.` and a DNS name; no scheme, port, path or user.
    public static func hostPatternProblem(_ pattern: String) -> String? {
        let wildcard = pattern.hasPrefix("*.")
        let host = wildcard ? String(pattern.dropFirst(2)) : pattern
        guard !host.isEmpty, let ref = URIReference("https://\(host)/"), ref.host == host.lowercased() || ref.host == host, ref.hasValidHost,
              ref.port == nil, ref.userInfo == nil
        else {
            return "\"\(pattern)\" is not a host pattern: a host such as app.example.org, 192.0.2.1 or [2001:db8::1], or *. and a domain (no scheme, port or path; an internationalized name in its xn-- form)"
        }
        if wildcard && (host.hasPrefix("[") || URIReference.endsInNumber(Substring(host))) {
            return "\"\(pattern)\" is not a host pattern: *. goes before a domain name, not an address"
        }
        return nil
    }
}
