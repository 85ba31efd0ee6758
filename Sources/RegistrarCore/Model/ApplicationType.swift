/// The kind of application (OpenID Connect Registration §2 `application_type`).
public struct ApplicationType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A web application; the default.
    public static let web = ApplicationType(rawValue: "web")
    /// A native application (RFC 8252).
    public static let native = ApplicationType(rawValue: "native")

    /// Every application type Registrar accepts.
    public static let known: [ApplicationType] = [.web, .native]
}
