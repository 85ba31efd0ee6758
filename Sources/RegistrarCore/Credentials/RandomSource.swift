#if canImport(Glibc)
import Glibc
#endif

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
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            Hex.append(byte, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The operating system's cryptographically secure generator (`getrandom` on Linux).
public struct SystemRandomSource: RandomSource {
    public init() {}

    #if canImport(Glibc)
    /// glibc's `getrandom` (not in Swift's Glibc module), if the C library has it.
    static let getrandom: (@convention(c) (UnsafeMutableRawPointer?, Int, UInt32) -> Int)? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "getrandom") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutableRawPointer?, Int, UInt32) -> Int).self)
    }()
    #endif

    public func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        #if canImport(Glibc)
        // One getrandom(2) call for the whole buffer (the kernel's CSPRNG, as Swift's
        // SystemRandomNumberGenerator uses, which makes one call per 8 bytes).
        if let getrandom = Self.getrandom, out.withUnsafeMutableBytes({ buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = getrandom(buffer.baseAddress! + offset, buffer.count - offset, 0)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return false }
            }
            return true
        }) { return out }
        #endif
        var generator = SystemRandomNumberGenerator()
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
