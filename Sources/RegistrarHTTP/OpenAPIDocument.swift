import Hummingbird
import NIOCore
import RegistrarCore

/// The OpenAPI 3.1 description of the API (openapi/openapi.json in the repository), served at
/// `{issuer}/openapi.json` with the issuer as its server URL.
enum OpenAPIDocument {
    /// The document with `servers` set to the issuer.
    static func served(issuer: String) -> [UInt8] {
        guard case .object(var document)? = try? JSONParser.parse(Array(json.utf8)) else { return Array(json.utf8) }
        document["servers"] = .array([.object(JSONObject([("url", .string(issuer))]))])
        return JSONWriter.bytes(.object(document))
    }

    static func addRoute(to group: RouterGroup<RegistrarRequestContext>, issuer: String) {
        let bytes = served(issuer: issuer)
        group.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        MethodNotAllowed.add(to: group, path: "/openapi.json", allowed: [.get])
    }
}
