import Hummingbird

/// An error response in the API's shape: `{"error": {"code": ..., "message": ...}}`.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String

    static func invalid(_ parameter: String, _ message: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_parameter", message: "\(parameter): \(message)")
    }

    static func notFound(_ message: String) -> APIError {
        APIError(status: .notFound, code: "not_found", message: message)
    }

    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized", message: "a valid bearer token is required")
    static let forbidden = APIError(status: .forbidden, code: "forbidden", message: "this route needs an admin token")
    static let unavailable = APIError(status: .serviceUnavailable, code: "database_unavailable", message: "the database is not answering; try again shortly")

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("error")
        writer.beginObject()
        writer.field("code", code)
        writer.field("message", message)
        writer.endObject()
        writer.endObject()
        var response = Response.json(writer, status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}

extension Response {
    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ writer: JSONWriter, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
