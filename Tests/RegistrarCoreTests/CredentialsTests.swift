import Foundation
import JWTKit
import RegistrarCore
import RegistrarTesting
import Testing

@Suite("Credentials")
struct CredentialsTests {
    @Test("secrets are 64 random bytes in base64url (86 characters) and differ")
    func secrets() {
        let generator = SecretGenerator(random: SystemRandomSource())
        let a = generator.makeSecret(), b = generator.makeSecret()
        #expect(a.count == 86 && b.count == 86 && a != b)
        #expect(Base64URL.decode(a)?.count == 64)
    }

    @Test("digests are SHA-256 and match only their secret")
    func digests() {
        // SHA-256("abc") = ba7816bf...
        #expect(SecretDigest.of("abc") == "sha256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0")
        #expect(SecretDigest.matches("abc", digest: SecretDigest.of("abc")))
        #expect(!SecretDigest.matches("abd", digest: SecretDigest.of("abc")))
    }

    @Test("sealed secrets open only for their client under their key")
    func sealing() throws {
        let key = SeededRandom(seed: 1).bytes(count: 32)
        let sealer = try SecretSealer(keyBytes: key)
        let sealed = try sealer.seal("s3cret", clientID: "client-a")
        #expect(!sealed.contains("s3cret"))
        #expect(try sealer.open(sealed, clientID: "client-a") == "s3cret")
        #expect(throws: (any Error).self) { try sealer.open(sealed, clientID: "client-b") }
        let other = try SecretSealer(keyBytes: SeededRandom(seed: 2).bytes(count: 32))
        #expect(throws: (any Error).self) { try other.open(sealed, clientID: "client-a") }
        #expect(throws: RegistrarError.self) { try SecretSealer(keyBytes: [1, 2, 3]) }
    }

