/// Checks that a language tag is well formed under BCP 47 (RFC 5646 §2.1), as RFC 7591 §2.2
/// requires of the tag in `client_name#<tag>`.
///
/// Well-formedness is the grammar only: subtags of the right length and kind in the right order.
/// It does not consult the IANA registry, so `xx-Qaaa` is well formed even if no such language
/// exists, which is the level of checking RFC 5646 §2.2.9 asks of a "well-formed" processor.
public enum LanguageTag {
    /// Grandfathered and other irregular tags that the grammar admits as whole tags.
    static let irregular: Set<String> = [
        "en-gb-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak", "i-klingon", "i-lux",
        "i-mingo", "i-navajo", "i-pwn", "i-tao", "i-tay", "i-tsu", "sgn-be-fr", "sgn-be-nl", "sgn-ch-de",
        "art-lojban", "cel-gaulish", "no-bok", "no-nyn", "zh-guoyu", "zh-hakka", "zh-min", "zh-min-nan",
        "zh-xiang",
    ]

    /// Whether the tag is well formed.
    public static func isWellFormed(_ tag: String) -> Bool {
        guard !tag.isEmpty, tag.utf8.count <= 128, tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            return false
        }
        let lower = tag.lowercased()
        if irregular.contains(lower) { return true }
        let subtags = lower.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard !subtags.contains(where: \.isEmpty) else { return false }
        func alpha(_ s: String, _ range: ClosedRange<Int>) -> Bool { range.contains(s.count) && s.allSatisfy(\.isLetter) }
        func digits(_ s: String, _ n: Int) -> Bool { s.count == n && s.allSatisfy(\.isNumber) }
        func alnum(_ s: String, _ range: ClosedRange<Int>) -> Bool { range.contains(s.count) }

        var i = 0
        // privateuse as a whole tag: x-...
        if subtags[0] == "x" { return privateUse(subtags, from: 0) }
        // language
        guard alpha(subtags[0], 2...8) else { return false }
        let languageLength = subtags[0].count
        i = 1
        // extlang: up to three 3-letter subtags, only after a 2-3 letter language
        if languageLength <= 3 {
            var extlangs = 0
            while i < subtags.count, extlangs < 3, alpha(subtags[i], 3...3) { i += 1; extlangs += 1 }
        }
        // script
        if i < subtags.count, alpha(subtags[i], 4...4) { i += 1 }
        // region
        if i < subtags.count, alpha(subtags[i], 2...2) || digits(subtags[i], 3) { i += 1 }
        // variants
        while i < subtags.count {
            let s = subtags[i]
            if alnum(s, 5...8) || (s.count == 4 && s.first!.isNumber) { i += 1 } else { break }
        }
        // extensions
        while i < subtags.count, subtags[i].count == 1, subtags[i] != "x" {
            i += 1
            var count = 0
            while i < subtags.count, alnum(subtags[i], 2...8) { i += 1; count += 1 }
            guard count > 0 else { return false }
        }
        if i < subtags.count, subtags[i] == "x" { return privateUse(subtags, from: i) }
        return i == subtags.count
    }

    private static func privateUse(_ subtags: [String], from start: Int) -> Bool {
        let rest = subtags[(start + 1)...]
        return !rest.isEmpty && rest.allSatisfy { (1...8).contains($0.count) }
    }
}
