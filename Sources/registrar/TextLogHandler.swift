import Logging

/// swift-log's `StreamLogHandler` lines on standard error (`--log-format text`), with the metadata
/// formatted when a line is written rather than whenever it changes.
///
/// `StreamLogHandler` re-formats its whole metadata each time a key is set, and the HTTP server
/// sets one on every request's logger: about 2.5 % of the CPU of a token request at the default
/// level, for lines that were mostly never written. Here the metadata is kept as it is and handed
/// to `StreamLogHandler` with each line, which writes exactly what it would have written.
struct TextLogHandler: LogHandler {
    private var inner: StreamLogHandler
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        inner = StreamLogHandler.standardError(label: label)
        inner.metadataProvider = nil
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // StreamLogHandler's precedence: the handler's metadata, then the provider's, then the line's.
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { $1 } }
        if let explicit = event.metadata, !explicit.isEmpty { merged.merge(explicit) { $1 } }
        var event = event
        // StreamLogHandler would add an error's description after this handler escaped the rest:
        // it is added here, the same way, and escaped with it.
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
            event.error = nil
        }
        event.metadata = merged.isEmpty ? nil : LogEscaping.escaped(merged)
        let message = event.message.description
        if LogEscaping.needsEscaping(message) { event.message = "\(LogEscaping.escaped(message))" }
        inner.log(event: event)
    }
}

/// One event, one line: values that come from requests (a client ID from a form or a Basic header,
/// an assertion's `kid`) may hold line breaks or terminal escapes, with which a caller could write
/// lines of its own into the log (CWE-117). In text lines every control character (C0, DEL, C1)
/// and the Unicode line and paragraph separators are written as escapes: `\n`, `\r`, `\t`, or
/// `\u{1B}`. The JSON format escapes them as JSON does.
enum LogEscaping {
    /// Whether `text` holds a character that `escaped` rewrites: a scan of its bytes, so that the
    /// usual line costs no copy.
    static func needsEscaping(_ text: String) -> Bool {
        // C0 and DEL are single bytes; C1 (U+0080-U+009F) starts with 0xC2, U+2028 and U+2029
        // with 0xE2: those lead bytes are checked by scalar.
        text.utf8.contains { $0 < 0x20 || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 } && text.unicodeScalars.contains(where: isEscaped)
    }

    static func isEscaped(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    static func escaped(_ text: String) -> String {
        guard needsEscaping(text) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isEscaped(scalar): out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func escaped(_ metadata: Logger.Metadata) -> Logger.Metadata {
        guard metadata.contains(where: { needsEscaping($0.key) || needsEscaping($0.value) }) else { return metadata }
        var result: Logger.Metadata = [:]
        for (key, value) in metadata { result[escaped(key)] = escaped(value) }
        return result
    }

    static func needsEscaping(_ value: Logger.MetadataValue) -> Bool {
        switch value {
        case .string(let text): return needsEscaping(text)
        case .stringConvertible(let convertible): return needsEscaping(convertible.description)
        case .array(let values): return values.contains(where: needsEscaping)
        case .dictionary(let values): return values.contains { needsEscaping($0.key) || needsEscaping($0.value) }
        }
    }

    static func escaped(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text): return needsEscaping(text) ? .string(escaped(text)) : value
        case .stringConvertible(let convertible):
            let text = convertible.description
            return needsEscaping(text) ? .string(escaped(text)) : value
        case .array(let values): return .array(values.map(escaped))
        case .dictionary(let values): return .dictionary(escaped(values))
        }
    }
}
