/// Comparison of secrets whose running time does not depend on where they differ.
public enum ConstantTime {
    /// Whether two byte sequences are equal, examining every byte of the longer one.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let x = Array(a), y = Array(b)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
        let n = max(x.count, y.count)
        for i in 0..<n {
            let l = i < x.count ? x[i] : 0
            let r = i < y.count ? y[i] : 0
            difference |= l ^ r
        }
        return difference == 0
    }

    /// Whether two strings are equal, compared as UTF-8 in constant time.
    public static func equals(_ a: String, _ b: String) -> Bool { equals(Array(a.utf8), Array(b.utf8)) }
}
