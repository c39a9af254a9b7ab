import SensorModel

/// The Things Stack v3's uplink message (`ttnpb.ApplicationUp` with `uplink_message`, JSON): snake_case keys,
/// empty fields left out (`f_cnt` 0), 64-bit numbers as strings (`settings.frequency`), EUIs in uppercase hex.
enum TheThingsStackUplink {
    static func read(_ payload: UnsafeRawBufferPointer) throws(DecodeError) -> Uplink {
        var reader = JSONReader(payload)
        var uplink = Uplink()
        var serverTime: Int64?
        var isUplink = false
        guard reader.consume(UInt8(ascii: "{")) else { throw ChirpStackUplink.notAnObject(&reader) }
        try reader.members(["end_device_ids", "received_at", "uplink_message"], depth: 1) { (reader: inout JSONReader, key: Int) throws(DecodeError) in
            switch key {
            case 0:
                guard try reader.openObject("end_device_ids") else { return }
                try reader.members(["device_id", "dev_eui"], depth: 2) { (reader: inout JSONReader, key: Int) throws(DecodeError) in
                    if key == 0 { uplink.name = try reader.text("end_device_ids.device_id") } else { uplink.devEUI = try reader.text("end_device_ids.dev_eui") }
                }
            case 1:
                serverTime = try reader.time("received_at")
            default:
                guard try reader.openObject("uplink_message") else { return }
                isUplink = true
                try readMessage(&reader, into: &uplink)
            }
        }
        try reader.end()
        guard isUplink else { throw DecodeError(.badEnvelope, "no uplink_message: not an uplink (a join, a downlink event?)") }
        // The Network Server's receive time, else the Application Server's: both stay the same when the
        // message is delivered again.
        uplink.time = uplink.time ?? serverTime
        return uplink
    }

    private static func readMessage(_ reader: inout JSONReader, into uplink: inout Uplink) throws(DecodeError) {
        try reader.members(["f_cnt", "f_port", "frm_payload", "decoded_payload", "rx_metadata", "settings", "received_at"], depth: 2) {
            (reader: inout JSONReader, key: Int) throws(DecodeError) in
            switch key {
            case 0: uplink.fCnt = try reader.counter("uplink_message.f_cnt")
            case 1: uplink.fPort = try reader.counter("uplink_message.f_port")
            case 2: uplink.data = try reader.text("uplink_message.frm_payload")
            case 3: uplink.object = try reader.objectRange("uplink_message.decoded_payload", depth: 2)
            case 4:
                guard try reader.openArray("uplink_message.rx_metadata") else { return }
                try reader.objects(["rssi", "channel_rssi", "snr", "gateway_ids"], depth: 3, name: "uplink_message.rx_metadata") {
                    (reader: inout JSONReader, key: Int) throws(DecodeError) in
                    switch key {
                    case 0: uplink.rssiOfEntry = try reader.number("rx_metadata[].rssi")
                    case 1: uplink.channelRSSIOfEntry = try reader.number("rx_metadata[].channel_rssi")
                    case 2: uplink.snrOfEntry = try reader.number("rx_metadata[].snr")
                    default:
                        guard try reader.openObject("rx_metadata[].gateway_ids") else { return }
                        try reader.members(["eui"], depth: 5) { (reader: inout JSONReader, _: Int) throws(DecodeError) in
                            uplink.gatewayOfEntry = try reader.eui("rx_metadata[].gateway_ids.eui")
                        }
                    }
                } entryEnded: {
                    uplink.closeEntry()
                }
            case 5:
                guard try reader.openObject("uplink_message.settings") else { return }
                try reader.members(["frequency", "data_rate"], depth: 3) { (reader: inout JSONReader, key: Int) throws(DecodeError) in
                    if key == 0 { uplink.frequency = try reader.number("settings.frequency"); return }
                    guard try reader.openObject("settings.data_rate") else { return }
                    try reader.members(["lora"], depth: 4) { (reader: inout JSONReader, _: Int) throws(DecodeError) in
                        guard try reader.openObject("settings.data_rate.lora") else { return }
                        try reader.members(["spreading_factor"], depth: 5) { (reader: inout JSONReader, _: Int) throws(DecodeError) in
                            uplink.spreadingFactor = try reader.number("settings.data_rate.lora.spreading_factor")
                        }
                    }
                }
            default:
                uplink.time = try reader.time("uplink_message.received_at")
            }
        }
    }
}
