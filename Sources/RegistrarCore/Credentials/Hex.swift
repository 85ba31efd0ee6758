/// Lower-case hexadecimal, two digits per byte: UUIDs, initial access token IDs, fingerprints.
public enum Hex {
    /// The sixteen digits, as bytes.
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `bytes` as hexadecimal.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes { append(byte, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the two digits of `byte`.
    @inline(__always)
    static func append(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
}
