import SensorModel
import WireFormats

/// A LoRaWAN node the emulator plays behind a network server (`--profile chirpstack`, `ttn`): its ids, and
/// its uplinks as the network server publishes them, carrying the node's bytes (Cayenne LPP, every feed's
/// fields) and a codec's object both, so that a source reading either finds its fields.
struct LoRaWANNode: Sendable {
    let name: String
    let devEUI: UInt64
    let encoder: UplinkEncoder
    /// Per feed: its source's key path (segments) for each field, for the codec's object.
    private let objectPaths: [[[String]]]
    private let lpp: [LPPEncoder]
    /// The id its readings are stored under (the source's `device`), and the topic's `{device}` level.
    let storedID: String
    let topicDevice: String

    /// - Parameter base: the network server's device name; the DevEUI is derived from it.
    init(base: String, envelope: Envelope, feeds: [SensorType], sources: [Source]) {
        name = base
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a: the same DevEUI for the same name on every run
        for byte in base.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        devEUI = hash
        let levels = sources[0].topic.split(separator: "/")
        encoder = UplinkEncoder(envelope: envelope, application: levels.count > 1 ? String(levels[1]) : "app")
        objectPaths = zip(feeds, sources).map { sensor, source in
            sensor.fields.map { KeyPath.parse(source.keyPaths(for: $0).first ?? $0.name) ?? [$0.name] }
        }
        lpp = feeds.map { LPPEncoder(sensor: $0, includeTime: false) }
        let eui = UplinkEncoder.hex(devEUI)
        storedID = (sources[0].storedDevice ?? envelope.topicDevice) == .devEUI ? eui : base
        topicDevice = envelope.topicDevice == .devEUI ? eui : base
    }

    /// One uplink: `values[feed][field]`, at `time` (µs), frame counter `fCnt`.
    func payload(values: [[Double]], time: Int64, fCnt: UInt32) -> [UInt8] {
        var data: [UInt8] = []
        var object = ObjectNode()
        for (feed, encoder) in lpp.enumerated() {
            var batch = ReadingBatch(fieldCount: values[feed].count)
            let row = batch.appendRow(time: time, seq: 0)
            for (field, value) in values[feed].enumerated() {
                let rounded = (value * 10).rounded() / 10  // LPP's resolution for temperature, so both carry one value
                batch.set(field: field, row: row, rounded)
                object.insert(rounded, at: objectPaths[feed][field][...])
            }
            data += encoder.encode(batch, rows: 0..<1, seq: 0)
        }
        var json: [UInt8] = []
        object.write(into: &json)
        let frame = UplinkEncoder.Frame(
            devEUI: devEUI, name: name, time: time, fCnt: fCnt, fPort: 1, data: data, object: json,
            receptions: [(-70 - Int(fCnt % 40), 9.5), (-101, -2.25)])
        return encoder.encode(frame)
    }

    /// A codec's object, built from key paths.
    private struct ObjectNode {
        var value: Double?
        var children: [(key: String, node: ObjectNode)] = []

        mutating func insert(_ number: Double, at path: ArraySlice<String>) {
            guard let key = path.first else { value = number; return }
            if let index = children.firstIndex(where: { $0.key == key }) {
                children[index].node.insert(number, at: path.dropFirst())
            } else {
                var child = ObjectNode()
                child.insert(number, at: path.dropFirst())
                children.append((key, child))
            }
        }

        func write(into json: inout [UInt8]) {
            if let value, children.isEmpty { json += Array("\(value)".utf8); return }
            json.append(UInt8(ascii: "{"))
            for (index, child) in children.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.append(UInt8(ascii: "\""))
                for byte in child.key.utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { json.append(UInt8(ascii: "\\")) }
                    json.append(byte)
                }
                json += Array("\":".utf8)
                child.node.write(into: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
    }
}
