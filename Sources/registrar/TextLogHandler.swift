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
        event.metadata = merged.isEmpty ? nil : merged
        inner.log(event: event)
    }
}
