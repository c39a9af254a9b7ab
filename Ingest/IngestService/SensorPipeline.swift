import Foundation
import Logging
import MQTT
import SensorModel
import StorageCore
import StorageWriter
import Synchronization
import WireFormats

/// One sensor type's path: MQTT callback → journal → bounded queue → writer thread (decode, batch,
/// write with retries) → journal commit. See docs/architecture.md, "Delivery".
/// The catch-all (`telemetry-ingest --unrouted`) is the same path with another role: it takes every
/// `telemetry` topic, acknowledges without journaling those of a sensor type in the catalog, and
/// dead-letters the rest.
public final class SensorPipeline: @unchecked Sendable {
    enum Role: Sendable {
        /// Decodes and stores `sensor`'s readings; dead-letters what does not decode.
        case sensor
        /// Dead-letters every topic whose `{sensor}` level is not one of these.
        case unrouted(known: Set<String>)
    }

    /// The catch-all's name in its client id, journal folder, metrics and logs (`--unrouted` refuses a
    /// catalog with a sensor type of this name).
    public static let unroutedName = "unrouted"

    /// The sensor type whose readings this pipeline stores. For the catch-all, the catalog's first: its
    /// batch writer only ever writes dead letters, which belong to no sensor type's tables.
    public let sensor: SensorType
    /// The sensor type's name, or `unroutedName`.
    public let name: String
    public let clientID: String
    /// The MQTT topic filters, `$share/` prefix included when shared subscriptions are on.
    public let subscriptions: [String]
    let role: Role
    let settings: IngestSettings
    let journal: Journal
    let queue: MessageQueue
    let decoder: MessageDecoder
    let metrics: IngestMetrics
    let logger: Logger
    private var client: MQTTClient?
    private var writerThread: Thread?
    private let finished = NSCondition()
    private var writerDone = false
    let stopping = Atomic<Bool>(false)
    /// When stopping, how long the writer keeps retrying an unavailable PostgreSQL before it leaves the
    /// rest to the journal (replayed at the next start), so that SIGTERM always ends promptly.
    static let shutdownGrace: Duration = .seconds(5)
    let stopRequested = Mutex<ContinuousClock.Instant?>(nil)
    private let reasons = RejectionLog()
    /// Where a message goes that can be neither stored nor dead-lettered (`quarantineAfterTries`).
    let quarantine: Quarantine
    let stall: StallWatch
    let timeWindow: ReadingTimeWindow
    private let redeliveries = RedeliveryFilter()
    /// The Sparkplug B edge nodes this sensor type hears (nil without a sparkplug source).
    private(set) var sparkplug: SparkplugSessions?
    /// Tries of a dead letter, and of a write the server keeps refusing with a transient error, before
    /// the message is quarantined (or the batch split): bounded, so no message holds a sensor type.
    static let quarantineAfterTries = 3
    static let serverRetries = 8

    public convenience init(sensor: SensorType, settings: IngestSettings, logger: Logger) throws {
        try self.init(role: .sensor, name: sensor.name, sensor: sensor, settings: settings, logger: logger)
    }

    /// The catch-all for `catalog`: every topic under `telemetry` whose `{sensor}` level is not in it.
    public convenience init(unroutedFrom catalog: Catalog, settings: IngestSettings, logger: Logger) throws {
        try self.init(
            role: .unrouted(known: Set(catalog.sensors.map(\.name))), name: Self.unroutedName, sensor: catalog.sensors[0],
            settings: settings, logger: logger)
    }

    init(role: Role, name: String, sensor: SensorType, settings: IngestSettings, logger: Logger) throws {
        self.role = role
        self.name = name
        self.sensor = sensor
        self.settings = settings
        self.clientID = "ingest-\(name)-\(settings.instance)"
        let group = settings.sharedSubscription ? "ingest-\(name)" : nil
        switch role {
        case .sensor: subscriptions = TopicRouting.filters(for: sensor, sharedGroup: group)
        case .unrouted: subscriptions = TopicRouting.unroutedFilters(sharedGroup: group)
        }
        self.journal = try Journal(directory: settings.journalDirectory + "/" + clientID, sync: settings.journalSync)
        self.quarantine = Quarantine(directory: journal.directory)
        self.stall = StallWatch(limit: settings.stallAfter)
        self.timeWindow = ReadingTimeWindow(maxAge: settings.readingMaxAge ?? sensor.retention.raw ?? ReadingTimeWindow.defaultMaxAge, maxAhead: settings.readingMaxAhead)
        self.queue = MessageQueue(maxMessages: settings.queueMessages, maxBytes: settings.queueBytes)
        self.decoder = MessageDecoder(sensor: sensor)
        self.metrics = IngestMetrics(sensor: name)
        var logger = logger
        logger[metadataKey: "sensor"] = "\(name)"
        self.logger = logger
        if case .sensor = role, sensor.sources.contains(where: { $0.format == .sparkplug }) {
            sparkplug = SparkplugSessions(decoder: decoder, logger: logger) { [weak self] topic, payload in
                _ = try? self?.client?.publish(topic: topic, payload: payload, qos: 0)
            }
        }
    }

