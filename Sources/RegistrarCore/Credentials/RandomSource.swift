/// Where Registrar's randomness comes from: client IDs, secrets, token IDs and keys. Injected so
/// that tests can be exact.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(count: Int) -> [UInt8]
}

extension RandomSource {
    /// A random version 4 UUID, lower-case (RFC 9562 §5.4).
    public func uuid() -> String {
        var b = bytes(count: 16)
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return Self.format(b)
    }

    /// A version 7 UUID (RFC 9562 §5.7): the time in milliseconds, then 74 random bits. Client IDs
    /// are made this way: they are public identifiers, not secrets, and because they grow with
    /// time a new client's rows and index entries land at the end of each index instead of at a
    /// random page, which makes registrations several times cheaper for the database.
    public func uuid(timeOrderedAt time: Timestamp) -> String {
        var b = bytes(count: 16)
        let ms = UInt64(max(time.milliseconds, 0)) & 0xFFFF_FFFF_FFFF
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - i))) }
        b[6] = (b[6] & 0x0F) | 0x70
        b[8] = (b[8] & 0x3F) | 0x80
        return Self.format(b)
    }

    static func format(_ b: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The operating system's cryptographically secure generator (`getrandom` on Linux).
public struct SystemRandomSource: RandomSource {
    public init() {}
    public func bytes(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = generator.next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}