    @Test("the system source fills buffers of any size, and never twice the same")
    func systemBytes() {
        let source = SystemRandomSource()
        for count in [0, 1, 7, 8, 9, 31, 64, 1000] { #expect(source.bytes(count: count).count == count) }
        #expect(source.bytes(count: 32) != source.bytes(count: 32))
        // 4,096 random bytes take nearly all 256 values; a buffer left partly unfilled would not.
        let many = source.bytes(count: 4096)
        #expect(Set(many).count > 240)
        #expect(Set(many[2048...]).count > 200)
    }

    @Test("version 4 UUIDs from the random source")
    func uuids() {
        let id = SystemRandomSource().uuid()
        #expect(id.count == 36)
        #expect(UUID(uuidString: id) != nil)
        let chars = Array(id)
        #expect(chars[14] == "4")
        #expect("89ab".contains(chars[19]))
        #expect(SeededRandom(seed: 3).uuid() == SeededRandom(seed: 3).uuid())
    }

    @Test("version 7 UUIDs for client IDs: the time in milliseconds first, so that later IDs sort after earlier ones")
    func timeOrderedUUIDs() {
        let random = SystemRandomSource()
        let t = Timestamp(milliseconds: 1_700_000_000_123)  // 0x018BCFE5687B
        let id = random.uuid(timeOrderedAt: t)
        #expect(UUID(uuidString: id) != nil && id == id.lowercased())
        #expect(id.hasPrefix("018bcfe5-687b-7"), "\(id)")
        #expect("89ab".contains(Array(id)[19]))
        #expect(random.uuid(timeOrderedAt: t) != id, "the rest is random")
        var previous = ""
        for ms in stride(from: Int64(1_700_000_000_000), to: 1_700_000_100_000, by: 997) {
            let next = random.uuid(timeOrderedAt: Timestamp(milliseconds: ms))
            #expect(next > previous)
            previous = next
        }
    }

    @Test("tokens signed with each server key verify against the published JWK Set", arguments: SigningAlgorithm.allCases)
    func tokensVerify(_ algorithm: SigningAlgorithm) async throws {
        let keys = try await TestKeys.keys()
        let key = try #require(keys.key(for: algorithm))
        let claims = JSONObject([("iss", .string("https://id.example.org")), ("aud", .string("client-1")), ("iat", .int(1_700_000_000)), ("jti", .string("j"))])
        let token = try JWTSigner.sign(claims: claims, with: key)
        let header = try #require(JSONParser.parse(Base64URL.decode(String(token.split(separator: ".")[0])) ?? []).objectValue)
        #expect(header["kid"] == .string(key.kid) && header["alg"] == .string(algorithm.rawValue))

        let collection = JWTKeyCollection()
        try await collection.add(jwksJSON: JSONWriter.string(.object(keys.jwks)))
        struct Payload: JWTPayload {
            var iss: IssuerClaim
            var aud: AudienceClaim
            var iat: IssuedAtClaim
            var jti: IDClaim
            func verify(using algorithm: some JWTAlgorithm) throws {}
        }
        let payload = try await collection.verify(token, as: Payload.self)
        #expect(payload.aud.value == ["client-1"])
        #expect(payload.iat.value == Date(timeIntervalSince1970: 1_700_000_000))
        // Another first character of the signature: six bits of its first byte change. (Changing
        // its last characters could leave it intact: the final base64url character carries only
        // two bits, so some replacements decode to the same bytes; that failed once in CI.)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let signature = parts[2]
        let forgedSignature = (signature.hasPrefix("A") ? "B" : "A") + signature.dropFirst()
        let forged = parts[0] + "." + parts[1] + "." + forgedSignature
        #expect(forged != token)
        await #expect(throws: (any Error).self) { try await collection.verify(forged, as: Payload.self) }
    }

    @Test("keys survive a round trip through their PEM form with the same kid")
    func keyRoundTrip() async throws {
        for key in try await TestKeys.keys().signingKeys {
            let loaded = try SigningKey(algorithm: key.algorithm, pem: key.privateKeyPEM, createdAt: key.createdAt)
            #expect(loaded.kid == key.kid)
            #expect(loaded.publicJWK == key.publicJWK)
            #expect(key.publicJWK["d"] == nil)
        }
    }

    @Test("key material is created once and then reused from the store")
    func keysPersist() async throws {
        let store = InMemoryClientStore()
        let first = try await ServerKeys.load(from: store, clock: TestClock(), random: SeededRandom())
        let second = try await ServerKeys.load(from: store, clock: TestClock(), random: SeededRandom(seed: 99))
        #expect(first.signingKeys.map(\.kid) == second.signingKeys.map(\.kid))
        #expect(first.signingKeys.count == 2)
        let sealed = try first.sealer.seal("x", clientID: "c")
        #expect(try second.sealer.open(sealed, clientID: "c") == "x")
        #expect(first.registrationTokenKey.kid == second.registrationTokenKey.kid)
        let input = Array("header.claims".utf8)
        #expect(second.registrationTokenKey.verify(first.registrationTokenKey.sign(input), over: input))
    }

    @Test("a stored registration token key that is not 32 bytes of base64url stops the load")
    func corruptRegistrationTokenKey() async throws {
        for stored in ["not base64url!", Base64URL.encode(Array(repeating: 1, count: 16))] {
            let store = InMemoryClientStore()
            _ = await store.serverSecret(named: RegistrationTokenKey.secretName, orInsert: stored)
            await #expect(throws: StoreError.self) {
                _ = try await ServerKeys.load(from: store, clock: TestClock(), random: SeededRandom())
            }
        }
    }

    @Test("starting with a different sealing key than the database's is refused")
    func sealingKeyMismatch() async throws {
        let store = InMemoryClientStore()
        let fileKey = SeededRandom(seed: 11).bytes(count: 32)
        _ = try await ServerKeys.load(from: store, clock: TestClock(), random: SeededRandom(), sealingKey: fileKey)
        _ = try await ServerKeys.load(from: store, clock: TestClock(), random: SeededRandom(), sealingKey: fileKey)
        await #expect(throws: KeyConfigurationError.self) {
            _ = try await ServerKeys.load(from: store, clock: TestClock(), random: SeededRandom())
        }
        await #expect(throws: KeyConfigurationError.self) {
            _ = try await ServerKeys.load(from: store, clock: TestClock(), random: SeededRandom(), sealingKey: SeededRandom(seed: 12).bytes(count: 32))
        }
    }
}

@Suite("In-memory store conformance")
struct InMemoryStoreConformanceTests {
    @Test("conformance", arguments: ClientStoreConformance.cases)
    func conformance(_ check: ClientStoreConformance.Case) async throws {
        try await check.run(InMemoryClientStore())
    }
}
