import Hummingbird
import Logging
import Prometheus
import QueryService

/// An ingest or broker-sync process's own HTTP port: `/healthz` (the process runs), `/readyz` (ingest:
/// subscribed and the database answers; broker-sync: the broker has the credentials) and `/metrics`
/// (Prometheus text), which needs one of `tokens` when there are any, as the query service's routes do.
/// Port 0 binds a free port; the bound address is logged.
enum HealthServer {
    static func make(
        host: String, port: Int, tokens: [String], ready: @escaping @Sendable () async -> Bool, registry: PrometheusCollectorRegistry, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.get("/readyz") { _, _ in
            await ready() ? Self.json(#"{"status":"ready"}"#) : Self.json(#"{"status":"not ready"}"#, status: .serviceUnavailable)
        }
        // Only /metrics needs a token: the group's middleware runs for the route matched, whatever the path's spelling.
        router.group().add(middleware: bearerTokenAuth(tokens: tokens)).get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "telemetry-ingest"),
            onServerRunning: { channel in
                logger.info("health and metrics on http://\(host):\(channel.localAddress?.port ?? port)/")
            },
            logger: logger)
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
