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
        let hex = b.map { byte -> String in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        let chars = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
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
