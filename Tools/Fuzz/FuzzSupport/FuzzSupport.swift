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

/// Decodes `count` bytes for every fuzz sensor type and checks what a decoder promises:
/// a rejected message leaves the batch as it was; an accepted one holds only finite, in-range values.
public func fuzzDecode(_ start: UnsafePointer<UInt8>?, _ count: Int, format: PayloadFormat) {
    let payload = UnsafeRawBufferPointer(start: start, count: count)
    for decoder in decoders {
        // The topic's format, then each source of that format (its own paths, time and field).
        let sources: [Int?] = [nil] + decoder.sensor.sources.indices.filter { decoder.sensor.sources[$0].format == format }.map(Optional.some)
        for source in sources { check(decoder, payload, format: format, source: source) }
    }
}

private func check(_ decoder: MessageDecoder, _ payload: UnsafeRawBufferPointer, format: PayloadFormat, source: Int?) {
    var batch = ReadingBatch(fieldCount: decoder.sensor.fields.count)
    _ = batch.appendRow(time: 0, seq: 0)
    var skipped = 0
    do {
        try decoder.decode(payload, format: format, source: source, receivedAt: 1_767_225_600_000_000, into: &batch, skipped: &skipped)
    } catch {
        precondition(batch.count == 1, "a rejected message left rows behind")
        return
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