    /// Replays the journal, starts the writer, then subscribes. Returns once the subscription is live
    /// or keeps trying in the background (the broker queues meanwhile).
    public func start(connection: StoreConnection) throws {
        if let sparkplug {
            do {
                sparkplug.restore(try SparkplugAliasStore.load(sensor: sensor.name, on: connection))
            } catch {
                logger.warning("cannot read the Sparkplug aliases earlier runs stored (\(error)): a DATA before its edge node's next BIRTH is dead-lettered")
            }
        }
        let leftover = try journal.recover()
        if !leftover.isEmpty {
            logger.info("replaying \(leftover.count) journaled messages from an earlier run")
        }
        for copy in journal.damagedRegions {
            logger.error("the journal had a damaged part (not a torn tail); its bytes are in \(copy), the records after it are replayed")
        }
        let thread = Thread { [self] in
            writerLoop(connection: connection)
        }
        thread.name = "writer-\(name)"
        thread.stackSize = 1 << 20
        writerThread = thread
        thread.start()
        for record in leftover { queue.put(record) }

        let options = MQTTClient.Options(
            clientID: clientID, cleanSession: false, keepAliveSeconds: Int32(settings.mqttKeepAliveSeconds), subscriptions: subscriptions, subscriptionQoS: 1)
        let logger = self.logger
        var url = settings.mqtt
        if let password = settings.servicePassword {
            url.username = "ingest-\(name)"
            url.password = password
        }
        let client = try MQTTClient(
            url: url, options: options,
            onMessage: { [self] message in receive(message) },
            onConnectionChange: { up, text in
                if up { logger.info("\(text)") } else { logger.warning("MQTT: \(text)") }
            })
        self.client = client
        try client.start()
        if !client.waitUntilReady(timeout: .seconds(10)) {
            logger.warning("not subscribed yet (\(client.lastError)); retrying in the background")
        }
    }

    /// Publishes an alert notification on this pipeline's broker connection (QoS 1) and waits for the
    /// broker's acknowledgement. Throws when it was refused or did not come within `timeout`.
    func publishAcknowledged(topic: String, payload: [UInt8], timeout: Duration) throws {
        guard let client else { throw MQTTError(code: -1, message: "not connected to the broker") }
        let mid = try client.publish(topic: topic, payload: payload, qos: 1, timeout: timeout)
        guard client.waitForAcknowledgement(of: mid, timeout: timeout) else {
            throw MQTTError(code: -1, message: "no acknowledgement from the broker within \(timeout)")
        }
    }

    /// Connected to the broker with its subscriptions made.
    public var isSubscribed: Bool { client?.isReady ?? false }

    /// Nil while the pipeline's head advances; else why it has not for `stall_seconds` while work waits.
    public var stallReason: String? { stall.stallReason }

    /// Messages received and not yet out of the journal: queued, and taken by the writer.
    var pendingMessages: Int { queue.depth + stall.heldMessages }

    /// True for the catch-all (`--unrouted`).
    public var isUnrouted: Bool {
        if case .unrouted = role { return true }
        return false
    }

    /// On the MQTT network thread: journal first, then queue (may block). The PUBACK follows our return.
    private func receive(_ message: MQTTMessage) {
        if case .unrouted(let known) = role, TopicRouting.unroutedRejection(of: message.topic, known: known) == nil {
            return  // its sensor type's service has it
        }
        if message.retain, StatusTopics.device(in: message.topic) == nil {
            // The broker sets the flag only on a retained message sent because a subscription was made
            // (MQTT 3.1.1, 3.3.1.3): it was taken when it was published, or it is old news. Every
            // resubscription would otherwise store it again, also after its device was revoked. A status
            // topic's retained message is different: it is what the device says now (its will, once gone).
            metrics.retainedSkipped.increment()
            return
        }
        if message.qos > 0, redeliveries.isRedelivery(mid: message.mid, connection: message.connection, topic: message.topic, payload: message.payload) {
            metrics.redeliveries.increment()
            return  // journaled when it first came; acknowledging it now is what the broker waits for
        }
        let now = Self.nowMicros()
        metrics.received.increment()
        metrics.totals.received.add(1, ordering: .relaxed)
        do {
            let seq = try journal.append(topic: message.topic, payload: message.payload, receivedAt: now)
            queue.put(JournalRecord(seq: seq, receivedAt: now, topic: message.topic, payload: message.payload))
        } catch {
            // Without a journal we cannot promise durability: stop rather than acknowledge and lose.
            logger.critical("journal append failed, exiting without acknowledging: \(error)")
            exit(70)
        }
    }

