public enum PayloadFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case tm
    case lpp
    case senmlJSON = "senml-json"
    case senmlCBOR = "senml-cbor"
    /// Plain JSON as ThingsBoard documents it for device telemetry (flat object, ts + values, arrays).
    case json
    /// One number as text, at the receive time (ESPHome, Homie).
    case text
}
