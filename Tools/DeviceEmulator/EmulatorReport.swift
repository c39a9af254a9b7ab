import Foundation
import Histogram
import Logging
import MQTT
import SensorModel
import Synchronization
import WireFormats

public struct EmulatorReport: Sendable {
    public var elapsed: Double
    public var sentMessages: Int
    public var sentReadings: Int
    public var malformed: Int
    public var ackedMessages: Int
    public var ackedReadings: Int
    /// Publish-to-acknowledgement latency p50, p99, p99.9.
    public var latencyMillis: (Double, Double, Double)
    public var ackedReadingsPerDevice: [String: Int]
}
