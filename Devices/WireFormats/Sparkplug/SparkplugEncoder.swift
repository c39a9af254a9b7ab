/// Writes a Sparkplug B payload in protocol buffers' wire format, fields in their numbers' order, as
/// Eclipse Tahu's generated encoders do: the emulator's edge nodes, the rebirth command, the tests.
public enum SparkplugEncoder {
    public static func encode(_ payload: SparkplugPayload) -> [UInt8] {
        var out: [UInt8] = []
        if let timestamp = payload.timestamp { key(1, 0, &out); varint(timestamp, &out) }
        for metric in payload.metrics {
            var body: [UInt8] = []
            encode(metric, into: &body)
            key(2, 2, &out)
            varint(UInt64(body.count), &out)
            out += body
        }
        if let seq = payload.seq { key(3, 0, &out); varint(seq, &out) }
        return out
    }

    private static func encode(_ metric: SparkplugMetric, into out: inout [UInt8]) {
        if let name = metric.name { key(1, 2, &out); varint(UInt64(name.count), &out); out += name }
        if let alias = metric.alias { key(2, 0, &out); varint(alias, &out) }
        if let timestamp = metric.timestamp { key(3, 0, &out); varint(timestamp, &out) }
        if let datatype = metric.datatype { key(4, 0, &out); varint(UInt64(datatype), &out) }
        if metric.isHistorical { key(5, 0, &out); varint(1, &out) }
        if metric.isNull { key(7, 0, &out); varint(1, &out) }
        switch metric.value {
        case .int(let raw): key(10, 0, &out); varint(UInt64(raw), &out)
        case .long(let raw): key(11, 0, &out); varint(raw, &out)
        case .float(let number):
            key(12, 5, &out)
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: number.bitPattern >> UInt32(shift))) }
        case .double(let number):
            key(13, 1, &out)
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: number.bitPattern >> UInt64(shift))) }
        case .bool(let flag): key(14, 0, &out); varint(flag ? 1 : 0, &out)
        case .string(let text): key(15, 2, &out); varint(UInt64(text.count), &out); out += text
        case .other, nil: break
        }
    }

    private static func key(_ field: UInt64, _ type: UInt64, _ out: inout [UInt8]) { varint(field << 3 | type, &out) }

    private static func varint(_ value: UInt64, _ out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    /// The NCMD an edge node answers with a new NBIRTH (Sparkplug B 3.0, "Rebirth Request").
    public static func rebirthCommand(at milliseconds: UInt64) -> [UInt8] {
        encode(SparkplugPayload(timestamp: milliseconds, metrics: [
            SparkplugMetric(name: "Node Control/Rebirth", timestamp: milliseconds, datatype: .boolean, value: .bool(true)),
        ]))
    }
}
