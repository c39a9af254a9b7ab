import SensorModel

/// ChirpStack v4's `up` event, JSON encoding (protobuf's JSON mapping of `integration.UplinkEvent`):
/// camelCase keys, and fields at their default value left out (`fCnt` 0 is absent, `object` when no codec ran).
enum ChirpStackUplink {
    static func read(_ payload: UnsafeRawBufferPointer) throws(DecodeError) -> Uplink {
        var reader = JSONReader(payload)
        var uplink = Uplink()
        guard reader.consume(UInt8(ascii: "{")) else { throw notAnObject(&reader) }
        try reader.members(["deviceInfo", "time", "fCnt", "fPort", "data", "object", "rxInfo", "txInfo"], depth: 1) {
            (reader: inout JSONReader, key: Int) throws(DecodeError) in
            switch key {
            case 0:
                guard try reader.openObject("deviceInfo") else { return }
                try reader.members(["devEui", "deviceName"], depth: 2) { (reader: inout JSONReader, key: Int) throws(DecodeError) in
                    if key == 0 { uplink.devEUI = try reader.text("deviceInfo.devEui") } else { uplink.name = try reader.text("deviceInfo.deviceName") }
                }
            case 1: uplink.time = try reader.time("time")
            case 2: uplink.fCnt = try reader.counter("fCnt")
            case 3: uplink.fPort = try reader.counter("fPort")
            case 4: uplink.data = try reader.text("data")
            case 5: uplink.object = try reader.objectRange("object", depth: 1)
            case 6:
                guard try reader.openArray("rxInfo") else { return }
                try reader.objects(["rssi", "snr", "gatewayId"], depth: 2, name: "rxInfo") { (reader: inout JSONReader, key: Int) throws(DecodeError) in
                    // An entry is one gateway; its values are read as they come and kept when the entry ends.
                    switch key {
                    case 0: uplink.rssiOfEntry = try reader.number("rxInfo[].rssi")
                    case 1: uplink.snrOfEntry = try reader.number("rxInfo[].snr")
                    default: uplink.gatewayOfEntry = try reader.eui("rxInfo[].gatewayId")
                    }
                } entryEnded: {
                    uplink.closeEntry()
                }
            default:
                guard try reader.openObject("txInfo") else { return }
                try reader.members(["frequency", "modulation"], depth: 2) { (reader: inout JSONReader, key: Int) throws(DecodeError) in
                    if key == 0 { uplink.frequency = try reader.number("txInfo.frequency"); return }
                    guard try reader.openObject("txInfo.modulation") else { return }
                    try reader.members(["lora"], depth: 3) { (reader: inout JSONReader, _: Int) throws(DecodeError) in
                        guard try reader.openObject("txInfo.modulation.lora") else { return }
                        try reader.members(["spreadingFactor"], depth: 4) { (reader: inout JSONReader, _: Int) throws(DecodeError) in
                            uplink.spreadingFactor = try reader.number("txInfo.modulation.lora.spreadingFactor")
                        }
                    }
                }
            }
        }
        try reader.end()
        return uplink
    }

    static func notAnObject(_ reader: inout JSONReader) -> DecodeError {
        do throws(DecodeError) {
            reader.skipWhitespace()
            if reader.isAtEnd { return reader.malformed("is empty") }
            try reader.skipValue()
        } catch {
            return error  // malformed JSON says so first
        }
        return DecodeError(.badEnvelope, "an uplink is a JSON object")
    }
}
