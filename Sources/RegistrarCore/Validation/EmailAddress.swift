/// A practical check of an e-mail address (`local@domain`, RFC 5321 §4.1.2 / RFC 5322 §3.4.1
/// dot-atom form), used for `contacts`.
public enum EmailAddress {
    /// `atext` (RFC 5322 §3.2.3), as a table of the ASCII bytes it allows.
    static let atext: [Bool] = {
        var table = [Bool](repeating: false, count: 128)
        for byte in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~".utf8 { table[Int(byte)] = true }
        return table
    }()

    /// Whether the text is an address of the form `local@domain.tld`. Checked on bytes: every
    /// allowed character is ASCII, so any other byte refuses the address.
    public static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count <= 254 else { return false }
        let parts = bytes.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0], domain = parts[1]
        guard !local.isEmpty, local.count <= 64 else { return false }
        let atoms = local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard atoms.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 < 128 && atext[Int($0)] } }) else { return false }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
                && label.allSatisfy { URIReference.isAlpha($0) || URIReference.isDigit($0) || $0 == UInt8(ascii: "-") }
        }
    }
}
