/// Why a payload was rejected: a stable code (counted in metrics) and a one-line context for people.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let badTopic = Code(rawValue: "bad_topic")
        public static let unknownSensor = Code(rawValue: "unknown_sensor")
        public static let truncated = Code(rawValue: "truncated")
        public static let overLong = Code(rawValue: "over_long")
        public static let badMagic = Code(rawValue: "bad_magic")
        public static let badVersion = Code(rawValue: "bad_version")
        public static let badFlags = Code(rawValue: "bad_flags")
        public static let fieldCount = Code(rawValue: "field_count")
        public static let badScale = Code(rawValue: "bad_scale")
        public static let sampleCount = Code(rawValue: "sample_count")
        public static let badCRC = Code(rawValue: "bad_crc")
        public static let nonFinite = Code(rawValue: "non_finite")
        public static let outOfRange = Code(rawValue: "out_of_range")
        public static let duplicateTime = Code(rawValue: "duplicate_time")
        public static let badTime = Code(rawValue: "bad_time")
        public static let unknownLPPType = Code(rawValue: "unknown_lpp_type")
        public static let ambiguousChannel = Code(rawValue: "ambiguous_channel")
        public static let noFields = Code(rawValue: "no_fields")
        public static let malformedJSON = Code(rawValue: "malformed_json")
        public static let malformedCBOR = Code(rawValue: "malformed_cbor")
        public static let badSenML = Code(rawValue: "bad_senml")
        public static let unknownField = Code(rawValue: "unknown_field")
        public static let duplicateField = Code(rawValue: "duplicate_field")
        public static let badUnit = Code(rawValue: "bad_unit")
        /// `json` that is not an object or an array of objects.
        public static let badShape = Code(rawValue: "bad_shape")
        /// A `json` field whose value is not a number (or a numeric string where the catalog allows it).
        public static let badValue = Code(rawValue: "bad_value")
        /// `text` that is not one number.
        public static let badText = Code(rawValue: "bad_text")
        /// A reading dated outside the window accepted around its receive time (`reading_max_age_days`,
        /// `reading_max_ahead_seconds`).
        public static let timeOutOfWindow = Code(rawValue: "time_out_of_window")
        /// A status topic's payload that is neither of its two words (`online`/`offline`, ...).
        public static let badStatus = Code(rawValue: "bad_status")
        /// A LoRaWAN network server's uplink JSON that lacks what a reading needs (time, ids, payload), or
        /// names another device than its topic.
        public static let badEnvelope = Code(rawValue: "bad_envelope")
        /// Bytes that are not a protocol buffers message (Sparkplug B's payload).
        public static let malformedProtobuf = Code(rawValue: "malformed_protobuf")
        /// A Sparkplug B message that cannot be read as readings: an alias no BIRTH defined, a DATA before
        /// any BIRTH, a metric without a name or alias, a topic that is no Sparkplug topic.
        public static let badSparkplug = Code(rawValue: "bad_sparkplug")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The one-line reason stored with a dead letter.
    public var description: String { "\(code.rawValue): \(message)" }
}
