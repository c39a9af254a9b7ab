import SensorModel

/// A catalog source with an envelope: reads the network server's uplink JSON and says which device it is
/// for, where the device's payload is, and what the uplink adds to each reading (`seq` = the frame
/// counter, the fields mapped to uplink metadata). `MessageDecoder` decodes the payload in between.
struct UplinkDecoder: Sendable {
    let envelope: Envelope
    let stored: EnvelopeDevice
    let readsObject: Bool
    /// Field index and what fills it.
    let metadata: [(field: Int, value: UplinkMetadata)]

    init(sensor: SensorType, source: Source, envelope: Envelope) {
        self.envelope = envelope
        stored = source.storedDevice ?? envelope.topicDevice
        readsObject = source.format == .json
        metadata = source.uplink.sorted { $0.key < $1.key }.compactMap { name, value in sensor.fieldIndex(named: name).map { ($0, value) } }
    }

    /// The payload inside the uplink: the device's bytes, or the range of the decoded object.
    enum Inner {
        case bytes([UInt8])
        case object(Range<Int>)
    }

    /// Reads the uplink. `topicDevice`: the topic's `{device}` level, which must name the device the
    /// uplink is for (nil: not checked). Returns the id readings are stored under.
    func read(_ payload: UnsafeRawBufferPointer, topicDevice: String?) throws(DecodeError) -> (uplink: Uplink, device: String, inner: Inner) {
        let uplink = try envelope == .chirpstack ? ChirpStackUplink.read(payload) : TheThingsStackUplink.read(payload)
        if let topicDevice {
            let named = try id(envelope.topicDevice, of: uplink)
            guard named == (envelope.topicDevice == .devEUI ? topicDevice.lowercased() : topicDevice) else {
                throw DecodeError(.badEnvelope, "the topic names device '\(topicDevice.prefix(64))', the uplink '\(named)'")
            }
        }
        let device = try id(stored, of: uplink)
        guard uplink.time != nil else {
            throw DecodeError(.badEnvelope, "the uplink has no receive time (\(envelope == .chirpstack ? "time" : "uplink_message.received_at, received_at"))")
        }
        let inner: Inner
        if readsObject {
            guard let object = uplink.object else {
                throw DecodeError(.badEnvelope, "the uplink has no \(envelope == .chirpstack ? "object" : "decoded_payload"): no payload codec on the network server decoded it (fPort \(uplink.fPort.map(String.init) ?? "none")); read its bytes with a format instead, or add a codec")
            }
            inner = .object(object)
        } else {
            // An empty frame is left out of the JSON (protobuf's default), and is decoded as no bytes.
            guard let bytes = Base64.decode(uplink.data ?? []) else {
                throw DecodeError(.badEnvelope, "\(envelope == .chirpstack ? "data" : "uplink_message.frm_payload") is not base64")
            }
            inner = .bytes(bytes)
        }
        return (uplink, device, inner)
    }

    /// Stamps the rows the payload gave with the frame counter and the uplink's metadata fields.
    func complete(_ batch: inout ReadingBatch, rows: Range<Int>, with uplink: Uplink) {
        batch.setSeq(uplink.fCnt ?? 0, rows: rows)
        for (field, value) in metadata {
            guard let number = uplink.value(of: value) else { continue }
            for row in rows { batch.set(field: field, row: row, number) }
        }
    }

    private func id(_ kind: EnvelopeDevice, of uplink: Uplink) throws(DecodeError) -> String {
        let keys = envelope == .chirpstack ? ("deviceInfo.devEui", "deviceInfo.deviceName") : ("end_device_ids.dev_eui", "end_device_ids.device_id")
        switch kind {
        case .devEUI:
            guard let text = uplink.devEUI else { throw DecodeError(.badEnvelope, "the uplink has no \(keys.0)") }
            guard Uplink.isEUI64(text) else {
                throw DecodeError(.badEnvelope, "\(keys.0) '\(Self.shown(text))' is not 16 hex digits")
            }
            return String(decoding: text, as: UTF8.self).lowercased()
        case .name:
            guard let text = uplink.name else { throw DecodeError(.badEnvelope, "the uplink has no \(keys.1)") }
            let name = String(decoding: text, as: UTF8.self)
            guard text.allSatisfy({ $0 < 0x80 }), Topic.isValidDevice(name), !Topic.isReservedDevice(name) else {
                throw DecodeError(.badEnvelope, "\(keys.1) '\(Self.shown(text))' is not a device id (\(Topic.deviceRule), not the platform's own: ingest-…, broker-sync-probe…, telemetry); store by dev_eui instead")
            }
            return name
        }
    }

    /// Up to 64 bytes of a device's text for a message, NUL and other controls and bytes ≥ 0x80 as `?`.
    static func shown(_ text: [UInt8]) -> String {
        String(decoding: text.prefix(64).map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
