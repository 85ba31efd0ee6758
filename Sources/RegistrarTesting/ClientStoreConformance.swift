public import RegistrarCore

/// The storage conformance suite: the same behaviour checks, run against every `ClientStore`
/// (in-memory, SQLite, and every store added later). Each case gets a fresh, empty store.
public enum ClientStoreConformance {
    /// A store under test: clients and keys.
    public typealias Store = any ClientStore & KeyStore

    /// One check.
    public struct Case: Sendable, CustomStringConvertible {
        /// What is checked.
        public let name: String
        /// Runs the check; throws ``Failure`` when the store misbehaves.
        public let run: @Sendable (Store) async throws -> Void
        public var description: String { name }
    }

    /// A failed expectation, with what was expected.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Failure(description: message()) }
    }

    /// A client with rich metadata, so that the document round trip is exercised.
    public static func sampleClient(id: String, tokenDigest: String? = nil, createdAt: Int64 = 1_700_000_000_000) -> RegisteredClient {
        var metadata = ClientMetadata()
        metadata.redirectURIs = ["https://app.example/cb", "http://127.0.0.1:8400/cb"]
        metadata.clientName = "sample \(id)"
        metadata.localized = ["client_name#ja-Jpan-JP": "サンプル", "tos_uri#de": "https://app.example/agb"]
        metadata.grantTypes = [.authorizationCode, .refreshToken]
        metadata.responseTypes = [.code]
        metadata.tokenEndpointAuthMethod = .clientSecretBasic
        metadata.scope = ["openid", "email", "offline_access"]
        metadata.contacts = ["ops@app.example"]
        metadata.jwks = JSONObject([("keys", .array([.object(JSONObject([("kty", .string("EC")), ("crv", .string("P-256")),
                                                                            ("x", .string("x")), ("y", .string("y"))]))]))])
        metadata.applicationType = .web
        metadata.defaultMaxAge = 3600
        metadata.requireAuthTime = true
        return RegisteredClient(
            clientID: id, metadata: metadata, createdAt: Timestamp(milliseconds: createdAt),
            secretDigest: SecretDigest.of("secret-\(id)"), sealedSecret: nil, secretExpiresAt: 0,
            registrationTokenDigest: tokenDigest ?? SecretDigest.of("token-\(id)"))
    }

    /// Every case.
    public static let cases: [Case] = [
        Case(name: "a stored client reads back identically, by ID and by token digest") { store in
            let client = sampleClient(id: "c1")
            try await store.insert(client)
            let byID = try await store.client(id: "c1")
            try expect(byID == client, "read by ID differs: \(String(describing: byID))")
            let byToken = try await store.client(registrationTokenDigest: SecretDigest.of("token-c1"))
            try expect(byToken == client, "read by token digest differs")
            try expect(try await store.client(id: "nope") == nil, "unknown ID found")
            try expect(try await store.client(registrationTokenDigest: SecretDigest.of("nope")) == nil, "unknown digest found")
            try expect(try await store.count() == 1, "count is not 1")
        },
        Case(name: "a second client with the same ID or token digest is refused and the first is kept") { store in
            let first = sampleClient(id: "dup")
            try await store.insert(first)
            do {
                try await store.insert(sampleClient(id: "dup", tokenDigest: "other"))
                throw Failure(description: "duplicate client_id accepted")
            } catch StoreError.duplicate {}
            do {
                try await store.insert(sampleClient(id: "dup2", tokenDigest: SecretDigest.of("token-dup")))
                throw Failure(description: "duplicate token digest accepted")
            } catch StoreError.duplicate {}
            try expect(try await store.client(id: "dup") == first, "first client changed")
            try expect(try await store.client(id: "dup2") == nil, "second client half-written")
            try expect(try await store.count() == 1, "count is not 1")
        },
        Case(name: "an update applies only against the version it read") { store in
            let client = sampleClient(id: "u1")
            try await store.insert(client)
            var changed = client
            changed.metadata.clientName = "renamed"
            changed.version = 2
            changed.updatedAt = Timestamp(milliseconds: client.createdAt.milliseconds + 5)
            try expect(try await store.update(changed, expectedVersion: 1), "update with the current version refused")
            try expect(try await store.client(id: "u1") == changed, "update not visible")
            var stale = client
            stale.metadata.clientName = "stale"
            stale.version = 2
            try expect(try await store.update(stale, expectedVersion: 1) == false, "stale update applied")
            try expect(try await store.client(id: "u1") == changed, "stale update changed the record")
            var ghost = sampleClient(id: "ghost")
            ghost.version = 2
            try expect(try await store.update(ghost, expectedVersion: 1) == false, "update of a missing client reported success")
            try expect(try await store.client(id: "ghost") == nil, "update created a client")
        },
        Case(name: "an update that changes the token digest moves the lookup") { store in
            try await store.insert(sampleClient(id: "t1"))
            var changed = try await store.client(id: "t1")!
            changed.registrationTokenDigest = SecretDigest.of("new-token")
            changed.version = 2
            try expect(try await store.update(changed, expectedVersion: 1), "update refused")
            try expect(try await store.client(registrationTokenDigest: SecretDigest.of("token-t1")) == nil, "old digest still finds the client")
            try expect(try await store.client(registrationTokenDigest: SecretDigest.of("new-token"))?.clientID == "t1", "new digest does not find the client")
        },
        Case(name: "a deleted client is gone with its token digest") { store in
            try await store.insert(sampleClient(id: "d1"))
            try await store.insert(sampleClient(id: "d2"))
            try expect(try await store.delete(id: "d1"), "delete reported no client")
            try expect(try await store.client(id: "d1") == nil, "deleted client readable")
            try expect(try await store.client(registrationTokenDigest: SecretDigest.of("token-d1")) == nil, "deleted client's token still resolves")
            try expect(try await store.delete(id: "d1") == false, "second delete reported success")
            try expect(try await store.client(id: "d2") != nil, "the other client was deleted too")
            try expect(try await store.count() == 1, "count is not 1")
        },
        Case(name: "revoking a token needs its current digest and keeps the client") { store in
            try await store.insert(sampleClient(id: "r1"))
            try await store.revokeRegistrationToken(clientID: "r1", digest: SecretDigest.of("wrong"))
            try expect(try await store.client(registrationTokenDigest: SecretDigest.of("token-r1")) != nil, "revoked with a wrong digest")
            try await store.revokeRegistrationToken(clientID: "r1", digest: SecretDigest.of("token-r1"))
            try expect(try await store.client(registrationTokenDigest: SecretDigest.of("token-r1")) == nil, "token still resolves after revocation")
            let client = try await store.client(id: "r1")
            try expect(client != nil && client?.registrationTokenDigest == nil, "client lost or digest kept")
            try expect((client?.version ?? 0) > 1, "revocation did not bump the version")
        },
        Case(name: "concurrent inserts all land, distinct and readable") { store in
            let count = 64
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<count {
                    group.addTask { try await store.insert(sampleClient(id: "con-\(i)")) }
                }
                try await group.waitForAll()
            }
            try expect(try await store.count() == count, "count is not \(count)")
            for i in 0..<count {
                let client = try await store.client(registrationTokenDigest: SecretDigest.of("token-con-\(i)"))
                try expect(client?.clientID == "con-\(i)" && client?.secretDigest == SecretDigest.of("secret-con-\(i)"),
                           "client con-\(i) mixed up with another")
            }
        },
        Case(name: "of concurrent updates from the same version exactly one wins") { store in
            let base = sampleClient(id: "race")
            try await store.insert(base)
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        var changed = base
                        changed.metadata.clientName = "writer \(i)"
                        changed.version = 2
                        return try await store.update(changed, expectedVersion: 1)
                    }
                }
                var wins = 0
                for try await won in group where won { wins += 1 }
                return wins
            }
            try expect(wins == 1, "\(wins) updates won")
            let stored = try await store.client(id: "race")
            try expect(stored?.version == 2 && stored?.metadata.clientName?.hasPrefix("writer ") == true, "torn record: \(String(describing: stored))")
        },
        Case(name: "a concurrent update and delete of one client leave either nothing or the whole update") { store in
            for round in 0..<10 {
                let base = sampleClient(id: "ud-\(round)")
                try await store.insert(base)
                var changed = base
                changed.metadata.clientName = "updated"
                changed.metadata.redirectURIs = ["https://other.example/cb"]
                changed.version = 2
                async let updated = store.update(changed, expectedVersion: 1)
                async let deleted = store.delete(id: base.clientID)
                let (u, d) = try await (updated, deleted)
                try expect(d, "delete did not find the client")
                let after = try await store.client(id: base.clientID)
                try expect(after == nil, "client survived its delete (update won: \(u))")
            }
        },
        Case(name: "the first signing key of an algorithm stays; server secrets keep their first value") { store in
            let a = StoredSigningKey(kid: "k1", algorithm: "ES256", privateKeyPEM: "pem-1", createdAt: Timestamp(milliseconds: 1))
            let b = StoredSigningKey(kid: "k2", algorithm: "ES256", privateKeyPEM: "pem-2", createdAt: Timestamp(milliseconds: 2))
            let c = StoredSigningKey(kid: "k3", algorithm: "RS256", privateKeyPEM: "pem-3", createdAt: Timestamp(milliseconds: 3))
            try expect(try await store.insertSigningKeyIfNone(a), "first key refused")
            try expect(try await store.insertSigningKeyIfNone(b) == false, "second key of the same algorithm stored")
            try expect(try await store.insertSigningKeyIfNone(c), "key of another algorithm refused")
            try expect(try await store.signingKeys() == [a, c], "stored keys differ")
            try expect(try await store.serverSecret(named: "s", orInsert: "one") == "one", "first secret not stored")
            try expect(try await store.serverSecret(named: "s", orInsert: "two") == "one", "second secret replaced the first")
        },
    ]
}
