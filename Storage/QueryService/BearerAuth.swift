import Hummingbird

/// Every route but the health checks needs `Authorization: Bearer <token>` when tokens are configured.
struct BearerAuth<Context: RequestContext>: RouterMiddleware {
    let tokens: Set<String>
    static var open: Set<String> { ["/healthz", "/readyz"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !tokens.isEmpty, !Self.open.contains(request.uri.path) else {
            return try await next(request, context)
        }
        // The scheme is case-insensitive (RFC 7235); the token is not.
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer ",
              tokens.contains(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }
}
