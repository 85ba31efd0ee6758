import Foundation
import NIOHTTP1
import RegistrarCore
import Testing

/// Whether python3 with Authlib is available (CI installs it; locally `pip install authlib requests`).
let authlibAvailable: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import authlib, requests"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

/// A configuration whose anonymous policy may register machine clients.
let machineConfiguration = """
    registration:
      rate_limits:
        registrations: { per_minute: 0 }
        failed_tokens: { per_minute: 0 }
    policies:
      anonymous:
        grant_types:
          forbidden: []
    """

extension EndToEnd {
    @Suite("End to end: tokens")
    struct TokenEndToEndTests {
        @Test("Authlib, an independent OAuth client library, gets tokens with basic, post, client_secret_jwt and private_key_jwt",
              .enabled(if: authlibAvailable, "python3 with Authlib is not installed: pip install authlib requests"))
        func authlibInterop() async throws {
            let server = try ServerProcess()
            try await server.start(configuration: machineConfiguration)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Interop/authlib_client.py").path
            let (status, output, errors) = try runProcess("/usr/bin/env", ["python3", script, server.issuer])
            try await server.stop()
            #expect(status == 0, "Authlib interop failed:\n\(output)\n\(errors)")
            for step in ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "introspection", "revocation"] {
                #expect(output.contains(#""step": "\#(step)", "ok": true"#), "missing step \(step)")
            }
        }

        @Test("`registrar keys rotate`: tokens from before and after the rotation are active; both keys are published")
        func keyRotation() async throws {
            let server = try ServerProcess()
            try await server.start(configuration: machineConfiguration)
            let registered = try await server.request(.POST, "/iam/api/client-registration", json: #"{"grant_types":["client_credentials"]}"#)
            let id = try #require(registered.object?["client_id"]?.stringValue)
            let secret = try #require(registered.object?["client_secret"]?.stringValue)
            let before = try await server.tokenRequest(id: id, secret: secret)
            try await server.stop()

            let config = try server.writeConfiguration(machineConfiguration)
            let (listStatus, listed, _) = try runRegistrar(["keys", "list", "--json", "--database", server.databasePath, "--config", config])
            #expect(listStatus == 0)
            #expect((try JSONParser.parse(Array(listed.utf8)).arrayValue?.count) == 2)
            let (status, rotated, errors) = try runRegistrar(["keys", "rotate", "--algorithm", "ES256", "--database", server.databasePath, "--config", config])
            #expect(status == 0, "\(errors)")
            #expect(rotated.contains("ES256: new current key"))

            try await server.start(configuration: machineConfiguration)
            let after = try await server.tokenRequest(id: id, secret: secret)
            let oldKid = CompactJWS(before)?.header["kid"]?.stringValue, newKid = CompactJWS(after)?.header["kid"]?.stringValue
            #expect(oldKid != nil && newKid != nil && oldKid != newKid)
            for token in [before, after] {
                let reply = try await server.formRequest("/introspect", id: id, secret: secret, form: "token=\(token)")
                #expect(reply.object?["active"] == .bool(true))
            }
            let jwks = try await server.request(.GET, "/jwks")
            let kids = jwks.object?["keys"]?.arrayValue?.compactMap { $0.objectValue?["kid"]?.stringValue } ?? []
            #expect(kids.contains(oldKid!) && kids.contains(newKid!), "the retired key left the JWK Set too early")
            let (_, table, _) = try runRegistrar(["keys", "list", "--database", server.databasePath, "--config", config])
            #expect(table.contains("retired, published") && table.contains("current"))
            try await server.stop()
        }
    }
}

func runProcess(_ executable: String, _ arguments: [String]) throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

extension ServerProcess {
    /// A form POST authenticated with client_secret_basic.
    func formRequest(_ path: String, id: String, secret: String, form: String) async throws -> Reply {
        try await request(.POST, path, form: form, basic: (id, secret))
    }

    /// A client_credentials token.
    func tokenRequest(id: String, secret: String) async throws -> String {
        let reply = try await formRequest("/token", id: id, secret: secret, form: "grant_type=client_credentials")
        guard reply.status == 200, let token = reply.object?["access_token"]?.stringValue else {
            throw Failure("token request failed: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        }
        return token
    }
}
