/// A Sparkplug B payload (Eclipse Tahu's `sparkplug_b.proto`, `Payload`), the parts readings come from:
/// the message's timestamp and seq, and each metric's name, alias, timestamp, datatype and scalar value.
/// Datasets, templates, properties and metadata are skipped as unknown fields are.
public struct SparkplugPayload: Sendable, Equatable {
    public var timestamp: UInt64?
    public var seq: UInt64?
    public var metrics: [SparkplugMetric] = []

    public init(timestamp: UInt64? = nil, seq: UInt64? = nil, metrics: [SparkplugMetric] = []) {
        (self.timestamp, self.seq, self.metrics) = (timestamp, seq, metrics)
    }

    /// A payload carries at most this many metrics; more is refused rather than held.
    public static let maxMetrics = 4096

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> SparkplugPayload {
        try bytes.decoding { (buffer) throws(DecodeError) in try decode(buffer) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> SparkplugPayload {
        var reader = ProtobufReader(bytes)
        var payload = SparkplugPayload()
        while !reader.isAtEnd {
            let (field, type) = try reader.tag()
            switch field {
            case 1:
                try ProtobufReader.expect(type, .varint, field: "Payload.timestamp")
                payload.timestamp = try reader.varint()
            case 2:
                try ProtobufReader.expect(type, .lengthDelimited, field: "Payload.metrics")
                guard payload.metrics.count < maxMetrics else { throw DecodeError(.sampleCount, "a Sparkplug payload carries at most \(maxMetrics) metrics") }
                payload.metrics.append(try SparkplugMetric.decode(bytes, range: try reader.lengthDelimited()))
            case 3:
                try ProtobufReader.expect(type, .varint, field: "Payload.seq")
                payload.seq = try reader.varint()
            default:
                try reader.skip(type)
            }
        }
        return payload
    }
}

public struct SparkplugMetric: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(UInt32)
        case long(UInt64)
        case float(Float)
        case double(Double)
        case bool(Bool)
        case string([UInt8])
        /// bytes, a dataset, a template or an extension: nothing a reading holds.
        case other
    }

    public var name: [UInt8]?
    public var alias: UInt64?
    public var timestamp: UInt64?
    public var datatype: UInt32?
    public var isHistorical = false
    public var isNull = false
    public var value: Value?

    public init(name: String? = nil, alias: UInt64? = nil, timestamp: UInt64? = nil, datatype: SparkplugDataType? = nil, value: Value? = nil) {
        self.name = name.map { Array($0.utf8) }
        (self.alias, self.timestamp, self.datatype, self.value) = (alias, timestamp, datatype?.rawValue, value)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) throws(DecodeError) -> SparkplugMetric {
        var reader = ProtobufReader(bytes, range: range)
        var metric = SparkplugMetric()
        while !reader.isAtEnd {
            let (field, type) = try reader.tag()
            switch (field, type) {
            case (1, .lengthDelimited): metric.name = Array(UnsafeRawBufferPointer(rebasing: bytes[try reader.lengthDelimited()]))
            case (2, .varint): metric.alias = try reader.varint()
            case (3, .varint): metric.timestamp = try reader.varint()
            case (4, .varint): metric.datatype = UInt32(truncatingIfNeeded: try reader.varint())
            case (5, .varint): metric.isHistorical = try reader.varint() != 0
            case (7, .varint): metric.isNull = try reader.varint() != 0
            case (10, .varint): metric.value = .int(UInt32(truncatingIfNeeded: try reader.varint()))
            case (11, .varint): metric.value = .long(try reader.varint())
            case (12, .fixed32): metric.value = .float(Float(bitPattern: try reader.fixed32()))
            case (13, .fixed64): metric.value = .double(Double(bitPattern: try reader.fixed64()))
            case (14, .varint): metric.value = .bool(try reader.varint() != 0)
            case (15, .lengthDelimited): metric.value = .string(Array(UnsafeRawBufferPointer(rebasing: bytes[try reader.lengthDelimited()])))
            case (16...19, .lengthDelimited):
                _ = try reader.lengthDelimited()
                metric.value = .other
            case (1...19, _) where field != 6 && field != 8 && field != 9:
                throw ProtobufReader.malformed("Metric field \(field) has wire type \(type.rawValue)")
            default:
                try reader.skip(type)
            }
        }
        return metric
    }

    /// The value as a number, by the metric's datatype (the BIRTH's when a DATA leaves it out): Tahu writes
    /// Int8/16/32 two's complement in `int_value` and Int64 in `long_value`; Boolean is 0 or 1. Nil for a
    /// value no field holds (strings, bytes, datasets, DateTime) or a null metric.
    public func number(datatype: UInt32?) -> Double? {
        guard !isNull, let value else { return nil }
        let type = datatype.flatMap(SparkplugDataType.init(rawValue:))
        switch (value, type) {
        // Tahu's Python adds 2^8 (2^16) to a negative, its Java writes 32-bit two's complement: both, nothing else.
        case (.int(let raw), .int8) where raw <= 0xFF || raw >= 0xFFFF_FF80: return Double(Int8(truncatingIfNeeded: raw))
        case (.int(let raw), .int16) where raw <= 0xFFFF || raw >= 0xFFFF_8000: return Double(Int16(truncatingIfNeeded: raw))
        case (.int(let raw), .int32): return Double(Int32(bitPattern: raw))
        case (.int(let raw), .uInt8), (.int(let raw), .uInt16), (.int(let raw), .uInt32), (.int(let raw), nil): return Double(raw)
        case (.long(let raw), .int64), (.long(let raw), .int32): return Double(Int64(bitPattern: raw))
        case (.long(let raw), .uInt64), (.long(let raw), .uInt32), (.long(let raw), nil): return Double(raw)
        case (.float(let number), .float), (.float(let number), nil): return Double(number)
        case (.double(let number), .double), (.double(let number), nil): return number
        case (.bool(let flag), .boolean), (.bool(let flag), nil): return flag ? 1 : 0
        default: return nil
        }
    }
}

/// Sparkplug B's `DataType`, the scalar ones.
public enum SparkplugDataType: UInt32, Sendable {
    case int8 = 1, int16, int32, int64, uInt8, uInt16, uInt32, uInt64, float, double, boolean, string, dateTime, text
}
