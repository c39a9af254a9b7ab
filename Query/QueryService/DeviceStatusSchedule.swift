import Foundation
import Logging
import Metrics
import SensorModel
import ServiceLifecycle
import StorageCore
import StorageEvents
import StorageOperations

/// Derives every device's state (`DeviceStatus.evaluate`, which also raises and clears `silent` alerts)
/// every `interval` in each database, and keeps the `telemetry_devices{sensor,state}` and
/// `telemetry_alerts_open{sensor}` gauges. A service of the query process; a pass borrows a
/// connection of the read pool (a connection of its own per database, held between passes, was one
/// too many where many services share a server).
public struct DeviceStatusSchedule: Service {
    public struct Options: Sendable {
        public var interval: Duration
        public var silentFactor: Int

        public init(interval: Duration = .seconds(5), silentFactor: Int = 3) {
            self.interval = interval
            self.silentFactor = silentFactor
        }
    }

    let store: QueryStore
    public let options: Options
    public let logger: Logger
    let metrics: any MetricsFactory

    init(store: QueryStore, options: Options, metrics: any MetricsFactory, logger: Logger) {
        self.store = store
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for url in store.placement.urls where store.hasSchema {
                let sensors = store.placement.sensors(store.catalog.sensors, at: url)
                let factor = Double(options.silentFactor)
                do {
                    let (changes, tallies) = try await store.read(at: url) { connection in
                        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
                        let changes = try DeviceStatus.evaluate(sensors: sensors, silentFactor: factor, now: now, on: connection)
                        return (changes, (try DeviceStatus.counts(on: connection), try AlertStore.openCounts(on: connection)))
                    }
                    let (counts, alerts) = tallies
                    for sensor in sensors {
                        for state in DeviceState.allCases {
                            Gauge(label: "telemetry_devices", dimensions: [("sensor", sensor.name), ("state", state.rawValue)], factory: metrics)
                                .record(counts[sensor.name]?[state] ?? 0)
                        }
                        Gauge(label: "telemetry_alerts_open", dimensions: [("sensor", sensor.name)], factory: metrics).record(alerts[sensor.name] ?? 0)
                    }
                    if !changes.isEmpty {
                        let summary = Dictionary(grouping: changes, by: \.state).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
                        logger.info("device status: \(summary)")
                    }
                } catch {
                    logger.warning("device status pass failed, will retry: \(error)")
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: options.interval) }
        }
    }
}
