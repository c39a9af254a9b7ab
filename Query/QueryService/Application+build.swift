import Foundation
import Hummingbird
import Logging
import Prometheus
import SensorModel
import ServiceLifecycle
import StorageCore
import StorageOperations
import StorageReader

/// Builds the query service: routes, auth, and the server settings. Kept apart from `@main`
/// so tests drive it with the in-process client.
/// - Parameter alsoReady: what else `/readyz` waits for (the monolith's ingest pipelines).
public func buildApplication(
    settings: QuerySettings, registry: PrometheusCollectorRegistry, logger: Logger, alsoReady: (@Sendable () async -> Bool)? = nil
) -> some ApplicationProtocol {
    let placement = DatabasePlacement(defaultURL: settings.databaseURL, bySensor: settings.sensorDatabaseURLs)
    let store = QueryStore(
        catalog: settings.catalog, placement: placement, poolSize: settings.readPoolSize, cacheBytes: settings.rollupCacheMB << 20,
        standbyReads: settings.standbyReads, logger: logger)
    let router = buildRouter(store: store, tokens: settings.tokens, adminTokens: settings.adminTokens, registry: registry, alsoReady: alsoReady)
    return Application(
        router: router,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "telemetry-query"),
        services: store.services + [
            StorePreparation(store: store),
            RetentionSchedule(placement: placement, catalog: settings.catalog, interval: settings.retentionInterval, limits: settings.retentionLimits, logger: logger),
            DeviceStatusSchedule(store: store, options: settings.deviceStatus,
                metrics: PrometheusMetricsFactory(registry: registry), logger: logger),
        ] + (settings.compactAfter.map { after in
            [CompactionSchedule(placement: placement, catalog: settings.catalog, after: after, interval: settings.compactInterval,
                metrics: PrometheusMetricsFactory(registry: registry), logger: logger)] as [any Service]
        } ?? []),
        logger: logger)
}

public func buildRouter(
    store: QueryStore, tokens: [String], adminTokens: [String] = [], registry: PrometheusCollectorRegistry, alsoReady: (@Sendable () async -> Bool)? = nil
) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: MetricsMiddleware(factory: PrometheusMetricsFactory(registry: registry)))
    router.add(middleware: NotFoundMiddleware())
    // Open: the health checks, and the dashboard's page and assets (they carry no data; the page asks
    // for a token itself). Everything else sits in a group whose BearerAuth follows the matched route.
    // The health checks answer HEAD too: load balancers and uptime checks probe with it.
    let health: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in Response.json(#"{"status":"ok"}"#) }
    let readiness: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
        guard await store.isReady(), await alsoReady?() ?? true else {
            return Response.json(#"{"status":"database unavailable"}"#, status: .serviceUnavailable)
        }
        return Response.json(#"{"status":"ready"}"#)
    }
    for (path, handler) in [("/healthz", health), ("/readyz", readiness)] {
        router.get(RouterPath(path), use: handler)
        router.head(RouterPath(path)) { request, context in try await handler(request, context).createHeadResponse() }
    }
    let readAuth = BearerAuth<BasicRequestContext>(.read, readTokens: tokens, adminTokens: adminTokens)
    let reader = router.group().add(middleware: readAuth)
    let cacheMetrics = store.rollupCaches.isEmpty ? nil : RollupCacheMetrics(caches: store.rollupCaches, factory: PrometheusMetricsFactory(registry: registry))
    reader.get("/metrics") { _, _ in
        cacheMetrics?.update()
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                 body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
    reader.get("/openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
    }
    let v1 = reader.group("v1")
    v1.get("sensors") { _, _ in SensorRoutes.catalog(store.catalog) }
    v1.get("sensors/:sensor/devices") { request, context in try await SensorRoutes.devices(request, context, store) }
    v1.get("sensors/:sensor/devices/:device") { request, context in try await SensorRoutes.device(request, context, store) }
    v1.get("sensors/:sensor/devices/:device/latest") { request, context in try await SensorRoutes.latest(request, context, store) }
    v1.get("sensors/:sensor/devices/:device/readings") { request, context in try await SensorRoutes.readings(request, context, store) }
    v1.get("sensors/:sensor/aggregates") { request, context in try await AggregateRoutes.aggregates(request, context, store) }
    v1.get("sensors/:sensor/devices/:device/stream") { request, context in try await StreamRoutes.stream(request, context, store) }
    v1.get("rejected") { request, _ in try await RejectedRoutes.list(request, store) }
    v1.get("rejected/over-quota") { request, _ in try await RejectedRoutes.overQuota(request, store) }
    v1.get("overview") { _, _ in try await OverviewRoutes.overview(store, now: Int64(Date().timeIntervalSince1970 * 1_000_000)) }
    // Device credentials: admin tokens only.
    let admin = router.group("v1/devices").add(middleware: BearerAuth(.admin, readTokens: tokens, adminTokens: adminTokens))
    admin.put(":device/credentials") { request, context in try await DeviceCredentialRoutes.put(request, context, store) }
    admin.get(":device/credentials") { _, context in try await DeviceCredentialRoutes.get(context, store) }
    admin.delete(":device/credentials") { _, context in try await DeviceCredentialRoutes.delete(context, store) }
    admin.post("credentials") { request, _ in try await DeviceCredentialRoutes.provision(request, store) }
    // A device's own expected interval: admin tokens only.
    let adminSensors = router.group("v1/sensors").add(middleware: BearerAuth(.admin, readTokens: tokens, adminTokens: adminTokens))
    adminSensors.patch(":sensor/devices/:device") { request, context in try await SensorRoutes.patchDevice(request, context, store) }
    admin.get("credentials") { request, _ in try await DeviceCredentialRoutes.list(request, store) }
    // Alerts: rules and episodes read with any token; rules changed and episodes acknowledged with an admin token.
    // A rule's webhook URL may hold a secret (docs/alerts.md): whole for admin tokens, its origin for readers.
    v1.get("alert-rules") { request, _ in try await AlertRoutes.listRules(request, store, webhooks: readAuth.isAdmin(request)) }
    v1.get("alert-rules/:id") { request, context in try await AlertRoutes.getRule(context, store, webhooks: readAuth.isAdmin(request)) }
    v1.get("alerts") { request, _ in try await AlertRoutes.listEpisodes(request, store) }
    v1.get("alerts/:id") { _, context in try await AlertRoutes.getEpisode(context, store) }
    let adminRules = router.group("v1/alert-rules").add(middleware: BearerAuth(.admin, readTokens: tokens, adminTokens: adminTokens))
    adminRules.post { request, _ in try await AlertRoutes.createRule(request, store) }
    adminRules.put(":id") { request, context in try await AlertRoutes.replaceRule(request, context, store) }
    adminRules.delete(":id") { _, context in try await AlertRoutes.deleteRule(context, store) }
    let adminAlerts = router.group("v1/alerts").add(middleware: BearerAuth(.admin, readTokens: tokens, adminTokens: adminTokens))
    adminAlerts.post(":id/acknowledge") { request, context in try await AlertRoutes.acknowledge(request, context, store) }
    DashboardRoutes.add(to: router)
    return router
}
