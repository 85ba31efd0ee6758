extension ClientMetadata {
    /// Reads the recognised members of a JSON object, checking JSON types strictly.
    ///
    /// Unknown members are dropped (RFC 7591 §2). `null` stands for an omitted member, and so does
    /// an empty string for an optional string member (many clients serialise unset fields that
    /// way). A type mismatch is `invalid_redirect_uri` for `redirect_uris` and
    /// `invalid_client_metadata` otherwise; the description names the member.
    public init(json object: JSONObject) throws(RegistrarError) {
        self.init()
        let reader = Reader(object: object)
        typealias M = Member
        redirectURIs = try reader.strings(M.redirectURIs, error: RegistrarError.invalidRedirectURI)
        tokenEndpointAuthMethod = try reader.string(M.tokenEndpointAuthMethod).map(AuthMethod.init(rawValue:))
        grantTypes = try reader.optionalStrings(M.grantTypes)?.map(GrantType.init(rawValue:))
        responseTypes = try reader.optionalStrings(M.responseTypes)?.map(ResponseType.init(rawValue:))
        clientName = try reader.string(M.clientName)
        clientURI = try reader.string(M.clientURI)
        logoURI = try reader.string(M.logoURI)
        scope = try reader.scope(M.scope)
        contacts = try reader.strings(M.contacts)
        tosURI = try reader.string(M.tosURI)
        policyURI = try reader.string(M.policyURI)
        jwksURI = try reader.string(M.jwksURI)
        jwks = try reader.object(M.jwks)
        softwareID = try reader.string(M.softwareID)
        softwareVersion = try reader.string(M.softwareVersion)
        clientDescription = try reader.string(M.clientDescription)
        applicationType = try reader.string(M.applicationType).map(ApplicationType.init(rawValue:))
        sectorIdentifierURI = try reader.string(M.sectorIdentifierURI)
        subjectType = try reader.string(M.subjectType)
        idTokenSignedResponseAlg = try reader.string(M.idTokenSignedResponseAlg)
        idTokenEncryptedResponseAlg = try reader.string(M.idTokenEncryptedResponseAlg)
        idTokenEncryptedResponseEnc = try reader.string(M.idTokenEncryptedResponseEnc)
        userinfoSignedResponseAlg = try reader.string(M.userinfoSignedResponseAlg)
        userinfoEncryptedResponseAlg = try reader.string(M.userinfoEncryptedResponseAlg)
        userinfoEncryptedResponseEnc = try reader.string(M.userinfoEncryptedResponseEnc)
        requestObjectSigningAlg = try reader.string(M.requestObjectSigningAlg)
        requestObjectEncryptionAlg = try reader.string(M.requestObjectEncryptionAlg)
        requestObjectEncryptionEnc = try reader.string(M.requestObjectEncryptionEnc)
        tokenEndpointAuthSigningAlg = try reader.string(M.tokenEndpointAuthSigningAlg)
        defaultMaxAge = try reader.integer(M.defaultMaxAge)
        requireAuthTime = try reader.bool(M.requireAuthTime)
        defaultACRValues = try reader.strings(M.defaultACRValues)
        initiateLoginURI = try reader.string(M.initiateLoginURI)
        requestURIs = try reader.strings(M.requestURIs)
        postLogoutRedirectURIs = try reader.strings(M.postLogoutRedirectURIs)
        frontchannelLogoutURI = try reader.string(M.frontchannelLogoutURI)
        frontchannelLogoutSessionRequired = try reader.bool(M.frontchannelLogoutSessionRequired)
        backchannelLogoutURI = try reader.string(M.backchannelLogoutURI)
        backchannelLogoutSessionRequired = try reader.bool(M.backchannelLogoutSessionRequired)

        // Localized variants (`client_name#fr`); most names have no `#`, found without walking
        // the name's characters.
        for (key, _) in object.members where Self.hasHash(key) {
            guard let hash = key.firstIndex(of: "#") else { continue }
            let base = String(key[..<hash])
            guard Member.localizable.contains(base) else { continue }
            guard let value = try reader.string(key) else { continue }
            localized[key] = value
        }
    }

    /// Whether a member name has a `#`, searched in its UTF-8 storage (iterating `utf8` byte by
    /// byte was 2 % of decoding a client).
    static func hasHash(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { $0.contains(UInt8(ascii: "#")) }
    }

    /// The registered members as JSON, in Registrar's documented order, omitting what is unset.
    /// Localized variants follow their base member.
    ///
    /// A stored client's document keeps what this wrote, and a read copies it from there as it is
    /// (``StoredClientResponse``): a change to what this writes reaches the clients stored before
    /// it only through a migration that rewrites their documents.
    public func jsonMembers() -> [(String, JSONValue)] {
        typealias M = Member
        var out: [(String, JSONValue)] = []
        func add(_ name: String, _ value: String?) {
            if let value { out.append((name, .string(value))) }
            if !localized.isEmpty, M.localizable.contains(name) {
                for key in localized.keys.sorted() where key.hasPrefix(name + "#") {
                    out.append((key, .string(localized[key]!)))
                }
            }
        }
        func add(_ name: String, _ values: [String]?) {
            if let values, !values.isEmpty { out.append((name, .array(values.map(JSONValue.string)))) }
        }
        func add(_ name: String, _ value: Bool?) {
            if let value { out.append((name, .bool(value))) }
        }
        add(M.clientName, clientName)
        add(M.clientDescription, clientDescription)
        add(M.redirectURIs, redirectURIs)
        add(M.clientURI, clientURI)
        add(M.logoURI, logoURI)
        add(M.tosURI, tosURI)
        add(M.contacts, contacts)
        if let grantTypes { out.append((M.grantTypes, .array(grantTypes.map { .string($0.rawValue) }))) }
        if let responseTypes { out.append((M.responseTypes, .array(responseTypes.map { .string($0.rawValue) }))) }
        add(M.policyURI, policyURI)
        add(M.jwksURI, jwksURI)
        if let jwks { out.append((M.jwks, .object(jwks))) }
        add(M.tokenEndpointAuthMethod, tokenEndpointAuthMethod?.rawValue)
        add(M.tokenEndpointAuthSigningAlg, tokenEndpointAuthSigningAlg)
        if let scope { out.append((M.scope, .string(scope.joined(separator: " ")))) }
        add(M.applicationType, applicationType?.rawValue)
        add(M.subjectType, subjectType)
        add(M.sectorIdentifierURI, sectorIdentifierURI)
        add(M.idTokenSignedResponseAlg, idTokenSignedResponseAlg)
        add(M.idTokenEncryptedResponseAlg, idTokenEncryptedResponseAlg)
        add(M.idTokenEncryptedResponseEnc, idTokenEncryptedResponseEnc)
        add(M.userinfoSignedResponseAlg, userinfoSignedResponseAlg)
        add(M.userinfoEncryptedResponseAlg, userinfoEncryptedResponseAlg)
        add(M.userinfoEncryptedResponseEnc, userinfoEncryptedResponseEnc)
        add(M.requestObjectSigningAlg, requestObjectSigningAlg)
        add(M.requestObjectEncryptionAlg, requestObjectEncryptionAlg)
        add(M.requestObjectEncryptionEnc, requestObjectEncryptionEnc)
        if let defaultMaxAge { out.append((M.defaultMaxAge, .int(defaultMaxAge))) }
        add(M.requireAuthTime, requireAuthTime)
        add(M.defaultACRValues, defaultACRValues)
        add(M.initiateLoginURI, initiateLoginURI)
        add(M.requestURIs, requestURIs)
        add(M.postLogoutRedirectURIs, postLogoutRedirectURIs)
        add(M.frontchannelLogoutURI, frontchannelLogoutURI)
        add(M.frontchannelLogoutSessionRequired, frontchannelLogoutSessionRequired)
        add(M.backchannelLogoutURI, backchannelLogoutURI)
        add(M.backchannelLogoutSessionRequired, backchannelLogoutSessionRequired)
        add(M.softwareID, softwareID)
        add(M.softwareVersion, softwareVersion)
        return out
    }
}

