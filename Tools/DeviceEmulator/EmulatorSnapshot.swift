import Foundation
import Histogram
import Logging
import MQTT
import SensorModel
import Synchronization
import WireFormats

public struct EmulatorSnapshot: Sendable {
    public var elapsed: Double
    public var sentMessages: Int
    public var sentReadings: Int
    public var ackedMessages: Int
    public var inflight: Int
}
