/// The parts of an absolute URI (RFC 3986 §3), split without normalising anything, so that what
/// is checked is exactly what was registered.
public struct URIReference: Sendable, Equatable {
    /// The scheme, lower-cased (schemes are case-insensitive, RFC 3986 §3.1).
    public let scheme: String
    /// Whether the URI has an authority component (`//...`).
    public let hasAuthority: Bool
    /// User information before `@` in the authority, if any.
    public let userInfo: String?
    /// The host, lower-cased; IPv6 literals keep their brackets. Empty when there is none.
    public let host: String
    /// The port, if one is given.
    public let port: Int?
    /// Whether the URI has a fragment (`#...`).
    public let hasFragment: Bool

    /// Splits an absolute URI; `nil` when the text is not an absolute URI made of the characters
    /// RFC 3986 allows.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 4096 else { return nil }
        // Only the characters of RFC 3986 §2: unreserved, reserved and well-formed percent escapes.
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, Self.isHex(bytes[i + 1]), Self.isHex(bytes[i + 2]) else { return nil }
                i += 3
                continue
            }
            guard Self.isAllowed(b) else { return nil }
            i += 1
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
        let schemeBytes = bytes[..<colon]
        guard Self.isAlpha(schemeBytes.first!),
              schemeBytes.allSatisfy({ Self.isAlpha($0) || Self.isDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { return nil }
        scheme = String(decoding: schemeBytes, as: UTF8.self).lowercased()
        hasFragment = bytes.contains(UInt8(ascii: "#"))

        let rest = bytes[(colon + 1)...]
        if rest.starts(with: [UInt8(ascii: "/"), UInt8(ascii: "/")]) {
            hasAuthority = true
            let authorityStart = rest.startIndex + 2
            var authorityEnd = authorityStart
            while authorityEnd < bytes.count, ![UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#")].contains(bytes[authorityEnd]) {
                authorityEnd += 1
            }
            var authority = bytes[authorityStart..<authorityEnd]
            if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
                userInfo = String(decoding: authority[..<at], as: UTF8.self)
                authority = authority[(at + 1)...]
            } else {
                userInfo = nil
            }
            var hostPart = authority
            var parsedPort: Int?
            if authority.first == UInt8(ascii: "[") {
                guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
                hostPart = authority[...close]
                let after = authority[(close + 1)...]
                if !after.isEmpty {
                    guard after.first == UInt8(ascii: ":") else { return nil }
                    parsedPort = Self.port(after.dropFirst())
                    guard parsedPort != nil || after.count == 1 else { return nil }
                }
                let inner = String(decoding: hostPart.dropFirst().dropLast(), as: UTF8.self)
                guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            } else if let c = authority.lastIndex(of: UInt8(ascii: ":")) {
                hostPart = authority[..<c]
                let portText = authority[(c + 1)...]
                if !portText.isEmpty {
                    guard let p = Self.port(portText) else { return nil }
                    parsedPort = p
                }
            }
            host = String(decoding: hostPart, as: UTF8.self).lowercased()
            port = parsedPort
        } else {
            hasAuthority = false
            userInfo = nil
            host = ""
            port = nil
        }
    }

    /// Whether the host is a loopback address: `localhost`, `127.0.0.0/8` or `[::1]`.
    public var isLoopbackHost: Bool {
        if host == "localhost" || host == "[::1]" || host == "[0:0:0:0:0:0:0:1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { part in
            guard let value = Int(part), part.count <= 3 else { return false }
            return (0...255).contains(value)
        }
    }

    /// Whether the host is a syntactically valid DNS name, IPv4 address or bracketed IPv6 literal.
    public var hasValidHost: Bool {
        guard !host.isEmpty else { return false }
        if host.hasPrefix("[") { return true }
        guard host.utf8.count <= 253 else { return false }
        // On bytes: every allowed character is ASCII, so any other byte refuses the host.
        let labels = host.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            // A single trailing dot (a fully qualified name) is allowed.
            if label.isEmpty { if index == labels.count - 1 && index > 0 { continue } else { return false } }
            guard label.count <= 63, label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else { return false }
            guard label.allSatisfy({ Self.isAlpha($0) || Self.isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else { return false }
        }
        return true
    }

    /// The scheme, host and port as a comparable origin (default ports filled in).
    public var origin: String {
        let defaultPort = scheme == "https" ? 443 : (scheme == "http" ? 80 : nil)
        return "\(scheme)://\(host):\(port ?? defaultPort ?? 0)"
    }

    private static func port(_ digits: some Collection<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy(isDigit) else { return nil }
        guard let value = Int(String(decoding: digits, as: UTF8.self)), value <= 65535 else { return nil }
        return value
    }

    /// ASCII letters and digits (also used by ``EmailAddress``).
    static func isAlpha(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) }
    private static func isAllowed(_ b: UInt8) -> Bool {
        if isAlpha(b) || isDigit(b) { return true }
        // unreserved "-._~", gen-delims ":/?#[]@", sub-delims "!$&'()*+,;="
        return "-._~:/?#[]@!$&'()*+,;=".utf8.contains(b)
    }
}
