public enum PayloadFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case tm
    case lpp
    case senmlJSON = "senml-json"
    case senmlCBOR = "senml-cbor"
    /// Plain JSON as ThingsBoard documents it for device telemetry (flat object, ts + values, arrays).
    case json
    /// One number as text, at the receive time (ESPHome, Homie).
    case text
    /// Sparkplug B (protobuf), from edge nodes on `spBv1.0/...`: a catalog source's format only, read per
    /// edge node (its BIRTH's aliases, its seq), never on `telemetry/` topics.
    case sparkplug

    /// The formats a `telemetry/<sensor>/<device>/<format>` topic (or a sensor type's default) may name.
    public static let onTelemetryTopics = allCases.filter { $0 != .sparkplug }
}
