import ArgumentParser
import RegistrarCore

/// `registrar bench-codec`: times, in this process, the JSON work of the request paths: parsing a
/// registration body, reading metadata from it, decoding a stored client, writing a client's
/// metadata and its stored document, signing a registration access token and an access token.
/// Each figure is the best of five rounds, in nanoseconds per operation, so runs on a busy machine
/// compare (`Benchmarks/run.sh --codec`).
struct BenchCodecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-codec", abstract: "Time JSON parsing, client decoding and writing in-process (for Benchmarks/run.sh --codec).",
        shouldDisplay: false)

    @Option(name: .long, help: "Operations per round.") var iterations = 100_000

    /// The seed's registration request (the `register` scenario's body).
    static let body = Array(#"""
        {"redirect_uris":["https://another.client.example/oidc"],"client_name":"another-example-client","contacts":["test@iam.test"],"token_endpoint_auth_method":"client_secret_basic","scope":"address phone openid email profile offline_access","grant_types":["refresh_token","authorization_code"],"response_types":["code"]}
        """#.utf8)

    func run() throws {
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
        guard case .object(let object) = try JSONParser.parse(Self.body) else { throw CommandFailure("the sample body is not an object") }
        let metadata = try MetadataValidator.standard.validate(try ClientMetadata(json: object),
                                                               configuration: ServerConfiguration(issuer: "http://127.0.0.1"))
        let created = Timestamp(milliseconds: 1_795_820_596_772)
        let client = RegisteredClient(clientID: "0190c6a2-7d1e-7c3a-9b1f-2f6d8e4a1b2c", metadata: metadata, createdAt: created, updatedAt: created,
                                      secretDigest: "digest", registrationTokenDigest: "digest", tokenIssuedAt: created)
        let document = client.document
        var sink = 0

        print("operation                    ns/op")
        try time("parse the body") {
            if case .object(let o) = try JSONParser.parse(Self.body) { sink &+= o.count }
        }
        try time("metadata from the body") {
            if case .object(let o) = try JSONParser.parse(Self.body) { sink &+= try ClientMetadata(json: o).redirectURIs.count }
        }
        try time("decode a stored client") {
            let decoded = try RegisteredClient(document: document, clientID: client.clientID, createdAt: created, updatedAt: created,
                                               secretDigest: "digest", registrationTokenDigest: "digest", version: 1)
            sink &+= decoded.metadata.redirectURIs.count
        }
        time("write the metadata") {
            sink &+= JSONWriter.bytes(.object(JSONObject(client.metadata.jsonMembers()))).count
        }
        time("write the stored document") {
            sink &+= client.document.utf8.count
        }
        time("a client's search terms") {
            sink &+= ClientSearchKind.allTerms(of: client).count
        }
        // An access token's shape (RFC 9068 claims, an ES256 signature's 64 bytes): what
        // introspection splits and decodes before it verifies the signature.
        let token = [#"{"typ":"at+jwt","alg":"ES256","kid":"keBW0ZPAxll2lx-f22x2oG"}"#,
                     #"{"iss":"http://127.0.0.1:8080","sub":"bench-0","aud":"http://127.0.0.1:8080","client_id":"bench-0","scope":"read","iat":1795880000,"exp":1795883600,"jti":"0190c6a2-7d1e-7c3a-9b1f-2f6d8e4a1b2c"}"#]
            .map { Base64URL.encode(Array($0.utf8)) }.joined(separator: ".") + "." + Base64URL.encode([UInt8](repeating: 7, count: 64))
        time("split an access token") {
            sink &+= CompactJWS(token)?.signature.count ?? 0
        }
        // A registration access token as the server signs it by default (HS256), and an access
        // token (ES256, RFC 9068 claims): JSON, base64url and the signature.
        let tokenKey = RegistrationTokenKey.generate()
        time("sign a registration token") {
            let claims = JSONObject([("iss", .string("http://127.0.0.1:8080")), ("aud", .string(client.clientID)),
                                     ("iat", .int(1_795_880_000)), ("jti", .string("0190c6a2-7d1e-7c3a-9b1f-2f6d8e4a1b2c"))])
            sink &+= JWTSigner.sign(claims: claims, with: tokenKey).utf8.count
        }
        let accessKey = try SigningKey.generate(.es256, createdAt: created)
        let accessClaims = try JSONParser.parse(Array(#"{"iss":"http://127.0.0.1:8080","sub":"bench-0","aud":"http://127.0.0.1:8080","client_id":"bench-0","scope":"read","iat":1795880000,"exp":1795883600,"jti":"0190c6a2-7d1e-7c3a-9b1f-2f6d8e4a1b2c"}"#.utf8)).objectValue ?? JSONObject()
        try time("sign an access token") {
            sink &+= try JWTSigner.sign(claims: accessClaims, with: accessKey, type: "at+jwt").utf8.count
        }
        // Keeps the work from being optimized away.
        if sink == 42 { print("") }
    }

    private func time(_ name: String, _ operation: () throws -> Void) rethrows {
        var best = Duration.seconds(3600)
        for _ in 0..<5 {
            let start = ContinuousClock.now
            for _ in 0..<iterations { try operation() }
            best = min(best, ContinuousClock.now - start)
        }
        let nanoseconds = Double(best.components.seconds) * 1e9 + Double(best.components.attoseconds) / 1e9
        let padded = name.count < 28 ? name + String(repeating: " ", count: 28 - name.count) : name
        print("\(padded) \(Int((nanoseconds / Double(iterations)).rounded()))")
    }
}
