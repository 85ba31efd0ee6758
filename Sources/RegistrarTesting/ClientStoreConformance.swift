public import RegistrarCore

/// The storage conformance suite: the same behaviour checks, run against every `ClientStore`
/// (in-memory, SQLite, and every store added later). Each case gets a fresh, empty store.
public enum ClientStoreConformance {
    /// A store under test: clients and keys.
    public typealias Store = any ClientStore & KeyStore & TokenStateStore & AuditStore

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
        Case(name: "a stored client reads back identically by ID, its token digest with it") { store in
            let client = sampleClient(id: "c1")
            try await store.insert(client)
            let byID = try await store.client(id: "c1")
            try expect(byID == client, "read by ID differs: \(String(describing: byID))")
            try expect(byID?.registrationTokenDigest == SecretDigest.of("token-c1"), "token digest not stored")
            try expect(try await store.client(id: "nope") == nil, "unknown ID found")
            try expect(try await store.count() == 1, "count is not 1")
        },
        Case(name: "a stored client's row, undecoded, is what the client was stored as, and changes with it") { store in
            let client = sampleClient(id: "r1")
            try await store.insert(client)
            let row = try await store.storedClient(id: "r1")
            try expect(row == StoredClientRow(client), "row differs: \(String(describing: row))")
            try expect(try row?.client(id: "r1") == client, "the row does not decode to the client")
            try expect(try await store.storedClient(id: "nope") == nil, "unknown ID found")
            var changed = client
            changed.metadata.clientName = "renamed"
            changed.version = 2
            changed.updatedAt = Timestamp(milliseconds: client.createdAt.milliseconds + 5)
            try expect(try await store.update(changed, expectedVersion: 1), "update refused")
            try expect(try await store.storedClient(id: "r1") == StoredClientRow(changed), "the row does not follow the update")
            try expect(try await store.delete(id: "r1"), "delete refused")
            try expect(try await store.storedClient(id: "r1") == nil, "a deleted client's row is still read")
        },
        Case(name: "a second client with the same ID is refused and the first is kept") { store in
            let first = sampleClient(id: "dup")
            try await store.insert(first)
            do {
                try await store.insert(sampleClient(id: "dup", tokenDigest: "other"))
                throw Failure(description: "duplicate client_id accepted")
            } catch StoreError.duplicate {}
            try expect(try await store.client(id: "dup") == first, "first client changed")
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
        Case(name: "an update that changes the token digest stores the new one") { store in
            try await store.insert(sampleClient(id: "t1"))
            var changed = try await store.client(id: "t1")!
            changed.registrationTokenDigest = SecretDigest.of("new-token")
            changed.version = 2
            try expect(try await store.update(changed, expectedVersion: 1), "update refused")
            try expect(try await store.client(id: "t1")?.registrationTokenDigest == SecretDigest.of("new-token"), "new digest not stored")
        },
        Case(name: "an update replacing the record it read writes every change and nothing else") { store in
            func ids(_ kind: ClientSearchKind, _ text: String) async throws -> [String] {
                try await store.searchClients(kind: kind, prefix: text, offset: 0, limit: 10, dynamicOnly: false).clients.map(\.clientID)
            }
            try await store.insert(sampleClient(id: "r1"))
            try await store.insert(sampleClient(id: "r2"))
            let read = try await store.client(id: "r1")!
            var changed = read
            changed.metadata.clientName = "Renamed Portal"
            changed.metadata.redirectURIs = ["https://moved.example/cb", "http://127.0.0.1:8400/cb"]
            changed.registrationTokenDigest = SecretDigest.of("rotated-r1")
            changed.secretDigest = SecretDigest.of("new-secret")
            changed.policy = "partners"
            changed.dynamicallyRegistered = false
            changed.expiresAt = Timestamp(milliseconds: 1_900_000_000_000)
            changed.version = read.version + 1
            changed.updatedAt = Timestamp(milliseconds: read.updatedAt.milliseconds + 5)
            try expect(try await store.update(changed, replacing: read), "update refused")
            var expected = changed
            expected.lastUsedAt = read.lastUsedAt
            try expect(try await store.client(id: "r1") == expected, "stored record differs from the update")
            try expect(try await ids(.redirectUri, "moved.example") == ["r1"], "new redirect URI not searchable")
            try expect(try await ids(.redirectUri, "app.example") == ["r2"], "removed redirect URI still finds the client")
            try expect(try await ids(.redirectUri, "http://127.0.0.1:8400") == ["r1", "r2"], "kept redirect URI lost")
            try expect(try await ids(.name, "renamed") == ["r1"], "new name not searchable")
            try expect(try await store.countDynamicClients(policy: nil) == 1, "dynamic flag not written")
            // A second writer that read the same version loses.
            var stale = read
            stale.metadata.clientName = "stale"
            stale.version = read.version + 1
            try expect(try await store.update(stale, replacing: read) == false, "stale update applied")
            try expect(try await store.client(id: "r1") == expected, "stale update changed the record")
            var back = changed
            back.metadata = read.metadata
            back.version = changed.version + 1
            try expect(try await store.update(back, replacing: changed), "second update refused")
            try expect(try await ids(.redirectUri, "app.example") == ["r1", "r2"], "restored redirect URI not searchable")
            try expect(try await ids(.redirectUri, "moved").isEmpty, "dropped redirect URI still searchable")
            var ghost = sampleClient(id: "ghost")
            ghost.version = 2
            try expect(try await store.update(ghost, replacing: sampleClient(id: "ghost")) == false, "update of a missing client reported success")
            try expect(try await store.client(id: "ghost") == nil, "update created a client")
        },
        Case(name: "a registration without token or cap stores the client and its search terms, and refuses a duplicate") { store in
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            let client = sampleClient(id: "plain")
            try await store.register(client, spendingToken: nil, limits: .none, now: now)
            try expect(try await store.client(id: "plain") == client, "registered client differs")
            try expect(try await store.client(id: "plain")?.registrationTokenDigest == SecretDigest.of("token-plain"), "token digest not stored")
            let found = try await store.searchClients(kind: .redirectUri, prefix: "https://app.example", offset: 0, limit: 10, dynamicOnly: false)
            try expect(found.clients.map(\.clientID) == ["plain"], "search terms not stored")
            do {
                try await store.register(sampleClient(id: "plain", tokenDigest: "other"), spendingToken: nil, limits: .none, now: now)
                throw Failure(description: "duplicate client ID registered")
            } catch StoreError.duplicate {}
            try expect(try await store.client(id: "plain") == client, "a refused registration changed the client")
            try expect(try await store.searchClients(kind: .name, prefix: "plain", offset: 0, limit: 10, dynamicOnly: false).total == 1,
                       "a refused registration left search terms")
            try expect(try await store.count() == 1, "count after the refusal")
        },
        Case(name: "registrations arriving together are stored with exactly their search terms; a duplicate among them fails alone") { store in
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            try await store.register(sampleClient(id: "taken"), spendingToken: nil, limits: .none, now: now)
            // Names with a tab, quotes, a backslash and non-ASCII letters: the terms survive the trip.
            let names = ["tab\there", "quote \"q\" back\\slash", "naïve 東京", "plain"]
            let clients = (0..<40).map { i -> RegisteredClient in
                var client = sampleClient(id: i == 17 ? "taken" : "together-\(i)")
                if i == 17 { client.registrationTokenDigest = SecretDigest.of("token-other") }
                client.metadata.clientName = names[i % names.count] + " \(i)"
                return client
            }
            let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
                for client in clients {
                    group.addTask {
                        do {
                            try await store.register(client, spendingToken: nil, limits: .none, now: now)
                            return (client.clientID, true)
                        } catch {
                            return (client.clientID, false)
                        }
                    }
                }
                return await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            try expect(outcomes.filter { !$0.1 }.map(\.0) == ["taken"], "failed registrations: \(outcomes.filter { !$0.1 })")
            let count = try await store.count()
            try expect(count == 40, "count is \(count), not 40")
            for client in clients where client.clientID != "taken" {
                try expect(try await store.client(id: client.clientID) == client, "\(client.clientID) differs")
                for (kind, term) in ClientSearchKind.allTerms(of: client) {
                    let found = try await store.searchClients(kind: kind, prefix: term, offset: 0, limit: 100, dynamicOnly: false)
                    try expect(found.clients.contains { $0.clientID == client.clientID },
                               "\(client.clientID) not found by its \(kind.rawValue) term \(term)")
                }
            }
            let tabbed = try await store.searchClients(kind: .name, prefix: "tab\there 0", offset: 0, limit: 10, dynamicOnly: false)
            try expect(tabbed.clients.map(\.clientID) == ["together-0"], "the name with a tab: \(tabbed.clients.map(\.clientID))")
            try expect(try await store.client(id: "taken")?.registrationTokenDigest == SecretDigest.of("token-taken"),
                       "the duplicate replaced the first client")
        },
        Case(name: "a deleted client is gone with its token digest") { store in
            try await store.insert(sampleClient(id: "d1"))
            try await store.insert(sampleClient(id: "d2"))
            try expect(try await store.delete(id: "d1"), "delete reported no client")
            try expect(try await store.client(id: "d1") == nil, "deleted client readable")
            try expect(try await store.delete(id: "d1") == false, "second delete reported success")
            try expect(try await store.client(id: "d2") != nil, "the other client was deleted too")
            try expect(try await store.count() == 1, "count is not 1")
        },
        Case(name: "revoking a token needs its current digest and keeps the client") { store in
            try await store.insert(sampleClient(id: "r1"))
            try await store.revokeRegistrationToken(clientID: "r1", digest: SecretDigest.of("wrong"))
            try expect(try await store.client(id: "r1")?.registrationTokenDigest == SecretDigest.of("token-r1"), "revoked with a wrong digest")
            try await store.revokeRegistrationToken(clientID: "r1", digest: SecretDigest.of("token-r1"))
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
                let client = try await store.client(id: "con-\(i)")
                try expect(client?.registrationTokenDigest == SecretDigest.of("token-con-\(i)") && client?.secretDigest == SecretDigest.of("secret-con-\(i)"),
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
        Case(name: "concurrent updates of many clients apply each against its own version; stale ones change nothing, searches follow") { store in
            func ids(_ prefix: String) async throws -> Set<String> {
                Set(try await store.searchClients(kind: .name, prefix: prefix, offset: 0, limit: 100, dynamicOnly: false).clients.map(\.clientID))
            }
            var bases: [RegisteredClient] = []
            for i in 0..<24 {
                let base = sampleClient(id: "many-\(i)")
                try await store.insert(base)
                bases.append(base)
            }
            // Every third update expects a version its client does not have.
            func isStale(_ i: Int) -> Bool { i % 3 == 2 }
            let applied = try await withThrowingTaskGroup(of: (Int, Bool).self, returning: [Int: Bool].self) { group in
                for (i, base) in bases.enumerated() {
                    group.addTask {
                        var changed = base
                        changed.metadata.clientName = "Moved Portal \(i)"
                        changed.metadata.redirectURIs = ["https://moved-\(i).example/cb"]
                        changed.version = base.version + 1
                        changed.updatedAt = Timestamp(milliseconds: base.updatedAt.milliseconds + 7)
                        return (i, try await store.update(changed, expectedVersion: isStale(i) ? base.version + 3 : base.version))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            for (i, base) in bases.enumerated() {
                let stored = try await store.client(id: base.clientID)
                if isStale(i) {
                    try expect(applied[i] == false, "the stale update of many-\(i) reported success")
                    try expect(stored == base, "the stale update of many-\(i) changed it")
                } else {
                    try expect(applied[i] == true, "the update of many-\(i) was refused")
                    try expect(stored?.metadata.clientName == "Moved Portal \(i)" && stored?.version == base.version + 1
                               && stored?.metadata.redirectURIs == ["https://moved-\(i).example/cb"], "many-\(i) not updated: \(String(describing: stored))")
                }
            }
            let moved = Set(bases.indices.filter { !isStale($0) }.map { "many-\($0)" })
            try expect(try await ids("moved portal") == moved, "the new names do not find exactly the updated clients")
            try expect(try await ids("sample many-") == Set(bases.map(\.clientID)).subtracting(moved), "the old names do not find exactly the clients left alone")
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
        Case(name: "a registration spends one use of its initial access token, and only a usable one") { store in
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            let token = InitialAccessToken(id: "iat1", digest: SecretDigest.of("rgi_one"), policy: "partners", note: "n", createdAt: now, maxUses: 2)
            try await store.insertInitialAccessToken(token)
            try expect(try await store.initialAccessToken(digest: SecretDigest.of("rgi_one")) == token, "token does not read back")
            try await store.register(sampleClient(id: "s1"), spendingToken: "iat1", limits: .none, now: now)
            try await store.register(sampleClient(id: "s2"), spendingToken: "iat1", limits: .none, now: now)
            do {
                try await store.register(sampleClient(id: "s3"), spendingToken: "iat1", limits: .none, now: now)
                throw Failure(description: "a used-up token registered a client")
            } catch StoreError.tokenUnusable {}
            try expect(try await store.client(id: "s3") == nil, "client stored although the token was used up")
            try expect(try await store.initialAccessToken(digest: SecretDigest.of("rgi_one"))?.uses == 2, "uses not counted")
            do {
                try await store.register(sampleClient(id: "s4"), spendingToken: "unknown", limits: .none, now: now)
                throw Failure(description: "an unknown token registered a client")
            } catch StoreError.tokenUnusable {}
        },
        Case(name: "an expired or revoked initial access token registers nothing") { store in
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            try await store.insertInitialAccessToken(InitialAccessToken(id: "old", digest: "d-old", policy: "p", createdAt: now,
                                                                        expiresAt: Timestamp(milliseconds: now.milliseconds + 1000)))
            try await store.insertInitialAccessToken(InitialAccessToken(id: "rev", digest: "d-rev", policy: "p", createdAt: now))
            try await store.register(sampleClient(id: "ok"), spendingToken: "old", limits: .none, now: now)
            do {
                try await store.register(sampleClient(id: "late"), spendingToken: "old", limits: .none, now: Timestamp(milliseconds: now.milliseconds + 1000))
                throw Failure(description: "an expired token registered a client")
            } catch StoreError.tokenUnusable {}
            try expect(try await store.revokeInitialAccessToken(id: "rev", at: now), "revocation found no token")
            try expect(try await store.revokeInitialAccessToken(id: "none", at: now) == false, "revoked a missing token")
            do {
                try await store.register(sampleClient(id: "after"), spendingToken: "rev", limits: .none, now: now)
                throw Failure(description: "a revoked token registered a client")
            } catch StoreError.tokenUnusable {}
            let listed = try await store.initialAccessTokens().map(\.id)
            try expect(Set(listed) == ["old", "rev"], "listing differs: \(listed)")
        },
        Case(name: "concurrent registrations cannot both spend a token's last use") { store in
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            for round in 0..<5 {
                try await store.insertInitialAccessToken(InitialAccessToken(id: "last-\(round)", digest: "d-last-\(round)", policy: "p",
                                                                            createdAt: now, maxUses: 1))
                let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for i in 0..<8 {
                        group.addTask {
                            do {
                                try await store.register(sampleClient(id: "race-\(round)-\(i)"), spendingToken: "last-\(round)", limits: .none, now: now)
                                return true
                            } catch StoreError.tokenUnusable {
                                return false
                            }
                        }
                    }
                    var wins = 0
                    for try await won in group where won { wins += 1 }
                    return wins
                }
                try expect(outcomes == 1, "round \(round): \(outcomes) registrations spent the last use")
            }
            try expect(try await store.count() == 5, "count is not 5")
        },
        Case(name: "caps on dynamically registered clients hold under concurrency, in all and per policy") { store in
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        var client = sampleClient(id: "cap-\(i)")
                        client.policy = "capped"
                        do {
                            try await store.register(client, spendingToken: nil, limits: ClientLimits(total: 100, perPolicy: 5), now: now)
                            return true
                        } catch StoreError.limitReached(let scope) {
                            guard scope == "capped" else { throw Failure(description: "wrong limit named: \(scope)") }
                            return false
                        }
                    }
                }
                var n = 0
                for try await ok in group where ok { n += 1 }
                return n
            }
            try expect(admitted == 5, "\(admitted) clients admitted under a cap of 5")
            try expect(try await store.countDynamicClients(policy: "capped") == 5, "policy count is not 5")
            var other = sampleClient(id: "other")
            other.policy = "open"
            do {
                try await store.register(other, spendingToken: nil, limits: ClientLimits(total: 5), now: now)
                throw Failure(description: "the global cap was passed")
            } catch StoreError.limitReached(let scope) {
                try expect(scope == "all", "wrong limit named: \(scope)")
            }
            var static_ = sampleClient(id: "static")
            static_.dynamicallyRegistered = false
            try await store.register(static_, spendingToken: nil, limits: ClientLimits(total: 5), now: now)
            try expect(try await store.countDynamicClients(policy: nil) == 5, "a static client counted as dynamic")
        },
        Case(name: "last use is recorded in batches and kept across updates") { store in
            try await store.insert(sampleClient(id: "used"))
            try await store.insert(sampleClient(id: "idle"))
            try await store.recordUse(["used": Timestamp(milliseconds: 1_700_000_100_000), "gone": Timestamp(milliseconds: 5)])
            try await store.recordUse(["used": Timestamp(milliseconds: 1_700_000_050_000)])
            let used = try await store.client(id: "used")
            try expect(used?.lastUsedAt == Timestamp(milliseconds: 1_700_000_100_000), "last use not recorded or went backwards")
            try expect(try await store.client(id: "idle")?.lastUsedAt == nil, "an idle client got a last use")
            var changed = used!
            changed.metadata.clientName = "changed"
            changed.version += 1
            try expect(try await store.update(changed, expectedVersion: used!.version), "update refused")
            try expect(try await store.client(id: "used")?.lastUsedAt == Timestamp(milliseconds: 1_700_000_100_000), "an update erased the last use")
        },
        Case(name: "stale clients are deleted: expired ones, and never-used ones when asked; used and static ones are kept") { store in
            let base = Timestamp(milliseconds: 1_700_000_000_000)
            var expired = sampleClient(id: "expired", createdAt: base.milliseconds)
            expired.expiresAt = Timestamp(milliseconds: base.milliseconds + 1000)
            let unused = sampleClient(id: "unused", createdAt: base.milliseconds)
            let used = sampleClient(id: "used", createdAt: base.milliseconds)
            let recent = sampleClient(id: "recent", createdAt: base.milliseconds + 10_000)
            var fixed = sampleClient(id: "static", createdAt: base.milliseconds)
            fixed.dynamicallyRegistered = false
            for client in [expired, unused, used, recent, fixed] { try await store.insert(client) }
            try await store.recordUse(["used": Timestamp(milliseconds: base.milliseconds + 500)])
            let now = Timestamp(milliseconds: base.milliseconds + 20_000)
            try expect(try await store.deleteStaleClients(now: now, unusedSince: nil) == 1, "expired client not deleted alone")
            try expect(try await store.client(id: "expired") == nil, "expired client kept")
            try expect(try await store.deleteStaleClients(now: now, unusedSince: Timestamp(milliseconds: base.milliseconds + 5000)) == 1, "wrong number of unused clients deleted")
            try expect(try await store.client(id: "unused") == nil, "unused client kept")
            for id in ["used", "recent", "static"] {
                try expect(try await store.client(id: id) != nil, "\(id) was deleted")
            }
        },
        Case(name: "an assertion jti is accepted once per client until purged; revocations are remembered until expiry") { store in
            let soon = Timestamp(milliseconds: 1_700_000_060_000)
            try expect(try await store.useAssertion(jti: "j1", clientID: "a", expiresAt: soon), "first use refused")
            try expect(try await store.useAssertion(jti: "j1", clientID: "a", expiresAt: soon) == false, "replay accepted")
            try expect(try await store.useAssertion(jti: "j1", clientID: "b", expiresAt: soon), "another client's jti collided")
            try await store.revokeAccessToken(jti: "t1", expiresAt: soon)
            try await store.revokeAccessToken(jti: "t1", expiresAt: soon)
            try expect(try await store.isAccessTokenRevoked(jti: "t1"), "revocation not remembered")
            try expect(try await store.isAccessTokenRevoked(jti: "t2") == false, "unrevoked token reported revoked")
            try await store.purgeExpiredTokenState(now: Timestamp(milliseconds: 1_700_000_000_000))
            try expect(try await store.isAccessTokenRevoked(jti: "t1"), "purged before expiry")
            try await store.purgeExpiredTokenState(now: soon)
            try expect(try await store.isAccessTokenRevoked(jti: "t1") == false, "not purged after expiry")
            try expect(try await store.useAssertion(jti: "j1", clientID: "a", expiresAt: soon), "purged jti still blocks")
        },
        Case(name: "a token's client is read in one lookup with its revocation: found while the token is live, not once it is revoked or the client is gone") { store in
            guard let lookup = store as? any ClientRevocationLookup else {
                throw Failure(description: "the store does not read a client with a revocation (ClientRevocationLookup)")
            }
            let client = sampleClient(id: "holder")
            try await store.insert(client)
            let soon = Timestamp(milliseconds: 1_700_000_060_000)
            try await store.revokeAccessToken(jti: "dead", expiresAt: soon)
            try expect(try await lookup.client(id: "holder", unlessRevoked: "live") == client, "a live token's client not found")
            try expect(try await lookup.client(id: "holder", unlessRevoked: "dead") == nil, "a revoked token's client found")
            try expect(try await lookup.client(id: "gone", unlessRevoked: "live") == nil, "a client that does not exist found")
            try expect(try await lookup.client(id: "gone", unlessRevoked: "dead") == nil, "a client that does not exist found, revoked token")
            try await store.purgeExpiredTokenState(now: soon)
            try expect(try await lookup.client(id: "holder", unlessRevoked: "dead") == client, "a purged revocation still hides the client")
            try expect(try await store.delete(id: "holder"), "delete failed")
            try expect(try await lookup.client(id: "holder", unlessRevoked: "live") == nil, "a deleted client found")
        },
        Case(name: "concurrent uses of one assertion: exactly one wins") { store in
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await store.useAssertion(jti: "race", clientID: "c", expiresAt: Timestamp(milliseconds: 1_700_000_060_000)) }
                }
                var n = 0
                for try await won in group where won { n += 1 }
                return n
            }
            try expect(wins == 1, "\(wins) uses of one jti accepted")
        },
        Case(name: "rotating a signing key retires the current one and keeps it readable") { store in
            let first = StoredSigningKey(kid: "k1", algorithm: "RS256", privateKeyPEM: "pem-1", createdAt: Timestamp(milliseconds: 1))
            _ = try await store.insertSigningKeyIfNone(first)
            let second = StoredSigningKey(kid: "k2", algorithm: "RS256", privateKeyPEM: "pem-2", createdAt: Timestamp(milliseconds: 2))
            try await store.rotateSigningKey(second, at: Timestamp(milliseconds: 2))
            let keys = try await store.signingKeys()
            try expect(keys.count == 2, "rotation lost a key")
            try expect(keys.first { $0.kid == "k1" }?.retiredAt == Timestamp(milliseconds: 2), "old key not retired")
            try expect(keys.first { $0.kid == "k2" }?.retiredAt == nil, "new key not current")
            try expect(try await store.insertSigningKeyIfNone(StoredSigningKey(kid: "k3", algorithm: "RS256", privateKeyPEM: "p", createdAt: Timestamp(milliseconds: 3))) == false,
                       "a second current key was stored")
        },
        Case(name: "clients list in pages by client_id, with a dynamic-only filter") { store in
            for i in 0..<7 {
                var client = sampleClient(id: "p\(i)")
                client.dynamicallyRegistered = i % 2 == 0
                try await store.insert(client)
            }
            let first = try await store.listClients(offset: 0, limit: 3, dynamicOnly: false)
            try expect(first.total == 7 && first.clients.map(\.clientID) == ["p0", "p1", "p2"], "first page differs")
            let last = try await store.listClients(offset: 6, limit: 3, dynamicOnly: false)
            try expect(last.clients.map(\.clientID) == ["p6"], "last page differs")
            let dynamic = try await store.listClients(offset: 0, limit: 10, dynamicOnly: true)
            try expect(dynamic.total == 4 && dynamic.clients.allSatisfy(\.dynamicallyRegistered), "dynamic filter")
        },
        Case(name: "search finds clients by term prefix, and follows updates and deletes") { store in
            var a = sampleClient(id: "sa")
            a.metadata.clientName = "Climate Portal"
            a.metadata.contacts = ["ops@climate.example"]
            try await store.insert(a)
            var b = sampleClient(id: "sb")
            b.metadata.clientName = "Physics portal"
            try await store.insert(b)
            func ids(_ kind: ClientSearchKind, _ text: String) async throws -> [String] {
                try await store.searchClients(kind: kind, prefix: text, offset: 0, limit: 10, dynamicOnly: false).clients.map(\.clientID)
            }
            try expect(try await ids(.name, "PORT") == ["sa", "sb"], "name word prefix")
            try expect(try await ids(.name, "clim") == ["sa"], "name prefix")
            try expect(try await ids(.contacts, "climate.ex") == ["sa"], "contact domain")
            try expect(try await ids(.redirectUri, "app.example") == ["sa", "sb"], "redirect host")
            try expect(try await ids(.scope, "offline") == ["sa", "sb"], "scope")
            try expect(try await ids(.grantType, "refresh") == ["sa", "sb"], "grant type")
            try expect(try await ids(.name, "portalx").isEmpty, "no match")
            var renamed = a
            renamed.metadata.clientName = "Weather"
            renamed.version = 2
            try expect(try await store.update(renamed, expectedVersion: 1), "update refused")
            try expect(try await ids(.name, "clim").isEmpty, "old name still found")
            try expect(try await ids(.name, "weath") == ["sa"], "new name not found")
            _ = try await store.delete(id: "sb")
            try expect(try await ids(.name, "port").isEmpty, "deleted client still found")
            let page = try await store.searchClients(kind: .name, prefix: "s", offset: 0, limit: 1, dynamicOnly: false)
            try expect(page.total == 1 && page.clients.count == 1, "paging of a search")
        },
        Case(name: "audit events are appended, read newest first per client, and purged by age") { store in
            let t0 = Timestamp(milliseconds: 1_700_000_000_000)
            try await store.appendAudit([
                AuditEvent(time: t0, kind: .created, clientID: "a", actorIP: "192.0.2.1", initialAccessTokenID: "iat"),
                AuditEvent(time: Timestamp(milliseconds: t0.milliseconds + 1000), kind: .read, clientID: "a"),
                AuditEvent(time: Timestamp(milliseconds: t0.milliseconds + 2000), kind: .denied, clientID: "b", outcome: "failure", detail: "invalid_token"),
                AuditEvent(time: Timestamp(milliseconds: t0.milliseconds + 3000), kind: .read, clientID: "ab"),
                AuditEvent(time: Timestamp(milliseconds: t0.milliseconds + 4000), kind: .rateLimited, clientID: nil, outcome: "failure"),
            ])
            let forA = try await store.auditEvents(clientID: "a", since: nil, limit: 10)
            try expect(forA.map(\.kind) == [.read, .created], "per-client order, and only that client's (not a client whose ID it begins)")
            try expect(try await store.auditEvents(clientID: "a", since: nil, limit: 1).map(\.kind) == [.read], "per-client limit")
            try expect(try await store.auditEvents(clientID: "a", since: Timestamp(milliseconds: t0.milliseconds + 500), limit: 10).map(\.kind) == [.read],
                       "per-client since")
            try expect(try await store.auditEvents(clientID: "ab", since: nil, limit: 10).map(\.clientID) == ["ab"], "a longer client ID")
            try expect(try await store.auditEvents(clientID: "", since: nil, limit: 10).isEmpty, "no client's events for an empty ID")
            try expect(forA.last?.actorIP == "192.0.2.1" && forA.last?.initialAccessTokenID == "iat", "actor lost")
            let recent = try await store.auditEvents(clientID: nil, since: Timestamp(milliseconds: t0.milliseconds + 1000), limit: 10)
            try expect(recent.map(\.kind) == [.rateLimited, .read, .denied, .read], "since filter")
            try expect(try await store.purgeAudit(before: Timestamp(milliseconds: t0.milliseconds + 1500)) == 2, "purge count")
            try expect(try await store.auditEvents(clientID: nil, since: nil, limit: 10).map(\.kind) == [.rateLimited, .read, .denied],
                       "purge left the wrong events")
            try expect(try await store.auditEvents(clientID: "a", since: nil, limit: 10).isEmpty, "a purged client's events still found")
            try expect(try await store.auditEvents(clientID: "b", since: nil, limit: 10).map(\.kind) == [.denied], "a kept client's events lost")
        },
    ]
}