/// Strict, member-naming accessors over a JSON object.
private struct Reader {
    let object: JSONObject

    func present(_ name: String) -> JSONValue? {
        guard let value = object[name] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func string(_ name: String) throws(RegistrarError) -> String? {
        guard let value = present(name) else { return nil }
        guard case .string(let s) = value else {
            throw RegistrarError.invalidClientMetadata("\(name) must be a string, not \(value.typeDescription)")
        }
        return s.isEmpty ? nil : s
    }

    func bool(_ name: String) throws(RegistrarError) -> Bool? {
        guard let value = present(name) else { return nil }
        guard case .bool(let b) = value else {
            throw RegistrarError.invalidClientMetadata("\(name) must be a boolean (true or false), not \(value.typeDescription)")
        }
        return b
    }

    func integer(_ name: String) throws(RegistrarError) -> Int64? {
        guard let value = present(name) else { return nil }
        guard case .int(let i) = value else {
            throw RegistrarError.invalidClientMetadata("\(name) must be an integer number of seconds")
        }
        return i
    }

    func object(_ name: String) throws(RegistrarError) -> JSONObject? {
        guard let value = present(name) else { return nil }
        guard case .object(let o) = value else {
            throw RegistrarError.invalidClientMetadata("\(name) must be a JSON object, not \(value.typeDescription)")
        }
        return o
    }

    func optionalStrings(
        _ name: String, error: (String) -> RegistrarError = RegistrarError.invalidClientMetadata
    ) throws(RegistrarError) -> [String]? {
        guard let value = present(name) else { return nil }
        guard case .array(let elements) = value else {
            throw error("\(name) must be an array of strings, not \(value.typeDescription)")
        }
        var result = UniqueValues<String>()
        for (i, element) in elements.enumerated() {
            guard case .string(let s) = element else {
                throw error("\(name)[\(i)] must be a string, not \(element.typeDescription)")
            }
            guard !s.isEmpty else { throw error("\(name)[\(i)] must not be empty") }
            result.append(s)
        }
        return result.values
    }

    func strings(
        _ name: String, error: (String) -> RegistrarError = RegistrarError.invalidClientMetadata
    ) throws(RegistrarError) -> [String] {
        try optionalStrings(name, error: error) ?? []
    }

    /// `scope` is one space-delimited string (RFC 7591 §2); duplicates are folded.
    func scope(_ name: String) throws(RegistrarError) -> [String]? {
        guard let value = present(name) else { return nil }
        guard case .string(let s) = value else {
            throw RegistrarError.invalidClientMetadata("\(name) must be a string of space-separated scope values, not \(value.typeDescription)")
        }
        // Split at space bytes, not at Characters: no grapheme breaking, one String per word.
        // (Scope tokens are ASCII, RFC 6749 §3.3; validation refuses any other.)
        var result = UniqueValues<String>()
        for token in s.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true) {
            result.append(String(decoding: token, as: UTF8.self))
        }
        return result.count == 0 ? nil : result.values
    }
}
