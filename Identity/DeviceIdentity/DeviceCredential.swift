import Foundation
import Postgres
import SensorModel
import StorageCore
import Synchronization

/// A device's credential as stored: never its password, only the hash.
public struct DeviceCredential: Sendable, Equatable {
    public var device: String
    /// The sensor types it may publish as; nil for every one.
    public var sensors: [String]?
    public var passwordHash: String
    public var created: Int64
    public var rotated: Int64
}
