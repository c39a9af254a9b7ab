import SensorModel

/// A device's readings over time: a slow drift, a daily cycle, noise and an occasional spike, always
/// inside each field's valid range. Deterministic for a seed, so runs can be reproduced.
public struct SignalModel: Sendable {
    struct FieldState: Sendable {
        var level: Double
        let low: Double
        let high: Double
        let phase: Double
    }

    private var fields: [FieldState]
    private var random: SplitMix64

    public init(sensor: SensorType, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        fields = sensor.fields.map { field in
            let span = field.max - field.min
            // Keep ordinary values in the middle 60% of the range so a spike stays in range too.
            let low = field.min + span * 0.2, high = field.max - span * 0.2
            return FieldState(level: low + (high - low) * random.nextUnit(), low: low, high: high, phase: random.nextUnit() * 2 * .pi)
        }
        self.random = random
    }

    /// Values for the reading at `micros` (since the epoch), one per field, in catalog order.
    public mutating func next(at micros: Int64, into values: inout [Double]) {
        let dayFraction = Double(micros % 86_400_000_000) / 86_400_000_000
        for index in fields.indices {
            var field = fields[index]
            let span = field.high - field.low
            field.level += (random.nextUnit() - 0.5) * span * 0.002
            field.level = min(max(field.level, field.low), field.high)
            let cycle = sin(2 * .pi * dayFraction + field.phase) * span * 0.05
            let noise = (random.nextUnit() - 0.5) * span * 0.01
            var value = field.level + cycle + noise
            if random.nextUnit() < 0.001 { value += (random.nextUnit() - 0.5) * span * 0.4 }
            fields[index] = field
            values[index] = min(max(value, field.low - span * 0.25), field.high + span * 0.25)
        }
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
