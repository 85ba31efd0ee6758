extension RegisteredClient {
    /// The JSON document a store keeps for the client; the indexed columns (ID, timestamps,
    /// digests, version) are stored beside it and passed back to ``init(document:...)``.
    public var document: String {
        var object = JSONObject()
        object["metadata"] = .object(JSONObject(metadata.jsonMembers()))
        if let sealedSecret { object["sealed_secret"] = .string(sealedSecret) }
        object["secret_expires_at"] = .int(secretExpiresAt)
        object["dynamically_registered"] = .bool(dynamicallyRegistered)
        object["reuse_refresh_token"] = .bool(reuseRefreshToken)
        object["clear_access_tokens_on_refresh"] = .bool(clearAccessTokensOnRefresh)
        object["active"] = .bool(active)
        if let softwareStatement { object["software_statement"] = .string(softwareStatement) }
        object["token_issued_at"] = .int(tokenIssuedAt.milliseconds)
        if admin { object["admin"] = .bool(true) }
        if let statusChangedAt { object["status_changed_at"] = .int(statusChangedAt.milliseconds) }
        if let statusChangedBy { object["status_changed_by"] = .string(statusChangedBy) }
        return JSONWriter.string(.object(object))
    }

    /// Rebuilds a client from its document and indexed columns.
    public init(
        document: String, clientID: String, createdAt: Timestamp, updatedAt: Timestamp,
        secretDigest: String?, registrationTokenDigest: String?, version: Int64,
        policy: String = "anonymous", dynamicallyRegistered: Bool? = nil, expiresAt: Timestamp? = nil, lastUsedAt: Timestamp? = nil
    ) throws {
        // A document that does not read back is the store's failure (500), never the request's:
        // its metadata was validated before it was stored.
        let parsed: JSONValue
        // The request's metadata sits a level deeper here (`{"metadata": {...}}`): the limit is a
        // level higher, so whatever a request may nest reads back.
        do { parsed = try JSONParser.parse(Array(document.utf8), maximumDepth: JSONParser.maximumDepth + 1) } catch {
            throw StoreError.corrupt("client \(clientID) has an unreadable document (\(error))")
        }
        guard case .object(let object) = parsed, case .object(let metadataObject)? = object["metadata"]
        else { throw StoreError.corrupt("client \(clientID) has an unreadable document (no metadata object)") }
        let metadata: ClientMetadata
        do { metadata = try ClientMetadata(json: metadataObject) } catch {
            throw StoreError.corrupt("client \(clientID) has stored metadata that no longer reads (\(error.code.rawValue): \(error.errorDescription))")
        }
        func bool(_ name: String, _ fallback: Bool) -> Bool {
            if case .bool(let b)? = object[name] { return b }
            return fallback
        }
        var secretExpiresAt: Int64 = 0
        if case .int(let value)? = object["secret_expires_at"] { secretExpiresAt = value }
        var tokenIssuedAt = createdAt
        if case .int(let value)? = object["token_issued_at"] { tokenIssuedAt = Timestamp(milliseconds: value) }
        self.init(
            clientID: clientID,
            metadata: metadata,
            createdAt: createdAt, updatedAt: updatedAt,
            secretDigest: secretDigest, sealedSecret: object["sealed_secret"]?.stringValue,
            secretExpiresAt: secretExpiresAt, registrationTokenDigest: registrationTokenDigest,
            dynamicallyRegistered: dynamicallyRegistered ?? bool("dynamically_registered", true),
            reuseRefreshToken: bool("reuse_refresh_token", true),
            clearAccessTokensOnRefresh: bool("clear_access_tokens_on_refresh", true),
            active: bool("active", true), version: version, policy: policy, expiresAt: expiresAt, lastUsedAt: lastUsedAt,
            softwareStatement: object["software_statement"]?.stringValue, tokenIssuedAt: tokenIssuedAt)
        self.admin = bool("admin", false)
        if case .int(let changed)? = object["status_changed_at"] { statusChangedAt = Timestamp(milliseconds: changed) }
        statusChangedBy = object["status_changed_by"]?.stringValue
    }
}
