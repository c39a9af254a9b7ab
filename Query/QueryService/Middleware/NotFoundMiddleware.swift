import Hummingbird

/// Hummingbird's own errors, above all its 404 for a path no route serves (or a method a path does not
/// take), in the API's error shape instead of an empty body. It maps errors only: what is protected still
/// follows the route the router matched (BearerAuth), and it never reads the path.
struct NotFoundMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no route serves this method and path; GET /openapi.yaml lists them" : error.status.reasonPhrase)
            throw APIError(status: error.status, code: error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"), message: message)
        }
    }
}
