import Hummingbird
import NIOCore
import RegistrarCore

/// Builds JSON responses from Registrar's JSON values.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ object: JSONObject, headers extra: HTTPFields = [:]) -> Response {
        var bytes = JSONWriter.bytes(.object(object))
        bytes.append(0x0A)
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(_ error: RegistrarError) -> Response {
        var headers: HTTPFields = [:]
        switch error.challenge {
        case .missingToken?:
            headers[.wwwAuthenticate] = "Bearer"
        case .invalidToken?:
            headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\", error_description=\"\(Self.quotable(error.errorDescription))\""
        case .insufficientScope(let scope)?:
            headers[.wwwAuthenticate] = "Bearer error=\"insufficient_scope\", scope=\"\(Self.quotable(scope))\""
        case .basic?:
            headers[.wwwAuthenticate] = "Basic realm=\"registrar\", charset=\"UTF-8\""
        case nil:
            break
        }
        if let retryAfter = error.retryAfter {
            headers[.retryAfter] = String(retryAfter)
        } else if error.status == 503 {
            // RFC 9110 §10.2.3: tell clients when to come back.
            headers[.retryAfter] = "2"
        }
        let body = JSONObject([("error", .string(error.code.rawValue)), ("error_description", .string(error.errorDescription))])
        return make(HTTPResponse.Status(code: error.status), body, headers: headers)
    }

    /// RFC 6750 §3: attribute values are quoted strings of printable ASCII without `"` and `\`.
    static func quotable(_ text: String) -> String {
        String(text.unicodeScalars.map { s -> Character in
            (s.value >= 0x20 && s.value < 0x7F && s != "\"" && s != "\\") ? Character(s) : "?"
        })
    }
}
