import Hummingbird
import TelemetryStore

/// Every route but the health checks needs `Authorization: Bearer <token>` once any token is configured:
/// a read token (`api_tokens`) or an admin token (`admin_tokens`, which may also read). The device
/// credential routes take admin tokens only: a read token gets 403 there. With no token configured at
/// all (a loopback-only service, QuerySettings) every route is open.
struct BearerAuth<Context: RequestContext>: RouterMiddleware {
    let readTokens: [[UInt8]]
    let adminTokens: [[UInt8]]
    static var open: Set<String> { ["/healthz", "/readyz"] }

    init(readTokens: [String], adminTokens: [String] = []) {
        self.readTokens = readTokens.map { Array($0.utf8) }
        self.adminTokens = adminTokens.map { Array($0.utf8) }
    }

    /// `/v1/devices/credentials` and `/v1/devices/{device}/credentials`.
    static func isAdminOnly(_ path: String) -> Bool {
        path.hasPrefix("/v1/devices/") && (path.hasSuffix("/credentials") || path.hasSuffix("/credentials/"))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The dashboard's page and assets carry no data: the page asks for a token itself.
        guard !(readTokens.isEmpty && adminTokens.isEmpty), !Self.open.contains(request.uri.path), !DashboardRoutes.isAsset(request.uri.path) else {
            return try await next(request, context)
        }
        // The scheme is case-insensitive (RFC 7235); the token is not.
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw APIError.unauthorized
        }
        let token = Array(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces).utf8)
        let isAdmin = Self.matches(token, adminTokens)
        guard isAdmin || Self.matches(token, readTokens) else { throw APIError.unauthorized }
        if Self.isAdminOnly(request.uri.path) && !isAdmin { throw APIError.forbidden }
        return try await next(request, context)
    }

    /// Compares with every token, each in constant time, so the time taken tells nothing of how much matched.
    static func matches(_ token: [UInt8], _ tokens: [[UInt8]]) -> Bool {
        tokens.reduce(false) { found, candidate in constantTimeEqual(token, candidate) || found }
    }
}
