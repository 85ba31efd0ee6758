/// An IPv4 or IPv6 address, or a CIDR range of them (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`).
public struct IPAddressRange: Sendable, Equatable {
    let bytes: [UInt8]
    let prefixLength: Int

    /// Parses an address or a range; `nil` when the text is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddressRange.parseAddress(String(parts[0])) else { return nil }
        bytes = address
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...(address.count * 8)).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = address.count * 8
        }
    }

    /// Whether an address (in text form) lies in this range.
    public func contains(_ text: String) -> Bool {
        guard var address = IPAddressRange.parseAddress(text) else { return false }
        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address.
        if address.count == 16, bytes.count == 4, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12...])
        }
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for i in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if address[i] & mask != bytes[i] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The bytes of an IPv4 (4) or IPv6 (16) address; brackets around IPv6 are accepted.
    static func parseAddress(_ input: String) -> [UInt8]? {
        var text = input
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
        if !text.contains(":") {
            let octets = text.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4 else { return nil }
            var out: [UInt8] = []
            for octet in octets {
                guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(\.isNumber), let value = UInt8(octet) else { return nil }
                out.append(value)
            }
            return out
        }
        // IPv6, possibly with an embedded IPv4 tail.
        var head: [UInt16] = [], tail: [UInt16] = []
        let halves = text.components()
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseAddress(String(piece)), v4.count == 4 else { return nil }
                    out.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    out.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        guard let first = groups(halves[0]) else { return nil }
        head = first
        if halves.count == 2 {
            guard let second = groups(halves[1]) else { return nil }
            tail = second
            guard head.count + tail.count < 8 else { return nil }
        } else {
            guard head.count == 8 else { return nil }
        }
        let all = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

extension String {
    /// Splits at the first `::` (IPv6 zero compression); a second `::` yields three parts.
    fileprivate func components() -> [String] {
        guard let range = self.range(ofDoubleColon: ()) else { return [self] }
        let rest = String(self[range.upperBound...])
        if rest.contains("::") { return [String(self[..<range.lowerBound]), rest, "extra"] }
        return [String(self[..<range.lowerBound]), rest]
    }
    fileprivate func range(ofDoubleColon: Void) -> Range<String.Index>? {
        var index = startIndex
        while index < endIndex {
            let next = self.index(after: index)
            if next < endIndex, self[index] == ":", self[next] == ":" { return index..<self.index(after: next) }
            index = next
        }
        return nil
    }
}
