/// One entry of the audit trail: what happened to which client, who did it, and how it ended.
/// It never holds a secret or a token.
public struct AuditEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: String, Sendable, CaseIterable {
        case created, read, updated, deleted
        case secretRotated = "secret_rotated"
        case tokenRotated = "token_rotated"
        case enabled, disabled, denied
        case rateLimited = "rate_limited"
    }

    /// When.
    public var time: Timestamp
    /// What.
    public var kind: Kind
    /// Which client, when there is one.
    public var clientID: String?
    /// The caller's IP address.
    public var actorIP: String?
    /// The initial access token used, by its public ID.
    public var initialAccessTokenID: String?
    /// The administration client that acted, or `cli` for the command line.
    public var adminClientID: String?
    /// `success` or `failure`.
    public var outcome: String
    /// A short reason, for failures (an error code), never a secret.
    public var detail: String?

    /// Creates an event.
    public init(time: Timestamp, kind: Kind, clientID: String?, actorIP: String? = nil, initialAccessTokenID: String? = nil,
                adminClientID: String? = nil, outcome: String = "success", detail: String? = nil) {
        self.time = time
        self.kind = kind
        self.clientID = clientID
        self.actorIP = actorIP
        self.initialAccessTokenID = initialAccessTokenID
        self.adminClientID = adminClientID
        self.outcome = outcome
        self.detail = detail
    }

    /// The event as JSON, for the API and the command line.
    public var json: JSONObject {
        var o = JSONObject([("time", .int(time.milliseconds)), ("event", .string(kind.rawValue))])
        o["client_id"] = clientID.map(JSONValue.string) ?? .null
        o["actor_ip"] = actorIP.map(JSONValue.string) ?? .null
        o["initial_access_token_id"] = initialAccessTokenID.map(JSONValue.string) ?? .null
        o["admin_client_id"] = adminClientID.map(JSONValue.string) ?? .null
        o["outcome"] = .string(outcome)
        o["detail"] = detail.map(JSONValue.string) ?? .null
        return o
    }
}

/// Who is acting on a request, for the audit trail.
public struct Actor: Sendable, Equatable {
    /// The caller's IP address.
    public var ip: String?
    /// The initial access token presented, by its public ID.
    public var initialAccessTokenID: String?
    /// The administration client acting, or `cli`.
    public var adminClientID: String?
    public init(ip: String? = nil, initialAccessTokenID: String? = nil, adminClientID: String? = nil) {
        self.ip = ip
        self.initialAccessTokenID = initialAccessTokenID
        self.adminClientID = adminClientID
    }
    /// Nobody in particular (tests, internal calls).
    public static let unknown = Actor()
    /// The command line on the database.
    public static let commandLine = Actor(adminClientID: "cli")
}
