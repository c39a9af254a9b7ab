import DeviceIdentity
import Hummingbird

/// `Authorization: Bearer <token>` on the routes of the group it is added to, once any token is
/// configured: a read token (`api_tokens`) or an admin token (`admin_tokens`, which may also read). On
/// an admin group a read token gets 403. With no token configured at all (a loopback-only service,
/// QuerySettings) every route is open.
///
/// It is a group middleware on purpose: it runs only for a route the router matched in its group, so
/// what it protects follows the route that answers, whatever spelling of the path reached it
/// (`//v1/...`, a trailing `/`, `%2F`). It never reads the path itself.
struct BearerAuth<Context: RequestContext>: RouterMiddleware {
    enum Access: Sendable {
        case read
        case admin
    }

    let access: Access
    let readTokens: [[UInt8]]
    let adminTokens: [[UInt8]]

    init(_ access: Access, readTokens: [String], adminTokens: [String]) {
        self.access = access
        self.readTokens = readTokens.map { Array($0.utf8) }
        self.adminTokens = adminTokens.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !(readTokens.isEmpty && adminTokens.isEmpty) else { return try await next(request, context) }
        guard let token = Self.bearerToken(request) else { throw APIError.unauthorized }
        let isAdmin = Self.matches(token, adminTokens)
        guard isAdmin || Self.matches(token, readTokens) else { throw APIError.unauthorized }
        if access == .admin && !isAdmin { throw APIError.forbidden }
        return try await next(request, context)
    }

    /// Whether `request` carries an admin token, or no token is configured at all (every route open): what a
    /// route that answers any reader but shows some fields to admins only asks, behind this middleware.
    func isAdmin(_ request: Request) -> Bool {
        guard !(readTokens.isEmpty && adminTokens.isEmpty) else { return true }
        return Self.bearerToken(request).map { Self.matches($0, adminTokens) } ?? false
    }

    /// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 7235), the token is not.
    static func bearerToken(_ request: Request) -> [UInt8]? {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return Array(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces).utf8)
    }

    /// Compares with every token, each in constant time, so the time taken tells nothing of how much matched.
    static func matches(_ token: [UInt8], _ tokens: [[UInt8]]) -> Bool {
        tokens.reduce(false) { found, candidate in constantTimeEqual(token, candidate) || found }
    }
}
