import Foundation
import Logging
import Metrics
import StorageCore
import StorageEvents

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
    /// Deliveries in flight at once: each is independent, so one slow webhook holds one of them, not the rest.
    static let concurrency = 32

    func run() async {
        let sensors = pipelines.keys.sorted()
        guard !sensors.isEmpty else { return }
        do {
            try await WebhookClient.with { webhooks in await run(sensors: sensors, webhooks: webhooks) }
        } catch {
            logger.warning("alert webhooks: the HTTP client did not shut down cleanly: \(error)")
        }
    }

    private func run(sensors: [String], webhooks: WebhookClient) async {
        var connection: StoreConnection?
        await withTaskGroup(of: Outcome?.self) { group in
            var inFlight = 0
            var ticking = false
            while !Task.isCancelled {
                do {
                    let store = try await connected(connection)
                    connection = store
                    if inFlight < Self.concurrency {
                        let room = Self.concurrency - inFlight
                        let deliveries = try await Blocking.run("alerts-claim") { try AlertOutbox.claim(sensors: sensors, limit: room, on: store.pg) }
                        for delivery in deliveries { group.addTask { await deliver(delivery, webhooks: webhooks) } }
                        inFlight += deliveries.count
                    }
                    // Wakes the loop to look at the outbox again while deliveries are still in flight.
                    if !ticking {
                        group.addTask { try? await Task.sleep(for: Self.poll); return nil }
                        ticking = true
                    }
                    guard let next = await group.next() else { continue }
                    guard let outcome = next else {
                        ticking = false
                        continue
                    }
                    inFlight -= 1
                    // A row whose outcome is not recorded (the database went away) comes back when its lease ends.
                    try await Blocking.run("alerts-done") {
                        if outcome.isDone {
                            try AlertOutbox.delivered(outcome.delivery, on: store.pg)
                        } else {
                            try AlertOutbox.retry(outcome.delivery, published: outcome.published, posted: outcome.posted, error: outcome.errors.joined(separator: "; "), on: store.pg)
                        }
                    }
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("alert notifications: \(error); trying again")
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            group.cancelAll()
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

    private func deliver(_ delivery: AlertOutbox.Delivery, webhooks: WebhookClient) async -> Outcome {
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
                // `Idempotency-Key` is the episode id and the event, so a receiver that sees a retry can tell.
                try await webhooks.post(body, to: webhook, headers: [
                    "Idempotency-Key": "\(episode.id):\(delivery.event)", "X-Alert-Episode": episode.id, "X-Alert-Event": delivery.event,
                ])
                outcome.posted = true
                Counter(label: "telemetry_alert_notifications_total", dimensions: dimensions + [("via", "webhook")]).increment()
            } catch {
                outcome.errors.append("webhook: \(error)")
                Counter(label: "telemetry_alert_notification_failures_total", dimensions: dimensions + [("via", "webhook")]).increment()
                if failures.shouldLog(webhook) {
                    logger.warning("alert webhook \(AlertRule.webhookOrigin(webhook)) failed (attempt \(delivery.attempts) for episode \(episode.id)): \(error); trying again later (logged once a minute per webhook)")
                }
            }
        }
        return outcome
    }
}
