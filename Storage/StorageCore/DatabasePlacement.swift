import SensorModel

/// Which PostgreSQL holds each sensor type's tables: the default database, or one named for a sensor
/// type (a hot sensor type gets a server of its own). The default also holds what belongs to no sensor
/// type: the catch-all's dead letters.
public struct DatabasePlacement: Sendable, Equatable {
    public let defaultURL: String
    public let bySensor: [String: String]

    public init(defaultURL: String, bySensor: [String: String] = [:]) {
        self.defaultURL = defaultURL
        self.bySensor = bySensor
    }

    public func url(for sensor: String) -> String { bySensor[sensor] ?? defaultURL }

    /// Every database in use, the default first.
    public var urls: [String] { [defaultURL] + Set(bySensor.values).subtracting([defaultURL]).sorted() }

    /// The sensor types among `sensors` whose tables live at `url`.
    public func sensors(_ sensors: [SensorType], at url: String) -> [SensorType] {
        sensors.filter { self.url(for: $0.name) == url }
    }
}
