import SensorModel
import WireFormats

/// Off-the-shelf firmware the emulator imitates: its default topic and payload, so that the default
/// catalog's sources can be load-tested and verified end to end.
public enum DeviceProfile: String, Sendable, CaseIterable {
    /// Tasmota with a BME280: `tele/<topic>/SENSOR`, temperature, humidity and pressure in one message.
    case tasmota
    /// Shelly Plus H&T (Gen2): `NotifyStatus` on `<shelly-id>/events/rpc` with temperature and humidity.
    case shelly
    /// ESPHome: the temperature sensor's state as text on `<node>/sensor/temperature/state`.
    case esphome
    /// A LoRaWAN node behind ChirpStack v4: its uplink event on the catalog's `chirpstack` source, with the
    /// node's Cayenne LPP bytes in `data` and a codec's `object` both.
    case chirpstack
    /// A LoRaWAN node behind The Things Stack v3: `frm_payload` and `decoded_payload` both.
    case ttn
    /// A Sparkplug B edge node with one device, on the catalog's `sparkplug` source: BIRTH, DATA with
    /// aliases, DEATH as its will (one connection per edge node).
    case sparkplug

    /// The sensor types one message feeds, by catalog name.
    public var sensorNames: [String] {
        switch self {
        case .tasmota: ["temperature", "humidity", "pressure"]
        case .shelly: ["temperature", "humidity"]
        case .esphome, .chirpstack, .ttn, .sparkplug: ["temperature"]
        }
    }

    /// The network server a LoRaWAN profile's uplinks come through.
    public var envelope: Envelope? {
        switch self {
        case .chirpstack: .chirpstack
        case .ttn: .ttn
        default: nil
        }
    }

    /// The firmware's default topic as a catalog pattern.
    public var defaultTopic: String {
        switch self {
        case .tasmota: "tele/{device}/SENSOR"
        case .shelly: "{device}/events/rpc"
        case .esphome: "{device}/sensor/temperature/state"
        case .chirpstack: "application/{application_id}/device/{device}/event/up"
        case .ttn: "v3/{application id}/devices/{device}/up"
        case .sparkplug: "spBv1.0/{group}"
        }
    }

    /// The catalog source of `sensor` this firmware publishes to: its default topic, or that topic under
    /// a prefix of levels (a firmware's configurable topic prefix, e.g. `home/tele/{device}/SENSOR`).
    /// A LoRaWAN profile's: the sensor type's source with its network server's envelope (the application
    /// id in the topic is the user's own).
    public func source(of sensor: SensorType) -> Source? {
        if let envelope { return sensor.sources.first { $0.envelope == envelope } }
        if self == .sparkplug { return sensor.sources.first { $0.format == .sparkplug } }
        return sensor.sources.first { $0.topic == defaultTopic || $0.topic.hasSuffix("/" + defaultTopic) }
    }

    /// Whether the message carries its time (Shelly's `params.ts`, to 10 ms; Sparkplug's timestamps, to the
    /// ms); else the platform takes the receive time.
    var carriesTime: Bool { self == .shelly || self == .sparkplug }

    /// The step of the time the message carries, µs.
    var timeStep: Int64 { self == .sparkplug ? 1000 : 10_000 }

    /// The message for one reading: `values[sensor][field]`, in `sensorNames` order; `time` in µs.
    func payload(values: [[Double]], time: Int64, device: String) -> [UInt8] {
        func decimals(_ value: Double, _ places: Double) -> String { "\((value * places).rounded() / places)" }
        switch self {
        case .tasmota:
            let (temperature, humidity, pressure) = (values[0][0], values[1][0], values[2][0])
            let local = TimeText.format(time / 1_000_000 * 1_000_000).prefix(19)  // Tasmota's local time, no zone
            return Array(("{\"Time\":\"\(local)\",\"BME280\":{\"Temperature\":\(decimals(temperature, 10)),\"Humidity\":\(decimals(humidity, 10)),"
                + "\"DewPoint\":10.0,\"Pressure\":\(decimals(pressure, 10))},\"PressureUnit\":\"hPa\",\"TempUnit\":\"C\"}").utf8)
        case .shelly:
            let (temperature, humidity) = (values[0][0], values[1][0])
            let seconds = "\(time / 1_000_000).\(String(time / 10_000 % 100).leftPadded(2))"
            return Array(("{\"src\":\"\(device)\",\"dst\":\"\(device)/events\",\"method\":\"NotifyStatus\",\"params\":{\"ts\":\(seconds),"
                + "\"temperature:0\":{\"id\":0,\"tC\":\(decimals(temperature, 10)),\"tF\":\(decimals(temperature * 1.8 + 32, 10))},"
                + "\"humidity:0\":{\"id\":0,\"rh\":\(decimals(humidity, 10))}}}").utf8)
        case .esphome:
            return Array(decimals(values[0][0], 10).utf8)
        case .chirpstack, .ttn, .sparkplug:
            preconditionFailure("a LoRaWAN node's payload is its uplink (LoRaWANNode), an edge node's its own (SparkplugNode)")
        }
    }

    /// A message the platform must dead-letter, the way a broken device would send it.
    func malformed(device: String) -> [UInt8] {
        switch self {
        case .tasmota: Array("{\"Time\":\"2026-01-01T00:00:00\",\"BME280\":{\"Temperature\":".utf8)
        case .shelly: Array("{\"src\":\"\(device)\",\"method\":\"NotifyStatus\",\"params\":{\"ts\":1767225600,\"temperature:0\":{\"tC\":\"warm\"}}}".utf8)
        case .esphome: Array("unavailable".utf8)
        case .chirpstack: Array(#"{"deviceInfo":{"devEui":"\#(device)"},"time":"2026-01-01T00:00:00+00:00","data":"not base64!"}"#.utf8)
        case .ttn: Array(#"{"end_device_ids":{"device_id":"\#(device)"},"received_at":"2026-01-01T00:00:00Z","uplink_message":{"frm_payload":"#.utf8)
        case .sparkplug: [0x08, 0xFF, 0xFF]  // a timestamp varint cut short
        }
    }
}
