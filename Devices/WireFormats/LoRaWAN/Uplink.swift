import SensorModel

/// What a network server's uplink JSON says of one frame: its device's ids, the time, the frame counter
/// and port, the device's bytes (base64 text) or the object its codec decoded (a range of the input), and
/// the best of what the gateways heard.
struct Uplink {
    var devEUI: [UInt8]?
    var name: [UInt8]?
    var time: Int64?
    var fCnt: Int64?
    var fPort: Int64?
    var data: [UInt8]?
    var object: Range<Int>?
    var rssi: Double?
    var snr: Double?
    var gateways = 0
    var frequency: Double?
    var spreadingFactor: Double?

    func value(of metadata: UplinkMetadata) -> Double? {
        switch metadata {
        case .rssi: rssi
        case .snr: snr
        case .gateways: gateways > 0 ? Double(gateways) : nil  // no rx metadata: not known, rather than none
        case .fCnt: Double(fCnt ?? 0)
        case .fPort: Double(fPort ?? 0)  // left out at its default, as fCnt is
        case .frequency: frequency
        case .spreadingFactor: spreadingFactor
        case .gatewayEUIHigh: bestGateway.map { Double($0 >> 32) }
        case .gatewayEUILow: bestGateway.map { Double($0 & 0xFFFF_FFFF) }
        }
    }

    /// An EUI-64 as text: 16 hex digits, either case (DevEUIs and gateway EUIs alike).
    static func isEUI64(_ text: [UInt8]) -> Bool {
        text.count == 16 && text.allSatisfy { UInt8(ascii: "0")...UInt8(ascii: "9") ~= $0 || UInt8(ascii: "a")...UInt8(ascii: "f") ~= $0 | 0x20 }
    }

    /// The rx metadata entry being read: one gateway's (antenna's) reception.
    var rssiOfEntry: Double?
    var gatewayOfEntry: UInt64?
    /// The EUI of the gateway with the best RSSI (the first of equals), when the uplink gives it.
    var bestGateway: UInt64?
    private var bestGatewayRSSI: Double?
    var channelRSSIOfEntry: Double?
    var snrOfEntry: Double?

    /// Counts the entry just read and keeps the best RSSI (its `rssi`, else `channel_rssi`) and SNR.
    mutating func closeEntry() {
        gateways += 1
        if let entry = rssiOfEntry ?? channelRSSIOfEntry {
            rssi = max(rssi ?? entry, entry)
            if entry > bestGatewayRSSI ?? -.infinity { (bestGateway, bestGatewayRSSI) = (gatewayOfEntry, entry) }
        }
        if let entry = snrOfEntry { snr = max(snr ?? entry, entry) }
        (rssiOfEntry, channelRSSIOfEntry, snrOfEntry, gatewayOfEntry) = (nil, nil, nil, nil)
    }
}