    /// Stops taking messages, writes what was received, and returns when the writer is done.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        stopRequested.withLock { $0 = .now }
        // The writer keeps draining meanwhile, so a callback blocked on a full queue gets through.
        client?.stop()
        queue.close()
        finished.lock()
        while !writerDone { finished.wait() }
        finished.unlock()
        let pending = journal.pendingRecords
        journal.close()
        logger.info("pipeline stopped, \(pending) journaled messages left to replay")
    }

    // MARK: the writer thread

    private func writerLoop(connection: StoreConnection) {
        let writer = BatchWriter(connection: connection, sensor: sensor)
        while true {
            let records = queue.take(max: settings.batchMessages, timeout: 0.5, linger: settings.batchLinger / .seconds(1))
            if records.isEmpty {
                recordDepth()
                if queue.isClosedAndEmpty { break }
                continue
            }
            stall.took(records.count)
            recordDepth()
            let batch = assemble(records)
            guard store(batch, records: records, writer: writer) else {
                // Stopping with PostgreSQL away: unblock the callback; the journal keeps the rest.
                queue.close()
                logger.warning("stopping while PostgreSQL is unavailable: \(journal.pendingRecords) messages stay journaled for the next start")
                break
            }
            journal.commit(upTo: records.last!.seq)
            stall.advanced()
            metrics.journalBytes.record(journal.bytesOnDisk)
            metrics.totals.journalBytes.store(Int64(journal.bytesOnDisk), ordering: .relaxed)
        }
        finished.lock()
        writerDone = true
        finished.broadcast()
        finished.unlock()
    }

    /// Decodes each message into the batch, or into a dead letter with its reason. `counting` off: the
    /// messages were counted (rejections, skipped entries) when first assembled; this is a retry.
    func assemble(_ records: [JournalRecord], counting: Bool = true) -> IngestBatch {
        var batch = IngestBatch(fieldCount: sensor.fields.count, capacity: records.count)
        for record in records {
            if case .sensor = role, let report = TopicRouting.statusReport(record.topic, payload: record.payload, receivedAt: record.receivedAt) {
                switch report {
                case .success(let report): if let report { batch.statusReports.append(report) }
                case .failure(let error): reject(record, code: error.code.rawValue, reason: error.description, into: &batch, counting: counting)
                }
                continue
            }
            switch route(record) {
            case .success(let route):
                let start = batch.readings.count
                do throws(DecodeError) {
                    var skipped = 0
                    // A network server's uplink names its device itself (checked against the topic's).
                    var device: String? = route.device
                    if let sparkplug, let topic = route.sparkplug, let source = route.source {
                        try sparkplug.assemble(
                            record.payload, topic: topic, device: route.device, source: source, receivedAt: record.receivedAt, counting: counting,
                            into: &batch, skipped: &skipped)
                    } else {
                        try decoder.decode(
                            record.payload, format: route.format, source: route.source, receivedAt: record.receivedAt, into: &batch.readings,
                            skipped: &skipped, device: &device)
                    }
                    try timeWindow.check(batch.readings, rows: start..<batch.readings.count, receivedAt: record.receivedAt)
                    batch.closeSpan(device: device ?? route.device, from: start, heardAt: record.receivedAt)
                    if skipped > 0 && counting { metrics.skippedEntries.increment(by: skipped) }
                } catch {
                    batch.readings.truncate(to: start)
                    reject(record, code: error.code.rawValue, reason: error.description, into: &batch, counting: counting)
                }
            case .failure(let error):
                reject(record, code: error.code.rawValue, reason: error.description, into: &batch, counting: counting)
            }
        }
        return batch
    }

    private func route(_ record: JournalRecord) -> Result<TopicRouting.Route, DecodeError> {
        if case .unrouted(let known) = role {
            // Journaled because no sensor type named it; a replay after the catalog gained it still dead-letters.
            return .failure(TopicRouting.unroutedRejection(of: record.topic, known: known)
                ?? DecodeError(.unknownSensor, "its sensor type was not in the catalog when it arrived"))
        }
        return TopicRouting.route(record.topic, for: sensor)
    }

    func reject(_ record: JournalRecord, code: String, reason: String, into batch: inout IngestBatch, counting: Bool = true) {
        if counting { metrics.rejected(reason: code) }
        if counting && reasons.shouldLog(code) {
            logger.warning("rejected a message on \(LogText.escape(record.topic)): \(LogText.escape(reason)) (logged once per reason per minute)")
        }
        batch.deadLetters.append(DeadLetter(sensor: isUnrouted ? nil : sensor.name, topic: record.topic, receivedAt: record.receivedAt, reason: reason, payload: record.payload))
    }

    static func nowMicros() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }
}
