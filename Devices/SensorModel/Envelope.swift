/// A LoRaWAN network server's uplink JSON, which wraps what a device sent: a source with an envelope reads
/// the device's bytes (`data`, `frm_payload`, base64) in its `format`, or with `json` the object the
/// network server's codec decoded (`object`, `decoded_payload`).
public enum Envelope: String, Sendable, Hashable, Codable, CaseIterable {
    /// ChirpStack v4's MQTT integration, JSON encoding (`application/{application_id}/device/{dev_eui}/event/up`).
    case chirpstack
    /// The Things Stack v3's MQTT server (`v3/{application id}[@{tenant id}]/devices/{device id}/up`).
    case ttn

    /// What the network server puts in the topic's device level: ChirpStack the DevEUI, The Things Stack
    /// its device id. The envelope must name the same device there, else it is rejected.
    public var topicDevice: EnvelopeDevice {
        switch self {
        case .chirpstack: .devEUI
        case .ttn: .name
        }
    }
}

/// Which of the envelope's ids a reading is stored under.
public enum EnvelopeDevice: String, Sendable, Hashable, Codable, CaseIterable {
    /// The 64-bit DevEUI, as 16 lowercase hex digits (ChirpStack writes it lowercase, The Things Stack uppercase).
    case devEUI = "dev_eui"
    /// The network server's device name (ChirpStack `deviceName`, The Things Stack `device_id`); it must be a
    /// valid device id (1-64 of A-Z a-z 0-9 . _ -).
    case name
}

/// What the network server says about an uplink's radio and frame, which a source may store in fields.
public enum UplinkMetadata: String, Sendable, Hashable, Codable, CaseIterable {
    /// The best RSSI among the gateways that heard the uplink (dBm).
    case rssi
    /// The best SNR among them (dB).
    case snr
    /// How many gateways (antennas) heard it.
    case gateways
    /// The frame counter (also kept as the reading's `seq`).
    case fCnt = "f_cnt"
    case fPort = "f_port"
    /// Hz.
    case frequency
    case spreadingFactor = "spreading_factor"
    /// The EUI-64 of the gateway with the best RSSI, in two exact halves (a field holds a double, exact to
    /// 2^53): bits 63-32 and 31-0. ChirpStack's `gatewayId`, The Things Stack's `gateway_ids.eui`; missing
    /// when that gateway's EUI is not in the uplink.
    case gatewayEUIHigh = "gateway_eui_high"
    case gatewayEUILow = "gateway_eui_low"
}
