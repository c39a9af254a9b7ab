import Foundation
import SensorModel
import Testing
@testable import DeviceEmulator

/// The emulator's signals look like the devices they stand for (issue 21: temperatures that swung from
/// −28 to 105 °C within a device, V × A a tenth of W, an energy meter that went down, locations jumping 3°).
struct SignalModelTests {
    static let catalog = try! Catalog.load(directory: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config/sensors").path)

    /// A day of readings, one a minute, of a device of `sensor`: per field, its values in time order.
    static func day(_ sensor: String, seed: UInt64) -> [[Double]] {
        let type = catalog[sensor]!
        var model = SignalModel(sensor: type, seed: seed)
        var columns = Array(repeating: [Double](), count: type.fields.count)
        var values = Array(repeating: 0.0, count: type.fields.count)
        for minute in 0..<1440 {
            model.next(at: 1_767_225_600_000_000 + Int64(minute) * 60_000_000, into: &values)
            for (index, value) in values.enumerated() { columns[index].append(value) }
        }
        return columns
    }

    @Test(arguments: [1, 2, 3, 42] as [UInt64])
    func temperatureHumidityAndPressureStayWhereARoomIs(seed: UInt64) {
        let celsius = Self.day("temperature", seed: seed)[0]
        #expect(celsius.min()! > 10 && celsius.max()! < 32 && celsius.max()! - celsius.min()! < 8, "\(celsius.min()!)…\(celsius.max()!)")
        #expect(celsius.allSatisfy { ($0 * 10).rounded() / 10 == $0 }, "0.1 °C steps")
        let humidity = Self.day("humidity", seed: seed)[0]
        #expect(humidity.min()! > 20 && humidity.max()! < 75)
        let pressure = Self.day("pressure", seed: seed)[0]
        #expect(pressure.min()! > 980 && pressure.max()! < 1045)
    }

    @Test(arguments: [1, 2, 3, 42] as [UInt64])
    func powerIsVoltsTimesAmpsAndTheMeterOnlyCountsUp(seed: UInt64) {
        let columns = Self.day("power", seed: seed)
        let (voltage, current, power, energy) = (columns[0], columns[1], columns[2], columns[3])
        #expect(voltage.allSatisfy { (110...130).contains($0) || (220...240).contains($0) }, "\(voltage.min()!)…\(voltage.max()!)")
        for i in voltage.indices where current[i] > 0.05 {
            let factor = power[i] / (voltage[i] * current[i])
            #expect((0.88...1.01).contains(factor), "W / (V × A) = \(factor) at \(i)")
        }
        #expect(zip(energy, energy.dropFirst()).allSatisfy { $0 <= $1 }, "energy went down")
        // A day's energy is what the power used: the integral of W over the day, in kWh.
        let used = energy.last! - energy.first!, integral = power.dropLast().reduce(0, +) / 60 / 1000
        #expect(abs(used - integral) <= 0.05 * integral + 0.01, "metered \(used) kWh, power used \(integral) kWh")
    }

    @Test func locationsWanderAtWalkingPaceAndAccelerometersRestAtOneG() {
        let location = Self.day("location", seed: 7)
        for column in location.prefix(2) {
            let steps = zip(column, column.dropFirst()).map { abs($1 - $0) }
            #expect(steps.max()! < 0.001, "a minute's step of \(steps.max()!)° (3° before)")
        }
        let acceleration = Self.day("accelerometer", seed: 7)
        #expect(abs(acceleration[2].reduce(0, +) / 1440 - 1) < 0.05 && abs(acceleration[0].reduce(0, +) / 1440) < 0.05)
    }
}
