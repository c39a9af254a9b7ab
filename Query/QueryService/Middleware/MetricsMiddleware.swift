import Dispatch
import Hummingbird
import Metrics

/// Counts requests and times them per route, method and status for /metrics:
/// `http_requests_total{route="/v1/sensors/{sensor}/aggregates",method="GET",status="200"}` and the
/// `http_request_duration_seconds` histogram with the same labels. The route is the router's pattern,
/// never the request path, so label values stay few; unmatched requests count as route "NotFound".
/// Metrics come from the given factory (not the global MetricsSystem) so each router reports to its own registry.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let status: HTTPResponse.Status
        do {
            let response = try await next(request, context)
            status = response.status
            record(request, context, status, start)
            return response
        } catch {
            status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(request, context, status, start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, _ status: HTTPResponse.Status, _ start: UInt64) {
        let dimensions = [
            ("route", context.endpointPath ?? "NotFound"), ("method", request.method.rawValue), ("status", String(status.code)),
        ]
        Counter(label: "http_requests_total", dimensions: dimensions, factory: factory).increment()
        Timer(label: "http_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
            .recordNanoseconds(DispatchTime.now().uptimeNanoseconds - start)
    }
}
