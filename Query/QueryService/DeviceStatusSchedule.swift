import Foundation
import Logging
import Metrics
import SensorModel
import ServiceLifecycle
import StorageCore
import StorageEvents
import StorageOperations

/// Derives every device's state (`DeviceStatus.evaluate`) every `interval` in each database, and keeps
/// the `telemetry_devices{sensor,state}` gauges. A service of the query process, with a connection of its
/// own per database (not the read pool), kept between passes.
public struct DeviceStatusSchedule: Service {
    public struct Options: Sendable {
        public var interval: Duration
        public var silentFactor: Int

        public init(interval: Duration = .seconds(5), silentFactor: Int = 3) {
            self.interval = interval
            self.silentFactor = silentFactor
        }
    }

    public let placement: DatabasePlacement
    public let catalog: Catalog
    public let options: Options
    public let logger: Logger
    let metrics: any MetricsFactory

    public init(placement: DatabasePlacement, catalog: Catalog, options: Options, metrics: any MetricsFactory, logger: Logger) {
        self.placement = placement
        self.catalog = catalog
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        let connections = Connections()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for url in placement.urls {
                let sensors = placement.sensors(catalog.sensors, at: url)
                do {
                    let (changes, counts) = try await Blocking.run("device-status") {
                        let connection = try connections.get(url)
                        do {
                            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
                            let changes = try DeviceStatus.evaluate(sensors: sensors, silentFactor: Double(options.silentFactor), now: now, on: connection)
                            return (changes, try DeviceStatus.counts(on: connection))
                        } catch {
                            connections.drop(url)
                            throw error
                        }
                    }
                    for sensor in sensors {
                        for state in DeviceState.allCases {
                            Gauge(label: "telemetry_devices", dimensions: [("sensor", sensor.name), ("state", state.rawValue)], factory: metrics)
                                .record(counts[sensor.name]?[state] ?? 0)
                        }
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

    /// One connection per database, opened when first needed and again after a failure.
    private final class Connections: @unchecked Sendable {
        private let lock = NSLock()
        private var open: [String: StoreConnection] = [:]

        func get(_ url: String) throws -> StoreConnection {
            if let connection = lock.withLock({ open[url] }) { return connection }
            let connection = try StoreConnection(url: url, connectTimeoutSeconds: 5)
            lock.withLock { open[url] = connection }
            return connection
        }

        func drop(_ url: String) { _ = lock.withLock { open.removeValue(forKey: url) } }
    }
}
