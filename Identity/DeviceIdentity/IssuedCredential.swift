import Foundation
import Postgres
import SensorModel
import StorageCore
import Synchronization

/// A credential just made: the only place its password ever appears.
public struct IssuedCredential: Sendable {
    public var credential: DeviceCredential
    public var password: String
    /// False when an existing credential was rotated.
    public var created: Bool
}
