/// Units a SenML record may use for a catalog unit: canonical = value × multiplier ÷ divisor + offset.
enum SenMLUnits {
    struct Conversion: Sendable {
        var from: [UInt8]
        var multiplier: Double
        var divisor: Double
        var offset: Double

        @inline(__always)
        func apply(_ value: Double) -> Double { value * multiplier / divisor + offset }
    }

    /// Catalog unit → units converted into it (besides itself).
    static let table: [String: [(String, Double, Double, Double)]] = [
        "hPa": [("Pa", 1, 100, 0), ("kPa", 10, 1, 0), ("bar", 1000, 1, 0), ("mbar", 1, 1, 0)],
        "Cel": [("K", 1, 1, -273.15)],
        "kWh": [("J", 1, 3_600_000, 0), ("Wh", 1, 1000, 0), ("kJ", 1, 3600, 0)],
        "W": [("kW", 1000, 1, 0), ("mW", 1, 1000, 0)],
        "V": [("mV", 1, 1000, 0), ("kV", 1000, 1, 0)],
        "A": [("mA", 1, 1000, 0)],
        "g": [("m/s2", 1, 9.80665, 0)],
        "%RH": [("%", 1, 1, 0), ("/", 100, 1, 0)],
        "m": [("km", 1000, 1, 0), ("cm", 1, 100, 0)],
    ]

    /// Every unit accepted for a field whose catalog unit is `unit`, the identity first.
    static func conversions(into unit: String) -> [Conversion] {
        [Conversion(from: Array(unit.utf8), multiplier: 1, divisor: 1, offset: 0)]
            + (table[unit] ?? []).map { Conversion(from: Array($0.0.utf8), multiplier: $0.1, divisor: $0.2, offset: $0.3) }
    }
}
