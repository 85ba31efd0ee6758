public import Hummingbird
import Logging
import NIOCore

/// The request context of every Registrar route: Hummingbird's core storage plus the peer
/// address and a smaller upload limit.
public struct RegistrarRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer address, if the transport knows it.
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Request bodies larger than this are refused with 413 (metadata is small).
    public var maxUploadSize: Int { HTTPLimits.maximumBodySize }
}

/// Size limits of the HTTP layer.
public enum HTTPLimits {
    /// The largest request body accepted: 64 KiB.
    public static let maximumBodySize = 64 * 1024
}
