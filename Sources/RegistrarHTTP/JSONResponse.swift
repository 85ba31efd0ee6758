import Hummingbird
import NIOCore
import RegistrarCore

/// Builds JSON responses from Registrar's JSON values.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ object: JSONObject, headers extra: HTTPFields = [:]) -> Response {
        make(status, json: JSONWriter.bytes(.object(object)), headers: extra)
    }

    /// A response whose body is this JSON text (and a line break).
    static func make(_ status: HTTPResponse.Status, json bytes: [UInt8], headers extra: HTTPFields = [:]) -> Response {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(bytes.count + 1)
        buffer.writeBytes(bytes)
        buffer.writeInteger(UInt8(0x0A))
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }

    static func error(_ error: RegistrarError) -> Response {
        var headers: HTTPFields = [:]
        switch error.challenge {
        case .missingToken?:
            headers[.wwwAuthenticate] = "Bearer"
        case .invalidToken?:
            headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\", error_description=\"\(Self.describable(error.errorDescription))\""
        case .invalidRequest?:
            headers[.wwwAuthenticate] = "Bearer error=\"invalid_request\", error_description=\"\(Self.describable(error.errorDescription))\""
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
        let body = JSONObject([("error", .string(error.code.rawValue)), ("error_description", .string(Self.describable(error.errorDescription)))])
        return make(HTTPResponse.Status(code: error.status), body, headers: headers)
    }

    /// The `error_description` of an error body: RFC 6749 §5.2 allows only printable ASCII without
    /// `"` and `\` (`%x20-21 / %x23-5B / %x5D-7E`), RFC 7591 §3.2.2 "human-readable ASCII text".
    /// Descriptions are written for people, so the section sign of an RFC reference becomes
    /// "section ", an ellipsis "...", a double quote a single one; any other character outside
    /// that set (a non-ASCII or control character from the request) becomes `?`.
    static func describable(_ text: String) -> String {
        guard !text.unicodeScalars.allSatisfy(isDescribable) else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            switch s {
            case "\u{A7}": out.append(contentsOf: "section ".unicodeScalars)
            case "\u{2026}": out.append(contentsOf: "...".unicodeScalars)
            case "\"": out.append("'")
            default: out.append(isDescribable(s) ? s : "?")
            }
        }
        return String(out)
    }

    private static func isDescribable(_ s: Unicode.Scalar) -> Bool {
        s.value >= 0x20 && s.value < 0x7F && s != "\"" && s != "\\"
    }

    /// RFC 6750 §3: attribute values are quoted strings of printable ASCII without `"` and `\`.
    static func quotable(_ text: String) -> String {
        String(text.unicodeScalars.map { s -> Character in
            (s.value >= 0x20 && s.value < 0x7F && s != "\"" && s != "\\") ? Character(s) : "?"
        })
    }
}
