import DeviceEmulator
import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageOperations
import StorageWriter
import Synchronization

/// Ingest beside compaction: `BatchWriter` stores new readings as fast as it can in windows that alternate
/// between the compactor idle and the compactor working through a backlog an hour at a time (`Compaction.run`
/// with the given pause, as the query service's schedule runs it). Alternating windows (rather than one
/// before, one during, one after) put the machine's drift on both sides. Every batch also carries one late
/// reading of a backlog device into the hour being compacted (or last compacted), so a writer waiting for a
/// compaction transaction shows in the batch latencies.
final class IngestWhileCompacting: Sendable {
    let sensor: SensorType
    let windowSeconds: Int
    let pairs: Int
    /// The backlog's first hour and how many hours it holds.
    let origin: Int64
    let backlogHours: Int
    let backlogDevices: Int
    let liveOrigin: Int64
    let pause: Double

    init(sensor: SensorType, windowSeconds: Int, pairs: Int, origin: Int64, backlogHours: Int, backlogDevices: Int, liveOrigin: Int64, pause: Double) {
        (self.sensor, self.windowSeconds, self.pairs, self.origin) = (sensor, windowSeconds, pairs, origin)
        (self.backlogHours, self.backlogDevices, self.liveOrigin, self.pause) = (backlogHours, backlogDevices, liveOrigin, pause)
    }

    struct Window: Sendable {
        var compacting: Bool
        var rate: Double
        var latencies: [Double]  // ms per batch
    }

    /// The hour the compactor works on now (µs), read by the writer for its late readings.
    private let currentHour = Atomic<Int64>(0)
    private let stop = Atomic<Bool>(false)
    private let nextHour = Atomic<Int>(0)
    private let compactedReadings = Atomic<Int>(0)

    func run() throws -> (windows: [Window], compacted: Int, backlogDone: Bool) {
        // The backlog's first hour compacted before the first window: from then on every window's late
        // readings are before the horizon (the late path), not only those after the first compacting window.
        currentHour.store(origin, ordering: .relaxed)
        _ = try Compaction.run(sensor: sensor, now: origin + 3 * Micros.perHour, after: .seconds(7200), on: try PGConnection(url: databaseURL))
        nextHour.store(1, ordering: .relaxed)
        let writer = BatchWriter(connection: try PGConnection(url: databaseURL), sensor: sensor)
        var windows: [Window] = []
        var step: Int64 = 0
        for index in 0..<(2 * pairs) {
            let compacting = index % 2 == 1
            let compactor = compacting ? startCompactor() : nil
            windows.append(try window(compacting: compacting, writer: writer, step: &step))
            if let compactor {
                stop.store(true, ordering: .relaxed)
                compactor.wait()
                stop.store(false, ordering: .relaxed)
            }
        }
        return (windows, compactedReadings.load(ordering: .relaxed), nextHour.load(ordering: .relaxed) >= backlogHours)
    }

    private func startCompactor() -> DispatchGroup {
        let group = DispatchGroup()
        group.enter()
        let thread = Thread { [self] in
            defer { group.leave() }
            do {
                let connection = try PGConnection(url: databaseURL)
                while !stop.load(ordering: .relaxed) {
                    let hour = nextHour.load(ordering: .relaxed)
                    guard hour < backlogHours else { return }
                    currentHour.store(origin + Int64(hour) * Micros.perHour, ordering: .relaxed)
                    // `now` two hours after the end of this hour: this hour (and any earlier one a late reading reopened).
                    let outcome = try Compaction.run(
                        sensor: sensor, now: origin + Int64(hour + 3) * Micros.perHour, after: .seconds(7200), pause: pause, on: connection)
                    compactedReadings.add(outcome.readings, ordering: .relaxed)
                    nextHour.store(hour + 1, ordering: .relaxed)
                }
            } catch {
                log("compaction failed: \(error)")
            }
        }
        thread.start()
        return group
    }

    private func window(compacting: Bool, writer: BatchWriter, step: inout Int64) throws -> Window {
        var values = [Double](repeating: 0, count: sensor.fields.count)
        var signal = SignalModel(sensor: sensor, seed: 7)
        var late = SplitMix64(seed: UInt64(step) &+ 99)
        var written = 0
        var latencies: [Double] = []
        let clock = ContinuousClock.now
        while ContinuousClock.now - clock < .seconds(windowSeconds) {
            var batch = IngestBatch(fieldCount: sensor.fields.count, capacity: 2_001)
            for device in 0..<200 {
                let rowStart = batch.readings.count
                for index in 0..<10 {
                    let time = liveOrigin + (step * 10 + Int64(index)) * 1_000_000 + Int64(device)
                    signal.next(at: time, into: &values)
                    let row = batch.readings.appendRow(time: time, seq: step)
                    for field in values.indices { batch.readings.set(field: field, row: row, values[field]) }
                }
                batch.closeSpan(device: "live-\(device)", from: rowStart)
            }
            // The late reading: a backlog device, half a second off its own readings' times, in the hour under compaction.
            let device = Int(late.next() % UInt64(backlogDevices))
            let time = currentHour.load(ordering: .relaxed) + Int64(late.next() % 3_600) * 1_000_000 + 500_000
            let rowStart = batch.readings.count
            let row = batch.readings.appendRow(time: time, seq: step)
            for field in values.indices { batch.readings.set(field: field, row: row, values[field]) }
            batch.closeSpan(device: "dev-\(device)", from: rowStart)
            step += 1
            let began = ContinuousClock.now
            written += try writer.write(batch).inserted
            latencies.append((ContinuousClock.now - began) / .milliseconds(1))
        }
        return Window(compacting: compacting, rate: Double(written) / ((ContinuousClock.now - clock) / .seconds(1)), latencies: latencies)
    }

    /// The report's section.
    static func report(_ result: (windows: [Window], compacted: Int, backlogDone: Bool), sensor: SensorType, windowSeconds: Int, pause: Double) {
        func median(_ values: [Double]) -> Double { percentile(values.sorted(), 0.5) }
        let alone = result.windows.filter { !$0.compacting }, busy = result.windows.filter(\.compacting)
        let aloneRate = median(alone.map(\.rate)), busyRate = median(busy.map(\.rate))
        print("\n### Ingest while compacting (\(sensor.name), BatchWriter, 2,000 new readings and 1 late reading a batch, \(windowSeconds) s windows, alternating)\n")
        print("| window | compactor | readings/s | batch p50 ms | batch p99 ms | batch max ms |")
        print("|---|---|---|---|---|---|")
        for (index, window) in result.windows.enumerated() {
            let sorted = window.latencies.sorted()
            print("| \(index + 1) | \(window.compacting ? "working (pause \(pause))" : "idle") | \(Int(window.rate)) | "
                + "\(String(format: "%.1f", percentile(sorted, 0.5))) | \(String(format: "%.1f", percentile(sorted, 0.99))) | \(String(format: "%.1f", sorted.last ?? 0)) |")
        }
        let worstAlone = alone.flatMap(\.latencies).max() ?? 0, worstBusy = busy.flatMap(\.latencies).max() ?? 0
        print("\nMedian readings/s: idle \(Int(aloneRate)), compacting \(Int(busyRate)) (\(String(format: "%+.1f", (busyRate / aloneRate - 1) * 100)) %); "
            + "the longest batch: idle \(String(format: "%.0f", worstAlone)) ms, compacting \(String(format: "%.0f", worstBusy)) ms. "
            + "The compactor moved \(result.compacted) readings in its windows\(result.backlogDone ? " and finished the backlog" : "").")
    }
}