extension JSONReader {
    /// Reads an object's members after its `{`, through its `}`: `body` gets the index in `keys` of each
    /// key it knows and reads the value; the others are skipped. A known key twice is refused: which of
    /// the two a network server meant is not ours to guess.
    mutating func members(
        _ keys: [StaticString], depth: Int, _ body: (inout JSONReader, Int) throws(DecodeError) -> Void
    ) throws(DecodeError) {
        guard depth < Self.maxDepth else { throw malformed("nests deeper than \(Self.maxDepth)") }
        if consume(UInt8(ascii: "}")) { return }
        var seen: UInt64 = 0
        repeat {
            let index = try withKey { key in keys.firstIndex { Self.same(key, $0) } }
            try expect(UInt8(ascii: ":"))
            if let index {
                guard seen & (1 << UInt64(index)) == 0 else {
                    throw DecodeError(.badEnvelope, "the uplink has '\(keys[index])' twice in one object")
                }
                seen |= 1 << UInt64(index)
                skipWhitespace()
                try body(&self, index)
            } else {
                try skipValue(depth: depth)
            }
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    /// Reads an array's objects after its `[`, through its `]`, each with `members`, then `entryEnded`.
    mutating func objects(
        _ keys: [StaticString], depth: Int, name: StaticString, _ body: (inout JSONReader, Int) throws(DecodeError) -> Void,
        entryEnded: () -> Void
    ) throws(DecodeError) {
        if consume(UInt8(ascii: "]")) { return }
        var entries = 0
        repeat {
            guard consume(UInt8(ascii: "{")) else { throw DecodeError(.badEnvelope, "\(name) holds objects only") }
            try members(keys, depth: depth + 1, body)
            entryEnded()
            entries += 1
            guard entries <= Self.maxEntries else { throw DecodeError(.badEnvelope, "\(name) has more than \(Self.maxEntries) entries") }
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
    }

    /// Gateways that heard one uplink: far more than any network has near one device.
    static let maxEntries = 1024

    /// Nothing but whitespace may follow the uplink.
    mutating func end() throws(DecodeError) {
        skipWhitespace()
        guard isAtEnd else { throw malformed("has bytes after the uplink") }
    }

    /// Opens an object the uplink must have there; `null` (protobuf's JSON for an unset message) says false.
    mutating func openObject(_ name: StaticString) throws(DecodeError) -> Bool {
        if consume(UInt8(ascii: "{")) { return true }
        if case .other = try item(), bytes[offset - 1] == UInt8(ascii: "l") { return false }
        throw DecodeError(.badEnvelope, "\(name) is not an object")
    }

    mutating func openArray(_ name: StaticString) throws(DecodeError) -> Bool {
        if consume(UInt8(ascii: "[")) { return true }
        if case .other = try item(), bytes[offset - 1] == UInt8(ascii: "l") { return false }
        throw DecodeError(.badEnvelope, "\(name) is not an array")
    }

    mutating func text(_ name: StaticString) throws(DecodeError) -> [UInt8]? {
        switch try item() {
        case .text(let text): return text
        case .other where bytes[offset - 1] == UInt8(ascii: "l"): return nil
        default: throw DecodeError(.badEnvelope, "\(name) is not a string")
        }
    }

    /// A number, or one written as a string (protobuf's JSON writes 64-bit integers so).
    mutating func number(_ name: StaticString) throws(DecodeError) -> Double? {
        switch try item() {
        case .number(let number): return number
        case .text(let text): return try JSONTelemetryDecoder.number(in: text, field: "\(name)")
        case .other where bytes[offset - 1] == UInt8(ascii: "l"): return nil
        default: throw DecodeError(.badEnvelope, "\(name) is not a number")
        }
    }

    /// A gateway's EUI-64 (16 hex digits, either case); nil for anything else (a gateway without one).
    mutating func eui(_ name: StaticString) throws(DecodeError) -> UInt64? {
        guard let text = try text(name), Uplink.isEUI64(text) else { return nil }
        return UInt64(String(decoding: text, as: UTF8.self), radix: 16)
    }

    /// A counter or port: a whole number 0...2³²−1.
    mutating func counter(_ name: StaticString) throws(DecodeError) -> Int64? {
        guard let value = try number(name) else { return nil }
        guard value >= 0, value <= Double(UInt32.max), value == value.rounded() else {
            throw DecodeError(.badEnvelope, "\(name) is \(value), not a whole number 0...\(UInt32.max)")
        }
        return Int64(value)
    }

    /// An RFC 3339 time; Go's zero time (`0001-01-01T00:00:00Z`, The Things Stack's unset time) is nil.
    mutating func time(_ name: StaticString) throws(DecodeError) -> Int64? {
        guard let text = try text(name) else { return nil }
        if text.elementsEqual("0001-01-01T00:00:00Z".utf8) { return nil }
        guard let micros = TimeText.parseRFC3339(text), micros >= 0 else {
            throw DecodeError(.badTime, "\(name) '\(UplinkDecoder.shown(text))' is not a time this platform reads: RFC 3339 from 1970 on, Z or ±hh:mm, seconds 00-59 (no leap second)")
        }
        return micros
    }

    /// The range of the object value that starts here (a codec's output), or nil for `null`.
    mutating func objectRange(_ name: StaticString, depth: Int) throws(DecodeError) -> Range<Int>? {
        let start = offset
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "{") {
            try skipValue(depth: depth)
            return start..<offset
        }
        guard case .other = try item(), bytes[offset - 1] == UInt8(ascii: "l") else {
            throw DecodeError(.badEnvelope, "\(name) is not an object")
        }
        return nil
    }

    static func same(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        key.count == name.utf8CodeUnitCount && JSONKeyTree.same(key, UnsafeRawBufferPointer(start: name.utf8Start, count: key.count))
    }
}
