import SensorModel

/// Writes an uplink as a network server publishes it (ChirpStack v4 JSON, The Things Stack v3 JSON), with
/// the shapes of their documented examples: defaults left out (fCnt 0, empty data), times with nanoseconds
/// and ChirpStack's `+00:00`, The Things Stack's uppercase DevEUI and 64-bit frequency as a string. For the
/// emulator and the round-trip tests.
public struct UplinkEncoder: Sendable {
    public struct Frame: Sendable {
        public var devEUI: UInt64
        public var name: String
        public var time: Int64
        public var fCnt: UInt32
        public var fPort: UInt8
        public var data: [UInt8]
        /// A codec's output (a JSON object), or nil when none ran.
        public var object: [UInt8]?
        /// One reception per gateway: RSSI (dBm), SNR (dB).
        public var receptions: [(rssi: Int, snr: Double)]
        public var frequency: Int
        public var spreadingFactor: Int

        public init(
            devEUI: UInt64, name: String, time: Int64, fCnt: UInt32, fPort: UInt8, data: [UInt8], object: [UInt8]? = nil,
            receptions: [(rssi: Int, snr: Double)] = [(-80, 7.5)], frequency: Int = 868_100_000, spreadingFactor: Int = 7
        ) {
            (self.devEUI, self.name, self.time, self.fCnt, self.fPort, self.data, self.object) = (devEUI, name, time, fCnt, fPort, data, object)
            (self.receptions, self.frequency, self.spreadingFactor) = (receptions, frequency, spreadingFactor)
        }
    }

    public let envelope: Envelope
    /// ChirpStack's application id, The Things Stack's application id, as the topic carries it.
    public let application: String

    public init(envelope: Envelope, application: String) {
        self.envelope = envelope
        self.application = application
    }

    /// The DevEUI as 16 hex digits, lowercase (ChirpStack) or uppercase (The Things Stack).
    public static func hex(_ eui: UInt64, uppercase: Bool = false) -> String {
        let digits = String(eui, radix: 16, uppercase: uppercase)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The topic the network server publishes the frame's uplink to.
    public func topic(for frame: Frame) -> String {
        switch envelope {
        case .chirpstack: "application/\(application)/device/\(Self.hex(frame.devEUI))/event/up"
        case .ttn: "v3/\(application)/devices/\(frame.name)/up"
        }
    }

    public func encode(_ frame: Frame) -> [UInt8] {
        // Nanoseconds, as both write them: microseconds then 3 zeros.
        let time = String(TimeText.format(frame.time).dropLast()) + "000"
        let data = String(decoding: Base64.encode(frame.data), as: UTF8.self)
        let object = frame.object.map { String(decoding: $0, as: UTF8.self) }
        var json: String
        switch envelope {
        case .chirpstack:
            json = #"{"deduplicationId":"3ac7e3c4-4401-4b8d-9386-\#(Self.hex(UInt64(frame.fCnt)).suffix(12))","time":"\#(time)+00:00","#
            json += #""deviceInfo":{"tenantId":"52f14cd4-c6f1-4fbd-8f87-4025e1d49242","tenantName":"ChirpStack","applicationId":"\#(application)","#
            json += #""applicationName":"telemetry","deviceName":"\#(frame.name)","devEui":"\#(Self.hex(frame.devEUI))"},"devAddr":"00189440","dr":5,"#
            if frame.fCnt != 0 { json += #""fCnt":\#(frame.fCnt),"# }
            json += #""fPort":\#(frame.fPort),"#
            if !frame.data.isEmpty { json += #""data":"\#(data)","# }
            if let object { json += #""object":\#(object),"# }
            json += #""rxInfo":["# + frame.receptions.enumerated().map { index, reception in
                #"{"gatewayId":"0016c001f153a1\#(Self.hex(UInt64(index)).suffix(2))","uplinkId":\#(4_217_106_255 - index),"rssi":\#(reception.rssi),"snr":\#(reception.snr),"context":"E3OWOQ=="}"#
            }.joined(separator: ",") + "],"
            json += #""txInfo":{"frequency":\#(frame.frequency),"modulation":{"lora":{"bandwidth":125000,"spreadingFactor":\#(frame.spreadingFactor),"codeRate":"CR_4_5"}}}}"#
        case .ttn:
            json = #"{"end_device_ids":{"device_id":"\#(frame.name)","application_ids":{"application_id":"\#(application)"},"#
            json += #""dev_eui":"\#(Self.hex(frame.devEUI, uppercase: true))","join_eui":"800000000000000C","dev_addr":"00BCB929"},"#
            json += #""correlation_ids":["as:up:01E0WZGT6Y7657CPFPE5WEYDSQ"],"received_at":"\#(time)Z","uplink_message":{"session_key_id":"AXA50tHUGUucuzS/bCGMNw==","#
            json += #""f_port":\#(frame.fPort),"#
            if frame.fCnt != 0 { json += #""f_cnt":\#(frame.fCnt),"# }
            if !frame.data.isEmpty { json += #""frm_payload":"\#(data)","# }
            if let object { json += #""decoded_payload":\#(object),"# }
            json += #""rx_metadata":["# + frame.receptions.enumerated().map { index, reception in
                #"{"gateway_ids":{"gateway_id":"gtw\#(index + 1)","eui":"9C5C8E00001A05\#(Self.hex(UInt64(index), uppercase: true).suffix(2))"},"rssi":\#(reception.rssi),"channel_rssi":\#(reception.rssi),"snr":\#(reception.snr),"channel_index":2}"#
            }.joined(separator: ",") + "],"
            json += #""settings":{"data_rate":{"lora":{"bandwidth":125000,"spreading_factor":\#(frame.spreadingFactor)}},"data_rate_index":5,"coding_rate":"4/5","frequency":"\#(frame.frequency)"},"#
            json += #""received_at":"\#(time)Z"}}"#
        }
        return Array(json.utf8)
    }
}
