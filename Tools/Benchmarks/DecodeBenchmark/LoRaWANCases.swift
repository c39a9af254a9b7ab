import Foundation
import SensorModel
import WireFormats

// Network servers' uplinks (ChirpStack v4, The Things Stack v3) through a catalog source, against
// JSONDecoder decoding the same bytes into Codable structs of what the source reads (ids, time, counters,
// payload, radio) and Foundation's base64 for the bytes; ours also decodes the LPP and checks ranges.

struct ChirpStackUp: Codable {
    struct DeviceInfo: Codable { var devEui: String; var deviceName: String }
    struct RxInfo: Codable { var rssi: Double?; var snr: Double? }
    struct TxInfo: Codable {
        struct Modulation: Codable { struct LoRa: Codable { var spreadingFactor: Int? }; var lora: LoRa? }
        var frequency: Int?
        var modulation: Modulation?
    }
    var deviceInfo: DeviceInfo
    var time: String
    var fCnt: UInt32?
    var fPort: UInt8?
    var data: String?
    var rxInfo: [RxInfo]?
    var txInfo: TxInfo?
}

struct TheThingsStackUp: Codable {
    struct Ids: Codable { var device_id: String; var dev_eui: String? }
    struct Message: Codable {
        struct Rx: Codable { var rssi: Double?; var snr: Double? }
        struct Settings: Codable { var frequency: String? }
        struct Decoded: Codable { var temperature: Double }
        var f_cnt: UInt32?
        var f_port: UInt8?
        var frm_payload: String?
        var decoded_payload: Decoded?
        var rx_metadata: [Rx]?
        var settings: Settings?
        var received_at: String
    }
    var end_device_ids: Ids
    var uplink_message: Message
}

@MainActor func runLoRaWANCases() {
    print("")
    let node = SensorType(name: "node", fields: temperature.fields + [
        Field(name: "rssi", unit: "dBm", min: -200, max: 50), Field(name: "snr", unit: "dB", min: -50, max: 50),
    ], sources: [
        Source(topic: "application/app/device/{device}/event/up", format: .lpp, envelope: .chirpstack, uplink: ["rssi": .rssi, "snr": .snr]),
        Source(topic: "v3/app/devices/{device}/up", format: .json, fields: ["celsius": ["temperature"]], envelope: .ttn, uplink: ["rssi": .rssi, "snr": .snr]),
    ])
    func frames(object: Bool) -> [UplinkEncoder.Frame] {
        (0..<20_000).map { index in
            let celsius = Double(index % 400) / 10
            let raw = UInt16(bitPattern: Int16(celsius * 10))
            return UplinkEncoder.Frame(
                devEUI: 0x0004_A30B_001C_0000 | UInt64(index % 1000), name: "node-\(index % 1000)", time: start2026 + Int64(index) * 1000,
                fCnt: UInt32(index), fPort: 1, data: [1, 103, UInt8(raw >> 8), UInt8(raw & 0xFF)],
                object: object ? Array(#"{"temperature":\#(celsius),"battery":3.1}"#.utf8) : nil, receptions: [(-80, 7.5), (-101, -2.25)])
        }
    }
    var pairs: [(name: String, ours: Result, baseline: Result)] = []
    let chirpstack = frames(object: false).map(UplinkEncoder(envelope: .chirpstack, application: "app").encode)
    pairs.append(compare("chirpstack uplink, LPP data", chirpstack, as: ChirpStackUp.self, readings: { up in
        Data(base64Encoded: up.data ?? "").map { _ in 1 } ?? 0
    }) {
        decodeAll(chirpstack, sensor: node, format: .lpp, source: 0)
    })
    let tts = frames(object: true).map(UplinkEncoder(envelope: .ttn, application: "app").encode)
    pairs.append(compare("ttn uplink, decoded_payload", tts, as: TheThingsStackUp.self, readings: { up in
        up.uplink_message.decoded_payload == nil ? 0 : 1
    }) {
        decodeAll(tts, sensor: node, format: .json, source: 1)
    })
    printRatios(pairs, against: "JSONDecoder")
}
