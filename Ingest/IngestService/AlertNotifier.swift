import Foundation
import Logging
import Metrics
import StorageCore
import StorageEvents

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Tells the world about alert episodes of this process's sensor types in one database
/// (docs/alerts.md#notifications): for each outbox row, an MQTT message on `alerts/<sensor>/<device>`
/// (QoS 1, through the sensor type's own broker connection, acknowledged by the broker) and, when the rule
/// has one, a webhook POST with the episode's JSON; a row is deleted once both are through, else tried
/// again with back-off. At least once: a receiver may see an event twice, never miss one that was written.
/// Runs on a connection of its own, apart from the writers: a slow or failing webhook never slows ingestion.
struct AlertNotifier: Sendable {
    let url: String
    let pipelines: [String: SensorPipeline]
    let logger: Logger
    /// A failing webhook or broker is logged once a minute, not once per event.
    private let failures = RejectionLog()

    init(url: String, pipelines: [String: SensorPipeline], logger: Logger) {
        self.url = url
        self.pipelines = pipelines
        self.logger = logger
    }

    /// How often the outbox is looked at while idle: most of the alert latency the benchmark measures.
    static let poll: Duration = .milliseconds(100)
    static let timeout: Duration = .seconds(5)
    static let claimed = 50

    func run() async {
        let sensors = pipelines.keys.sorted()
        guard !sensors.isEmpty else { return }
        var connection: StoreConnection?
        while !Task.isCancelled {
            do {
                let store = try await connected(connection)
                connection = store
                let deliveries = try await Blocking.run("alerts-claim") { try AlertOutbox.claim(sensors: sensors, limit: Self.claimed, on: store.pg) }
                if deliveries.isEmpty {
                    try await Task.sleep(for: Self.poll)
                    continue
                }
                let outcomes = await withTaskGroup(of: Outcome.self) { group in
                    for delivery in deliveries { group.addTask { await deliver(delivery) } }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                try await Blocking.run("alerts-done") {
                    try AlertOutbox.delivered(outcomes.filter(\.isDone).map(\.delivery.id), on: store.pg)
                    for outcome in outcomes where !outcome.isDone {
                        try AlertOutbox.retry(outcome.delivery, published: outcome.published, posted: outcome.posted, error: outcome.errors.joined(separator: "; "), on: store.pg)
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("alert notifications: \(error); trying again")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func connected(_ connection: StoreConnection?) async throws -> StoreConnection {
        let url = self.url
        return try await Blocking.run("alerts-connect") {
            if let connection {
                try connection.reconnectIfNeeded()
                return connection
            }
            return try StoreConnection(url: url)
        }
    }

    struct Outcome: Sendable {
        var delivery: AlertOutbox.Delivery
        var published: Bool
        var posted: Bool
        var errors: [String] = []
        var isDone: Bool { published && posted }
    }

    private func deliver(_ delivery: AlertOutbox.Delivery) async -> Outcome {
        let episode = delivery.episode
        let body = episode.json(event: delivery.event)
        var outcome = Outcome(delivery: delivery, published: delivery.published, posted: delivery.posted || delivery.webhook == nil)
        let dimensions = [("sensor", episode.sensor), ("event", delivery.event)]
        if !outcome.published, let pipeline = pipelines[episode.sensor] {
            do {
                let topic = "alerts/\(episode.sensor)/\(episode.device)"
                try await Blocking.run("alerts-publish") { try pipeline.publishAcknowledged(topic: topic, payload: body, timeout: Self.timeout) }
                outcome.published = true
                Counter(label: "telemetry_alert_notifications_total", dimensions: dimensions + [("via", "mqtt")]).increment()
            } catch {
                outcome.errors.append("MQTT: \(error)")
                Counter(label: "telemetry_alert_notification_failures_total", dimensions: dimensions + [("via", "mqtt")]).increment()
                if failures.shouldLog("mqtt") { logger.warning("alert message on the broker failed for episode \(episode.id): \(error); trying again later") }
            }
        }
        if !outcome.posted, let webhook = delivery.webhook {
            do {
                try await Self.post(body, to: webhook, episode: episode.id, event: delivery.event)
                outcome.posted = true
                Counter(label: "telemetry_alert_notifications_total", dimensions: dimensions + [("via", "webhook")]).increment()
            } catch {
                outcome.errors.append("webhook: \(Self.brief(error))")
                Counter(label: "telemetry_alert_notification_failures_total", dimensions: dimensions + [("via", "webhook")]).increment()
                if failures.shouldLog(webhook) {
                    logger.warning("alert webhook \(webhook) failed (attempt \(delivery.attempts) for episode \(episode.id)): \(Self.brief(error)); trying again later (logged once a minute per webhook)")
                }
            }
        }
        return outcome
    }

    /// An error as one short line: Foundation's URL errors print their whole user info dictionary.
    static func brief(_ error: any Error) -> String {
        guard !(error is WebhookError) else { return "\(error)" }
        let error = error as NSError
        guard error.domain == NSURLErrorDomain else { return "\(error)" }
        return (error.userInfo[NSLocalizedDescriptionKey] as? String) ?? "URL error \(error.code)"
    }

    struct WebhookError: Error, CustomStringConvertible {
        var description: String
    }

    /// POSTs the episode's JSON; any 2xx is delivered. `Idempotency-Key` is the episode id and the event,
    /// so a receiver that sees a retry can tell.
    static func post(_ body: [UInt8], to webhook: String, episode: String, event: String) async throws {
        guard let url = URL(string: webhook) else { throw WebhookError(description: "not a URL") }
        var request = URLRequest(url: url, timeoutInterval: Double(timeout.components.seconds))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("\(episode):\(event)", forHTTPHeaderField: "Idempotency-Key")
        request.setValue(episode, forHTTPHeaderField: "X-Alert-Episode")
        request.setValue(event, forHTTPHeaderField: "X-Alert-Event")
        request.httpBody = Data(body)
        let (_, response) = try await URLSession.shared.data(for: request)
        guard let status = (response as? HTTPURLResponse)?.statusCode else { throw WebhookError(description: "no HTTP response") }
        guard (200..<300).contains(status) else { throw WebhookError(description: "HTTP \(status)") }
    }
}
