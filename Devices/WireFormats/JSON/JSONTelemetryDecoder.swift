import SensorModel

/// Decodes `json` telemetry, the shapes ThingsBoard documents: a flat object (`{"celsius": 21.5}`),
/// `{"ts": <ms>, "values": {...}}`, or an array of either; a `ts`/`time`/`timestamp` key (or the source's
/// time path) sets the time, else the receive time. Keys map to fields by name, alias or source path;
/// keys that map nothing are skipped and counted. Readings of one message at one time are merged.
public struct JSONTelemetryDecoder: PayloadDecoder {
    /// What the decoder reads, behind one reference: `MessageDecoder` takes a source's decoder out of an
    /// array for every message, and that copy then costs one retain instead of one per array.
    final class Tables: Sendable {
        let tree: JSONKeyTree
        let sensorName: String
        let fieldNames: [String]

        init(tree: JSONKeyTree, sensorName: String, fieldNames: [String]) {
            self.tree = tree
            self.sensorName = sensorName
            self.fieldNames = fieldNames
        }
    }

    let tables: Tables
    static let maxReadings = 4096

    public init(sensor: SensorType) { self.init(sensor: sensor, source: nil) }

    public init(sensor: SensorType, source: Source?) {
        tables = Tables(tree: JSONKeyTree(sensor: sensor, source: source), sensorName: sensor.name, fieldNames: sensor.fields.map(\.name))
    }

