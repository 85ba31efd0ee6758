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

    /// Whether the host may reach this machine, however it is written: `localhost` and the names
    /// under it (RFC 6761 §6.3), with or without a final dot; IPv4 loopback (`127.0.0.0/8`) and the
    /// unspecified address `0.0.0.0` in every form a browser parses (`127.1`, `0x7f.0.0.1`,
    /// `0177.0.0.1`, `2130706433`, WHATWG URL §4.3); IPv6 `::1` and `::`, also as IPv4-mapped
    /// (`[::ffff:127.0.0.1]`) or IPv4-compatible (`[::127.0.0.1]`) addresses (parsed by
    /// ``IPAddressRange``). For refusing a host
    /// where loopback is not allowed; ``isLoopbackHost`` (the usual spellings only) is what allows
    /// `http`.
    public var mayBeLoopbackHost: Bool {
        if isLoopbackHost { return true }
        if host.hasPrefix("[") {
            guard let bytes = IPAddressRange.parseAddress(host), bytes.count == 16 else { return false }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) { return bytes[15] <= 1 }  // :: and ::1
            // IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d).
            guard bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == bytes[11], bytes[10] == 0xFF || bytes[10] == 0 else { return false }
            return bytes[12] == 127 || bytes[12...].allSatisfy { $0 == 0 }
        }
        let name = Self.withoutFinalDot(host)
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        guard let v4 = Self.whatwgIPv4(name) else { return false }
        return v4 >> 24 == 127 || v4 == 0
    }

    /// An IPv4 address as the WHATWG URL parser reads a host: one to four parts, each decimal,
    /// `0x` hexadecimal or `0`-prefixed octal, the last filling the remaining bytes; `nil` if the
    /// host is not such an address.
    static func whatwgIPv4(_ host: Substring) -> UInt32? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 40 else { return nil }
            var digits = part, radix = 10
            if digits.count >= 2, digits.first == "0", digits.dropFirst().first == "x" || digits.dropFirst().first == "X" {
                digits = digits.dropFirst(2); radix = 16
            } else if digits.count >= 2, digits.first == "0" {
                digits = digits.dropFirst(); radix = 8
            }
            if digits.isEmpty { numbers.append(0); continue }
            guard let value = UInt64(digits, radix: radix) else { return nil }
            numbers.append(value)
        }
        guard let last = numbers.last, numbers.dropLast().allSatisfy({ $0 <= 255 }), last < (UInt64(1) << (8 * (5 - numbers.count))) else { return nil }
        var address = last
        for (index, value) in numbers.dropLast().enumerated() { address += value << (8 * (3 - index)) }
        return UInt32(address)
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
        // A host whose last label is a number is an IPv4 address to a browser (WHATWG URL, "ends in
        // a number"); one that does not parse as an address, such as 999.999.999.999 or
        // example.123, names no host at all.
        let name = Self.withoutFinalDot(host)
        if Self.endsInNumber(name) { return Self.whatwgIPv4(name) != nil }
        return true
    }

    /// A host name without the final dot of a fully qualified name (`example.org.`), which names
    /// the same host.
    static func withoutFinalDot(_ host: String) -> Substring {
        host.hasSuffix(".") && host.utf8.count > 1 ? host.dropLast() : Substring(host)
    }

    /// Whether the last label of `name` is a decimal number, or `0x` and hexadecimal digits.
    static func endsInNumber(_ name: Substring) -> Bool {
        let last = name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).last ?? Substring(name).utf8[...]
        if !last.isEmpty, last.allSatisfy(isDigit) { return true }
        guard last.count >= 2, last.first == UInt8(ascii: "0"), last.dropFirst().first == UInt8(ascii: "x") || last.dropFirst().first == UInt8(ascii: "X") else { return false }
        return last.dropFirst(2).allSatisfy(isHex)
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
