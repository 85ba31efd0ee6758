/// The body of a client information response (RFC 7591 §3.2.1, RFC 7592 §3), in the seed's member
/// order, with the credentials this response may carry.
public struct ClientResponse: Sendable {
    /// The client as registered.
    public let client: RegisteredClient
    /// A client secret issued by this request (shown only once).
    public let clientSecret: String?
    /// The registration access token to return.
    public let registrationAccessToken: String?
    /// The client's `registration_client_uri`.
    public let registrationClientURI: String

    public init(client: RegisteredClient, clientSecret: String?, registrationAccessToken: String?, registrationClientURI: String) {
        self.client = client
        self.clientSecret = clientSecret
        self.registrationAccessToken = registrationAccessToken
        self.registrationClientURI = registrationClientURI
    }

    /// The JSON text.
    public var bytes: [UInt8] {
        let fields = ClientResponseBody.Fields(
            clientID: client.clientID, clientSecret: clientSecret, softwareStatement: client.softwareStatement,
            reuseRefreshToken: client.reuseRefreshToken, dynamicallyRegistered: client.dynamicallyRegistered,
            clearAccessTokensOnRefresh: client.clearAccessTokensOnRefresh, registrationAccessToken: registrationAccessToken,
            registrationClientURI: registrationClientURI, createdAt: client.createdAt.milliseconds,
            secretExpiresAt: client.secretDigest == nil ? nil : client.secretExpiresAt,
            expiresAt: client.expiresAt?.milliseconds, active: client.active)
        return ClientResponseBody.write(fields) { out in
            var requireAuthTime = false
            for (name, value) in client.metadata.jsonMembers() {
                if name == ClientMetadata.Member.requireAuthTime {
                    if case .bool(let b) = value { requireAuthTime = b }
                    continue
                }
                out.append(UInt8(ascii: ","))
                JSONWriter.writeString(name, into: &out)
                out.append(UInt8(ascii: ":"))
                JSONWriter.write(value, into: &out)
            }
            return requireAuthTime
        }
    }

    /// The JSON body as an object.
    public var json: JSONObject { ClientResponseBody.object(bytes) }
}

/// The response to a read (RFC 7592 §2.1), written from the client's stored row without decoding
/// it: the stored document's metadata members are copied as they are, since the store's document
/// is what ``ClientMetadata/jsonMembers()`` wrote and decoding and encoding it again gives the same
/// text (`ClientResponseTests` checks the two against each other). Decoding and encoding, with
/// the copies of the client they made, were about a third of a read's CPU (docs/benchmarks.md).
public struct StoredClientResponse: Sendable {
    /// The client's ID.
    public let clientID: String
    /// The client's stored row.
    public let row: StoredClientRow
    /// The registration access token presented (a read does not rotate it).
    public let registrationAccessToken: String
    /// The JSON text.
    public let bytes: [UInt8]

