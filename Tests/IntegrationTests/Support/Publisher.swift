import Foundation
import MQTT

/// A plain MQTT publisher for tests, independent of the emulator: waits for every QoS 1 acknowledgement.
final class TestPublisher: @unchecked Sendable {
    let client: MQTTClient

    init(url: MQTTURL) throws {
        client = try MQTTClient(url: url, options: .init(clientID: "test-pub-\(UUID().uuidString.prefix(8))", cleanSession: true))
        try client.start()
        guard client.waitUntilReady(timeout: .seconds(10)) else { throw TestSetupError(message: "cannot connect to the broker: \(client.lastError)") }
    }

    func publish(_ topic: String, _ payload: [UInt8], retain: Bool = false) throws {
        try client.publish(topic: topic, payload: payload, qos: 1, retain: retain)
    }

    /// Waits until the broker acknowledged everything published.
    func flush() throws {
        guard try blockingEventually(timeout: .seconds(30), { client.inflight == 0 }) else {
            throw TestSetupError(message: "broker did not acknowledge all messages")
        }
    }

    deinit { client.stop() }
}

/// Builds `tm` frames by hand from docs/wire-formats.md, apart from WireFormats' encoder, so a test
/// checks the decoder against the spec rather than against itself.
enum HandFrame {
    /// float64 values, no CRC: `samples` are (offset µs from base, values).
    static func float64(seq: UInt32, base: Int64, samples: [(UInt32, [Double])]) -> [UInt8] {
        var bytes: [UInt8] = [0x54, 0x4D, 0x01, 0x02, UInt8(samples[0].1.count), 0x00]
        append(UInt16(samples.count), &bytes)
        append(seq, &bytes)
        append(UInt64(bitPattern: base), &bytes)
        for (offset, values) in samples {
            append(offset, &bytes)
            for value in values { append(value.bitPattern, &bytes) }
        }
        return bytes
    }

    static func append<T: FixedWidthInteger>(_ value: T, _ bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
