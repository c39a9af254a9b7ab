import Foundation
import SensorModel
import Testing
@testable import WireFormats

/// Uplinks written the way ChirpStack and The Things Stack write them (`UplinkEncoder`), read back through
/// a catalog source: the device, time, frame counter, payload and radio metadata come out as they went in.
@Suite struct UplinkRoundTripTests {
    static let fields = [
        Field(name: "indoor", unit: "Cel", min: -90, max: 150, lpp: LPPBinding(type: 103, channel: 3)),
        Field(name: "rssi", unit: "dBm", min: -200, max: 50), Field(name: "snr", unit: "dB", min: -50, max: 50),
        Field(name: "gateways", unit: "1", min: 0, max: 1000), Field(name: "counter", unit: "1", min: 0, max: 4_294_967_295),
        Field(name: "port", unit: "1", min: 0, max: 255), Field(name: "frequency", unit: "Hz", min: 0, max: 3e9),
        Field(name: "sf", unit: "1", min: 5, max: 12),
        Field(name: "gateway_hi", unit: "1", min: 0, max: 4_294_967_295), Field(name: "gateway_lo", unit: "1", min: 0, max: 4_294_967_295),
    ]
    static let uplink: [String: UplinkMetadata] = [
        "rssi": .rssi, "snr": .snr, "gateways": .gateways, "counter": .fCnt, "port": .fPort, "frequency": .frequency, "sf": .spreadingFactor,
        "gateway_hi": .gatewayEUIHigh, "gateway_lo": .gatewayEUILow,
    ]

    static func sensor(_ envelope: Envelope, format: PayloadFormat, device: EnvelopeDevice?) -> SensorType {
        let topic = envelope == .chirpstack ? "application/app-1/device/{device}/event/up" : "v3/app-1/devices/{device}/up"
        return SensorType(name: "node", fields: fields, sources: [
            Source(topic: topic, format: format, fields: format == .json ? ["indoor": ["sensors.indoor"]] : [:], envelope: envelope, device: device, uplink: uplink),
        ])
    }

    @Test(arguments: Envelope.allCases)
    func randomUplinksComeBackAsTheyWent(_ envelope: Envelope) throws {
        var random = SeededRandom(seed: envelope == .chirpstack ? 0xC41 : 0x771)
        let encoder = UplinkEncoder(envelope: envelope, application: "app-1")
        for round in 0..<400 {
            let format: PayloadFormat = round % 2 == 0 ? .lpp : .json
            let stored: EnvelopeDevice? = round % 3 == 0 ? nil : (round % 3 == 1 ? .devEUI : .name)
            let sensor = Self.sensor(envelope, format: format, device: stored)
            let indoor = Double(Int.random(in: -400...1200, using: &random)) / 10
            var frame = UplinkEncoder.Frame(
                devEUI: random.next(), name: "node-\(Int.random(in: 0...99_999, using: &random))",
                time: Int64.random(in: 1_577_836_800_000_000...1_893_456_000_000_000, using: &random),
                fCnt: round % 7 == 0 ? 0 : UInt32.random(in: 0...UInt32.max, using: &random), fPort: UInt8.random(in: 1...223, using: &random),
                data: [], frequency: Int.random(in: 863_000_000...928_000_000, using: &random), spreadingFactor: Int.random(in: 7...12, using: &random))
            frame.receptions = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                (Int.random(in: -130 ... -20, using: &random), Double(Int.random(in: -80...60, using: &random)) / 4)
            }
            if format == .lpp {
                var batch = ReadingBatch(fieldCount: 1)
                batch.set(field: 0, row: batch.appendRow(time: 0, seq: 0), indoor)
                frame.data = LPPEncoder(sensor: SensorType(name: "t", fields: [Self.fields[0]]), includeTime: false).encode(batch, rows: 0..<1, seq: 0)
            } else {
                frame.object = Array(#"{"sensors":{"indoor":\#(indoor)},"battery":3.1}"#.utf8)
            }
            let topicDevice = envelope == .chirpstack ? UplinkEncoder.hex(frame.devEUI) : frame.name
            #expect(encoder.topic(for: frame) == sensor.sources[0].topic.replacingOccurrences(of: "{device}", with: topicDevice))

            var batch = ReadingBatch(fieldCount: sensor.fields.count)
            var skipped = 0
            var device: String? = topicDevice
            try MessageDecoder(sensor: sensor).decode(
                encoder.encode(frame), format: nil, source: 0, receivedAt: 0, into: &batch, skipped: &skipped, device: &device)
            let expectedDevice = (stored ?? envelope.topicDevice) == .devEUI ? UplinkEncoder.hex(frame.devEUI) : frame.name
            #expect(device == expectedDevice)
            // UplinkEncoder numbers its gateways in the EUI's last byte; the best RSSI's (the first of equals) is kept.
            let best = frame.receptions.indices.first { frame.receptions[$0].rssi == frame.receptions.map(\.rssi).max()! }!
            let gateway = (envelope == .chirpstack ? 0x0016_C001_F153_A100 : 0x9C5C_8E00_001A_0500) + UInt64(best)
            let values: [Double] = [
                indoor, Double(frame.receptions.map(\.rssi).max()!), frame.receptions.map(\.snr).max()!, Double(frame.receptions.count),
                Double(frame.fCnt), Double(frame.fPort), Double(frame.frequency), Double(frame.spreadingFactor),
                Double(gateway >> 32), Double(gateway & 0xFFFF_FFFF),
            ]
            #expect(rows(batch) == [Row(time: frame.time, seq: Int64(frame.fCnt), values: values)], "round \(round)")
        }
    }
}
