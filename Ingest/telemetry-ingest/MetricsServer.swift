import Hummingbird
import Logging
import Prometheus

/// The ingest process's Prometheus endpoint: `GET /metrics` only (text exposition format 0.0.4).
/// Port 0 binds any free port; the bound address is logged ("metrics on http://...").
enum MetricsServer {
    static func make(host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "telemetry-ingest"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.info("metrics on http://\(host):\(bound)/metrics")
            },
            logger: logger)
    }
}
