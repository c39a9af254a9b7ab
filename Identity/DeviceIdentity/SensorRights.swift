import Foundation
import Postgres
import SensorModel
import StorageCore
import Synchronization

/// What a credential request says of a device's sensor types.
public enum SensorRights: Sendable, Equatable {
    /// Every sensor type of the catalog, also those added later (NULL in the table).
    case all
    case only([String])
    /// As the device has them (a rotation keeps its rights); every type for a new device.
    case unchanged

    /// A list as the API and the command line take it: nil for every type.
    public init(_ sensors: [String]?) { self = sensors.map(Self.only) ?? .all }

    /// The list to validate; nil when no list is given.
    public var list: [String]? { if case .only(let sensors) = self { sensors } else { nil } }
}
