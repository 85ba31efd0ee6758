/// Base64url without padding (RFC 4648 §5), as JOSE uses it.
public enum Base64URL {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    /// Encodes bytes.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The length of the encoding of `count` bytes.
    static func encodedCount(_ count: Int) -> Int { (count * 4 + 2) / 3 }

    /// Appends the encoding of `bytes` to `out` (a token is assembled in one buffer this way).
    static func append(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        if bytes.withContiguousStorageIfAvailable({ append(buffer: $0, to: &out) }) == nil {
            Array(bytes).withUnsafeBufferPointer { append(buffer: $0, to: &out) }
        }
    }

    private static func append(buffer input: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + encodedCount(input.count))
        alphabet.withUnsafeBufferPointer { alphabet in
            var i = 0
            while i + 3 <= input.count {
                let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
                out.append(alphabet[Int(n >> 6 & 63)]); out.append(alphabet[Int(n & 63)])
                i += 3
            }
            let rest = input.count - i
            if rest == 1 {
                let n = UInt32(input[i]) << 16
                out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
            } else if rest == 2 {
                let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
                out.append(alphabet[Int(n >> 6 & 63)])
            }
        }
    }

    /// Decodes base64url without padding; `nil` on any character outside the alphabet or a
    /// length that no encoding produces.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(bytes: text.utf8)
    }

    /// Decodes the base64url text in these UTF-8 bytes (a part of a compact JWS, say, without
    /// copying it into a `String` first).
    public static func decode(bytes input: some Collection<UInt8>) -> [UInt8]? {
        // Through a buffer when the bytes are contiguous (a string's are): indexing a substring's
        // UTF-8 view byte by byte costs several times as much.
        if let decoded = input.withContiguousStorageIfAvailable({ decode(buffer: $0) }) { return decoded }
        return Array(input).withUnsafeBufferPointer { decode(buffer: $0) }
    }

    private static func decode(buffer input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for c in input {
            let v = reverse[Int(c)]
            guard v >= 0 else { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(buffer >> UInt32(bits) & 0xFF))
            }
        }
        // Leftover bits must be zero (canonical encoding).
        guard buffer & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}
