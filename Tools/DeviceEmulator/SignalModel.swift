import SensorModel

/// A device's readings over time, as such a device would report them, deterministic for a seed:
/// - temperature (`Cel`): a device's own level (indoors 18–24 °C), a daily cycle of a few degrees, 0.1 °C steps;
/// - humidity (`%RH`): 35–60 %, moving against the daily warmth; pressure (`hPa`): 1013 ± a slow weather drift;
/// - acceleration (`g`): a device at rest (0, 0, 1 g) read by an ADXL345 at full resolution — steps of 3.9 mg,
///   noise of 0.75 steps rms on x and y and 1.1 on z (its data sheet's Table 1, at 100 Hz; slower rates are
///   no quieter) — and, rarely, a knock;
/// - location (`lat`, `lon`, `m`): a home point, wandering about a metre a reading (a walk at one reading a
///   second; at one per 10 s, about what a stationary GNSS fix wanders, 2.5 m CEP);
/// - power (`V`, `A`, `W`, `kWh`): mains voltage, a load that switches between levels, power = V × A × a power
///   factor, and an energy meter that only counts up by what that power used;
/// - any other unit: a drift and a daily cycle in the middle of the field's range.
/// Every value stays inside its field's valid range.
public struct SignalModel: Sendable {
    enum Kind: Sendable { case temperature, humidity, pressure, acceleration(axis: Int), latitude, longitude, altitude, voltage, current, power, energy, other }

    struct FieldState: Sendable {
        let kind: Kind
        let min: Double, max: Double
        var level: Double
        let phase: Double
    }

    private var fields: [FieldState]
    private var random: SplitMix64
    /// Power's parts, shared by its fields: the load's current (A) and the meter (kWh), and when it last counted.
    private var load: Double
    private var meter: Double
    private var meterTime: Int64?
    private let nominalVoltage: Double
    private let powerFactor: Double

    public init(sensor: SensorType, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        fields = sensor.fields.enumerated().map { index, field in
            let kind = Self.kind(of: field, index: index)
            let level: Double
            switch kind {
            case .temperature: level = 18 + 6 * random.nextUnit()
            case .humidity: level = 35 + 25 * random.nextUnit()
            case .pressure: level = 1003 + 20 * random.nextUnit()
            case .acceleration(let axis): level = axis == 2 ? 1 : 0
            case .latitude: level = -50 + 110 * random.nextUnit()
            case .longitude: level = -170 + 340 * random.nextUnit()
            case .altitude: level = 20 + 480 * random.nextUnit()
            case .voltage, .current, .power, .energy: level = 0
            case .other: level = field.min + (field.max - field.min) * (0.3 + 0.4 * random.nextUnit())
            }
            return FieldState(kind: kind, min: field.min, max: field.max, level: level, phase: random.nextUnit() * 2 * .pi)
        }
        nominalVoltage = random.nextUnit() < 0.8 ? 230 : 120
        powerFactor = 0.9 + 0.1 * random.nextUnit()
        load = 0.2 + 2 * random.nextUnit()
        meter = 100 + 5000 * random.nextUnit()
        self.random = random
    }

    static func kind(of field: Field, index: Int) -> Kind {
        switch field.unit {
        case "Cel": .temperature
        case "%RH": .humidity
        case "hPa": .pressure
        case "g": .acceleration(axis: index % 3)
        case "lat": .latitude
        case "lon": .longitude
        case "m": .altitude
        case "V": .voltage
        case "A": .current
        case "W": .power
        case "kWh": .energy
        default: .other
        }
    }

    /// Values for the reading at `micros` (since the epoch), one per field, in catalog order. Times are
    /// expected to grow; the energy meter counts only forward.
    public mutating func next(at micros: Int64, into values: inout [Double]) {
        let day = sin(2 * .pi * Double(micros % 86_400_000_000) / 86_400_000_000 - .pi / 2)  // -1 at midnight, 1 at noon
        let elapsed = meterTime.map { Double(Swift.max(0, micros - $0)) / 3.6e9 } ?? 0  // hours
        meterTime = Swift.max(meterTime ?? micros, micros)
        // The load switches now and then between a few levels (a fridge, a kettle, nothing much).
        if random.nextUnit() < 0.02 { load = [0.2, 0.6, 1.5, 4, 9][Int(random.nextUnit() * 5)] * (0.9 + 0.2 * random.nextUnit()) }
        let voltage = nominalVoltage * (1 + 0.01 * day) + gaussian() * 0.4
        let current = Swift.max(0, load + gaussian() * 0.02)
        let power = voltage * current * powerFactor
        meter += power / 1000 * elapsed
        for index in fields.indices {
            var field = fields[index]
            let value: Double
            switch field.kind {
            case .temperature:
                field.level += gaussian() * 0.002
                value = Self.step(field.level + 1.5 * day + gaussian() * 0.05, per: 10)
            case .humidity:
                field.level += gaussian() * 0.005
                value = Self.step(field.level - 4 * day + gaussian() * 0.3, per: 10)
            case .pressure:
                field.level += gaussian() * 0.01
                value = Self.step(field.level + gaussian() * 0.05, per: 10)
            case .acceleration(let axis):
                let knock = random.nextUnit() < 0.001 ? gaussian() * 0.5 : 0
                let steps = Int64(((field.level + knock) / 0.0039 + gaussian() * (axis == 2 ? 1.1 : 0.75)).rounded())
                value = Double(steps * 39) / 10_000  // 3.9 mg a step, as a decimal: 0.0117, not 0.011699999999999999
            case .latitude, .longitude:
                // About a metre a reading in all, 1e-5 degrees a metre (of latitude).
                field.level += gaussian() * 0.00001
                value = field.level
            case .altitude:
                field.level += gaussian() * 0.05
                value = Self.step(field.level + gaussian() * 0.5, per: 10)
            case .voltage: value = Self.step(voltage, per: 10)
            case .current: value = Self.step(current, per: 1000)
            case .power: value = Self.step(power, per: 10)
            case .energy: value = Self.step(meter, per: 1000)
            case .other:
                let span = field.max - field.min
                field.level = Swift.min(Swift.max(field.level + gaussian() * span * 0.001, field.min + span * 0.2), field.max - span * 0.2)
                value = field.level + sin(2 * .pi * Double(micros % 86_400_000_000) / 86_400_000_000 + field.phase) * span * 0.05
            }
            fields[index] = field
            values[index] = Swift.min(Swift.max(value, field.min), field.max)
        }
    }

    /// Rounded to what such a sensor resolves (`per` steps in one unit): 21.4, not 21.400000000000002. A
    /// whole number of steps, as a device counts them: 0, never -0.0.
    static func step(_ value: Double, per steps: Double) -> Double { Double(Int64((value * steps).rounded())) / steps }

    /// Standard normal (Box–Muller).
    private mutating func gaussian() -> Double {
        let u = Swift.max(random.nextUnit(), 1e-12), v = random.nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}

/// A small, fast, seedable generator (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