    /// Writes the response; throws ``StoreError/corrupt(_:)`` if the stored document is not an
    /// object with a `metadata` object (decoding it would fail too). The metadata's content is not
    /// checked again: it was validated before it was stored, so only a row damaged or written from
    /// outside, whose JSON still has its structure, could be answered here and refused by an
    /// update (which decodes it).
    public init(clientID: String, row: StoredClientRow, registrationAccessToken: String, registrationClientURI: String) throws {
        self.clientID = clientID
        self.row = row
        self.registrationAccessToken = registrationAccessToken
        var document = row.document
        let written: [UInt8]? = document.withUTF8 { bytes -> [UInt8]? in
            guard let top = JSONScanner.members(of: bytes, objectAt: 0) else { return nil }
            var metadata: [JSONScanner.Member]?
            var statement: String?
            // The defaults of ``RegisteredClient/init(document:clientID:createdAt:updatedAt:secretDigest:registrationTokenDigest:version:policy:dynamicallyRegistered:expiresAt:lastUsedAt:)``.
            var reuse = true, clear = true, active = true, secretExpiresAt: Int64 = 0
            for member in top {
                if member.named("metadata", in: bytes) {
                    metadata = JSONScanner.members(of: bytes, objectAt: member.value.lowerBound)
                    if metadata == nil { return nil }
                } else if member.named("software_statement", in: bytes) {
                    if case .string(let s)? = try? JSONParser.parse(UnsafeBufferPointer(rebasing: bytes[member.value])) { statement = s }
                } else if member.named("reuse_refresh_token", in: bytes) {
                    reuse = Self.bool(bytes, member.value) ?? reuse
                } else if member.named("clear_access_tokens_on_refresh", in: bytes) {
                    clear = Self.bool(bytes, member.value) ?? clear
                } else if member.named("active", in: bytes) {
                    active = Self.bool(bytes, member.value) ?? active
                } else if member.named("secret_expires_at", in: bytes) {
                    secretExpiresAt = Self.int(bytes, member.value) ?? secretExpiresAt
                }
            }
            guard let metadata else { return nil }
            let fields = ClientResponseBody.Fields(
                clientID: clientID, clientSecret: nil, softwareStatement: statement,
                reuseRefreshToken: reuse, dynamicallyRegistered: row.dynamicallyRegistered,
                clearAccessTokensOnRefresh: clear, registrationAccessToken: registrationAccessToken,
                registrationClientURI: registrationClientURI, createdAt: row.createdAt,
                secretExpiresAt: row.secretDigest == nil ? nil : secretExpiresAt,
                expiresAt: row.expiresAt, active: active)
            return ClientResponseBody.write(fields) { out in
                var requireAuthTime = false
                for member in metadata {
                    if member.named("require_auth_time", in: bytes) {
                        requireAuthTime = Self.bool(bytes, member.value) ?? false
                        continue
                    }
                    out.append(UInt8(ascii: ","))
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[member.name]))
                    out.append(UInt8(ascii: ":"))
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[member.value]))
                }
                return requireAuthTime
            }
        }
        guard let written else { throw StoreError.corrupt("client \(clientID) has an unreadable document") }
        bytes = written
    }

    /// The JSON body as an object.
    public var json: JSONObject { ClientResponseBody.object(bytes) }

    static func bool(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool? {
        let value = bytes[range]
        if value.elementsEqual("true".utf8) { return true }
        if value.elementsEqual("false".utf8) { return false }
        return nil
    }

    /// A whole number as ``JSONParser`` reads one (`.int`): digits, with an optional minus.
    static func int(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        guard case .int(let value)? = try? JSONParser.parse(UnsafeBufferPointer(rebasing: bytes[range])) else { return nil }
        return value
    }
}

/// The one writer of client information responses, whichever form the client is read from.
enum ClientResponseBody {
    /// The members that do not come from the client's metadata.
    struct Fields {
        var clientID: String
        var clientSecret: String?
        var softwareStatement: String?
        var reuseRefreshToken: Bool
        var dynamicallyRegistered: Bool
        var clearAccessTokensOnRefresh: Bool
        var registrationAccessToken: String?
        var registrationClientURI: String
        /// Milliseconds since the epoch.
        var createdAt: Int64
        /// `nil` for a client without a secret (no `client_secret_expires_at`).
        var secretExpiresAt: Int64?
        /// Milliseconds since the epoch.
        var expiresAt: Int64?
        var active: Bool
    }

    /// Writes a response: `metadata` appends the metadata members, each after a comma, except
    /// `require_auth_time`, whose value it returns (the seed shows it among IAM's own members).
    static func write(_ f: Fields, metadata: (inout [UInt8]) -> Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        func name(_ name: StaticString) {
            out.append(UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        func string(_ member: StaticString, _ value: String) { name(member); JSONWriter.writeString(value, into: &out) }
        func bool(_ member: StaticString, _ value: Bool) { name(member); out.append(contentsOf: (value ? "true" : "false").utf8) }
        func int(_ member: StaticString, _ value: Int64) { name(member); out.append(contentsOf: String(value).utf8) }

        out.append(contentsOf: "{\"client_id\":".utf8)
        JSONWriter.writeString(f.clientID, into: &out)
        if let secret = f.clientSecret { string("client_secret", secret) }
        let requireAuthTime = metadata(&out)
        // RFC 7591 §3.2.1: the statement is returned unmodified.
        if let statement = f.softwareStatement { string("software_statement", statement) }
        bool("reuse_refresh_token", f.reuseRefreshToken)
        bool("dynamically_registered", f.dynamicallyRegistered)
        bool("clear_access_tokens_on_refresh", f.clearAccessTokensOnRefresh)
        bool("require_auth_time", requireAuthTime)
        if let token = f.registrationAccessToken { string("registration_access_token", token) }
        string("registration_client_uri", f.registrationClientURI)
        int("created_at", f.createdAt)
        int("client_id_issued_at", Timestamp(milliseconds: f.createdAt).seconds)
        if let secretExpiresAt = f.secretExpiresAt { int("client_secret_expires_at", secretExpiresAt) }
        // Registrar's own member: when a client with a lifetime stops existing (epoch seconds).
        if let expiresAt = f.expiresAt { int("client_expires_at", Timestamp(milliseconds: expiresAt).seconds) }
        bool("active", f.active)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A response as an object (for the administration view and tests).
    static func object(_ bytes: [UInt8]) -> JSONObject {
        if case .object(let object)? = try? JSONParser.parse(bytes) { return object }
        return JSONObject()
    }
}