    public func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        var skipped = 0
        try decode(payload, receivedAt: receivedAt, into: &batch, skipped: &skipped)
    }

    /// - Parameter skipped: incremented per key that maps to none of the sensor type's fields.
    public func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch, skipped: inout Int) throws(DecodeError) {
        var reader = JSONReader(payload)
        var reading = Reading(fieldCount: tables.fieldNames.count)
        let firstRow = batch.count
        if reader.consume(UInt8(ascii: "{")) {
            try readObject(&reader, into: &reading, skipped: &skipped)
            try add(reading, receivedAt: receivedAt, firstRow: firstRow, into: &batch)
        } else if reader.consume(UInt8(ascii: "[")) {
            guard !reader.consume(UInt8(ascii: "]")) else { throw DecodeError(.noFields, "the json array is empty") }
            repeat {
                guard reader.consume(UInt8(ascii: "{")) else {
                    try reader.skipValue()  // malformed JSON says so first
                    throw DecodeError(.badShape, "json telemetry arrays hold objects only")
                }
                reading.reset()
                try readObject(&reader, into: &reading, skipped: &skipped)
                try add(reading, receivedAt: receivedAt, firstRow: firstRow, into: &batch)
            } while reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "]"))
        } else {
            reader.skipWhitespace()
            if reader.isAtEnd { throw reader.malformed("is empty") }
            try reader.skipValue()  // malformed JSON says so first
            throw DecodeError(.badShape, "json telemetry is an object or an array of objects, not a bare value")
        }
        reader.skipWhitespace()
        guard reader.isAtEnd else { throw reader.malformed("has bytes after the telemetry") }
    }

    /// What one object carries: a value (and the rank of the path it came from) per field, and a time.
    /// Fixed-size vectors (a catalog type has at most 16 fields), so a message allocates nothing here.
    struct Reading {
        static let noRank = Int32.max
        var values = SIMD16<Double>(repeating: ReadingBatch.missing)
        var ranks = SIMD16<Int32>(repeating: noRank)
        var time: Int64?

        init(fieldCount: Int) { precondition(fieldCount <= 16) }

        mutating func reset() { self = Reading(fieldCount: 0) }
    }

    /// Reads an object's members after its `{`, through its `}`; `node` is where its keys sit in the tree.
    private func readObject(
        _ reader: inout JSONReader, at node: Int = JSONKeyTree.root, depth: Int = 1, into reading: inout Reading, skipped: inout Int
    ) throws(DecodeError) {
        guard depth < JSONReader.maxDepth else { throw reader.malformed("nests deeper than \(JSONReader.maxDepth)") }
        if reader.consume(UInt8(ascii: "}")) { return }
        let valuesMayFollow = node == JSONKeyTree.root && depth == 1 && tables.tree.readsValues
        repeat {
            let (child, isValues) = try reader.keyNode(in: tables.tree, at: node, valuesMayFollow: valuesMayFollow)
            try reader.expect(UInt8(ascii: ":"))
            reader.skipWhitespace()
            let opensObject = reader.offset < reader.bytes.count && reader.bytes[reader.offset] == UInt8(ascii: "{")
            if let child, opensObject, tables.tree.hasChildren(child) {
                reader.offset += 1
                try readObject(&reader, at: child, depth: depth + 1, into: &reading, skipped: &skipped)
            } else if let child, let leaf = tables.tree.leaf(child) {
                try readLeaf(&reader, leaf, into: &reading, skipped: &skipped)
            } else if isValues && opensObject {
                reader.offset += 1
                try readObject(&reader, at: JSONKeyTree.root, depth: depth + 1, into: &reading, skipped: &skipped)
            } else {
                try reader.skipValue(depth: depth)
                skipped += 1
            }
        } while reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "}"))
    }

    private func readLeaf(_ reader: inout JSONReader, _ leaf: JSONKeyTree.Leaf, into reading: inout Reading, skipped: inout Int) throws(DecodeError) {
        let item = try reader.item()
        switch leaf {
        case .time:
            guard reading.time == nil else { throw DecodeError(.badTime, "a json reading has two times") }
            switch item {
            case .number(let number): reading.time = try JSONTime.micros(epoch: number)
            case .text(let text): reading.time = try JSONTime.micros(rfc3339: text)
            default: throw DecodeError(.badTime, "a json time is a number (epoch s or ms) or an RFC 3339 string")
            }
        case .field(let index, let rank):
            let value: Double
            switch item {
            case .number(let number):
                value = number
            case .text(let text) where tables.tree.acceptsStrings[index]:
                value = try Self.number(in: text, field: tables.fieldNames[index])
            case .text:
                throw DecodeError(.badValue, "\(tables.fieldNames[index]) is a JSON string; \(tables.sensorName)'s catalog takes numbers only there (set \"strings\": true)")
            case .other where reader.bytes[reader.offset - 1] == UInt8(ascii: "l"):
                return  // `null` (the only `.other` ending in "l"): not carried, as firmware says of a failed sensor
            default:
                throw DecodeError(.badValue, "\(tables.fieldNames[index]) is not a number")
            }
            let rank = Int32(clamping: rank)
            if rank < reading.ranks[index] {
                if reading.ranks[index] != Reading.noRank { skipped += 1 }
                reading.values[index] = value
                reading.ranks[index] = rank
            } else if rank == reading.ranks[index] {
                throw DecodeError(.duplicateField, "\(tables.fieldNames[index]) appears twice in one json reading")
            } else {
                skipped += 1
            }
        }
    }

    /// A number written as a JSON string, with JSON's number grammar.
    static func number(in text: [UInt8], field: String) throws(DecodeError) -> Double {
        let value = text.withUnsafeBytes { bytes -> Double? in
            guard !bytes.isEmpty else { return nil }
            var reader = JSONReader(bytes)
            guard let value = try? reader.number(), reader.isAtEnd else { return nil }
            return value
        }
        guard let value else {
            throw DecodeError(.badValue, "\(field) is '\(String(decoding: text.prefix(32), as: UTF8.self))', not a number")
        }
        return value
    }

    /// Appends the reading, or merges it into the row of this message at the same time.
    private func add(_ reading: Reading, receivedAt: Int64, firstRow: Int, into batch: inout ReadingBatch) throws(DecodeError) {
        let time = reading.time ?? receivedAt
        if let row = batch.firstRow(at: time, in: firstRow..<batch.count) {
            for index in 0..<tables.fieldNames.count where !reading.values[index].isNaN {
                guard batch.values[index][row].isNaN else {
                    throw DecodeError(.duplicateField, "\(tables.fieldNames[index]) appears twice at one time in a json message")
                }
                batch.set(field: index, row: row, reading.values[index])
            }
            return
        }
        guard batch.count - firstRow < Self.maxReadings else {
            throw DecodeError(.sampleCount, "a json message carries at most \(Self.maxReadings) readings")
        }
        // A new row: written in place, every field at once (the missing ones NaN, as the batch keeps them).
        let slots = batch.reserveRows(1)
        slots.times.pointee = time
        for index in 0..<tables.fieldNames.count { slots[index].pointee = reading.values[index] }
        batch.commitRows(1, seq: ReadingBatch.noSeq)
    }
}
