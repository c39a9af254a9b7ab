import Foundation
import SensorModel
import WireFormats

/// Sensor types shaped like the catalog's, built in code so fuzz runs need no files.
public let fuzzSensors: [SensorType] = [
    SensorType(
        name: "temperature",
        fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150, lpp: LPPBinding(type: 103), aliases: ["temperature", "Temperature"])],
        sources: [
            Source(topic: "tele/{device}/SENSOR", format: .json, fields: ["celsius": ["AM2301.Temperature", "DS18B20.Temperature"]]),
            Source(topic: "{device}/events/rpc", format: .json, fields: ["celsius": [#"params."temperature:0".tC"#]], time: "params.ts"),
            Source(topic: "{device}/sensor/temperature/state", format: .text),
        ]),
    SensorType(name: "power", fields: [
        Field(name: "voltage", unit: "V", min: 0, max: 1000, lpp: LPPBinding(type: 116), strings: true),
        Field(name: "current", unit: "A", min: 0, max: 1000, lpp: LPPBinding(type: 117)),
        Field(name: "power", unit: "W", min: 0, max: 1_000_000, lpp: LPPBinding(type: 128)),
        Field(name: "energy", unit: "kWh", min: 0, max: 1e9, lpp: LPPBinding(type: 131)),
    ]),
    SensorType(name: "location", fields: [
        Field(name: "latitude", unit: "lat", min: -90, max: 90, lpp: LPPBinding(type: 136, component: 0)),
        Field(name: "longitude", unit: "lon", min: -180, max: 180, lpp: LPPBinding(type: 136, component: 1)),
        Field(name: "altitude", unit: "m", min: -500, max: 10000, lpp: LPPBinding(type: 136, channel: 2, component: 2)),
    ]),
]

let decoders = fuzzSensors.map { MessageDecoder(sensor: $0) }

/// A LoRaWAN node behind each network server: its payload as LPP bytes or the codec's object, stored by
/// DevEUI or by name, with radio metadata in fields.
func uplinkSensor(_ envelope: Envelope) -> SensorType {
    let topic = envelope == .chirpstack ? "application/app/device/{device}/event/up" : "v3/app/devices/{device}/up"
    let uplink: [String: UplinkMetadata] = ["rssi": .rssi, "snr": .snr, "gateways": .gateways, "counter": .fCnt, "frequency": .frequency]
    return SensorType(name: "node", fields: [
        Field(name: "celsius", unit: "Cel", min: -90, max: 150, lpp: LPPBinding(type: 103), aliases: ["temperature"]),
        Field(name: "rssi", unit: "dBm", min: -200, max: 50), Field(name: "snr", unit: "dB", min: -50, max: 50),
        Field(name: "gateways", unit: "1", min: 0, max: 1024), Field(name: "counter", unit: "1", min: 0, max: 4_294_967_295),
        Field(name: "frequency", unit: "Hz", min: 0, max: 3e9),
    ], sources: [
        Source(topic: topic, format: .lpp, envelope: envelope, uplink: uplink),
        Source(topic: topic + "/json", format: .json, envelope: envelope, device: .devEUI),
        Source(topic: topic + "/name", format: .json, fields: ["celsius": ["a.b", "temperature"]], envelope: envelope, device: .name, uplink: uplink),
    ])
}

let uplinkDecoders = Envelope.allCases.map { MessageDecoder(sensor: uplinkSensor($0)) }

let sparkplugSensor = SensorType(name: "plant", fields: [
    Field(name: "celsius", unit: "Cel", min: -90, max: 150), Field(name: "count", unit: "1", min: -1e12, max: 1e12),
    Field(name: "running", unit: "1", min: 0, max: 1),
], sources: [Source(topic: "spBv1.0/plant", format: .sparkplug, fields: ["celsius": ["Temperature", "Sensors/Temp1"], "count": ["Sensors/Count"]])])
let sparkplugDecoder = MessageDecoder(sensor: sparkplugSensor)
/// What a BIRTH would have defined: aliases 1...3 (a Double, an Int64, a Boolean).
let sparkplugAliases: [UInt64: (name: [UInt8], datatype: UInt32?)] = [
    1: (Array("Temperature".utf8), 10), 2: (Array("Sensors/Count".utf8), 4), 3: (Array("running".utf8), 11),
]

/// Decodes `count` bytes as a Sparkplug B payload, by names alone (the format's decoder) and with an edge
/// node's aliases: a rejected message leaves no rows, an accepted one only finite, in-range values.
public func fuzzSparkplugPayload(_ start: UnsafePointer<UInt8>?, _ count: Int) {
    let payload = UnsafeRawBufferPointer(start: start, count: count)
    var device: String?
    check(sparkplugDecoder, payload, format: .sparkplug, source: 0, device: &device)
    var batch = ReadingBatch(fieldCount: sparkplugSensor.fields.count)
    _ = batch.appendRow(time: 0, seq: 0)
    var skipped = 0
    do {
        try sparkplugDecoder.decodeSparkplug(payload, source: 0, resolve: { sparkplugAliases[$0] }, into: &batch, skipped: &skipped)
        if batch.count > 1 { try sparkplugDecoder.checkRanges(batch, rows: 1..<batch.count) }
    } catch {
        return  // the pipeline truncates what a rejected message appended
    }
}

/// Decodes `count` bytes as `envelope`'s uplink through each of its fuzz sources, with and without a topic
/// device to check against: what `fuzzDecode` checks, and that an accepted uplink names a valid device id.
public func fuzzUplink(_ start: UnsafePointer<UInt8>?, _ count: Int, envelope: Envelope) {
    let payload = UnsafeRawBufferPointer(start: start, count: count)
    let decoder = uplinkDecoders[Envelope.allCases.firstIndex(of: envelope)!]
    for source in decoder.sensor.sources.indices {
        for topicDevice in [nil, "0101010101010101", "dev1"] as [String?] {
            var device = topicDevice
            guard check(decoder, payload, format: nil, source: source, device: &device) else { continue }
            precondition(device.map(Topic.isValidDevice) == true, "accepted an uplink for device \(String(describing: device))")
        }
    }
}

/// Decodes `count` bytes for every fuzz sensor type and checks what a decoder promises:
/// a rejected message leaves the batch as it was; an accepted one holds only finite, in-range values.
public func fuzzDecode(_ start: UnsafePointer<UInt8>?, _ count: Int, format: PayloadFormat) {
    let payload = UnsafeRawBufferPointer(start: start, count: count)
    for decoder in decoders {
        // The topic's format, then each source of that format (its own paths, time and field).
        let sources: [Int?] = [nil] + decoder.sensor.sources.indices.filter { decoder.sensor.sources[$0].format == format }.map(Optional.some)
        for source in sources {
            var device: String?
            check(decoder, payload, format: format, source: source, device: &device)
        }
    }
}

/// True when the message was accepted.
@discardableResult
private func check(_ decoder: MessageDecoder, _ payload: UnsafeRawBufferPointer, format: PayloadFormat?, source: Int?, device: inout String?) -> Bool {
    var batch = ReadingBatch(fieldCount: decoder.sensor.fields.count)
    _ = batch.appendRow(time: 0, seq: 0)
    var skipped = 0
    do {
        try decoder.decode(payload, format: format, source: source, receivedAt: 1_767_225_600_000_000, into: &batch, skipped: &skipped, device: &device)
    } catch {
        precondition(batch.count == 1, "a rejected message left rows behind")
        return false
    }
    for row in 1..<batch.count {
        var present = 0
        for (index, field) in decoder.sensor.fields.enumerated() {
            guard let value = batch.value(field: index, row: row) else { continue }
            present += 1
            precondition(value.isFinite && field.contains(value), "accepted \(value) for \(field.name)")
        }
        precondition(present > 0, "accepted a reading without values")
    }
    return true
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

/// Hands control to libFuzzer (SwiftPM renames an executable's `main`, so libFuzzer's own cannot run),
/// or, in a plain build, runs `callback` once per file argument.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    #if FUZZING
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
    #else
    for path in CommandLine.arguments.dropFirst() {
        guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
        _ = data.withUnsafeBytes { callback($0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
        print("\(path): decoded without crashing")
    }
    exit(0)
    #endif
}
