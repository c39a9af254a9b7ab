import ArgumentParser
import Foundation
import QueryService
import SensorModel
import Settings
import StorageCore

/// `telemetry compact`: what the query service's compaction does every `compact_interval_seconds`, now, in
/// every database: hours that ended `compact_after_minutes` ago (or `--after-minutes`) become blocks.
struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Compacts the readings of closed hours into blocks now (docs/storage.md).",
        discussion: "Safe beside running services and other compactors: a sensor type another process is compacting is skipped.")

    // Unconditional: `--after-minutes -1` reaches `validate` and is told the range, not "Missing value".
    @Option(name: .long, parsing: .unconditional, help: "Compact hours that ended at least this many minutes ago (default: compact_after_minutes).")
    var afterMinutes: Int?

    @Option(name: .long, help: "Only this sensor type; repeat for several (default: all).")
    var sensor: [String] = []

    func validate() throws {
        if let afterMinutes, !(0...PlatformSettings.compactAfterMinutesLimit).contains(afterMinutes) {
            throw ValidationError("--after-minutes must be 0...\(PlatformSettings.compactAfterMinutesLimit) (ten years), got \(afterMinutes)")
        }
    }

    func run() async throws {
        let (platform, catalog) = try await Startup.settings("compact") { platform in try Catalog.load(directory: platform.catalogDirectory) }
        for name in sensor where catalog[name] == nil { throw ValidationError("--sensor \(name) is not a sensor type of the catalog") }
        guard let minutes = afterMinutes ?? platform.compactAfterMinutes else {
            throw CommandFailure("compaction is off (compact_after_minutes is none); give --after-minutes")
        }
        let placement = DatabasePlacement(defaultURL: platform.databaseURL, bySensor: platform.sensorDatabaseURLs)
        let chosen = catalog.sensors.filter { sensor.isEmpty || sensor.contains($0.name) }
        for url in placement.urls {
            let sensors = placement.sensors(chosen, at: url)
            guard !sensors.isEmpty else { continue }
            for outcome in try await CompactionSchedule.runOnce(databaseURL: url, sensors: sensors, after: .seconds(minutes * 60)) {
                if outcome.skipped {
                    print("\(outcome.sensor): skipped, another process is compacting it")
                } else {
                    for damage in outcome.damaged { print("\(outcome.sensor): left in the heap, \(damage)") }
                    for kept in outcome.keptInHeap { print("\(outcome.sensor): left in the heap, \(kept)") }
                    print("\(outcome.sensor): \(outcome.readings) readings into \(outcome.blocks) blocks, \(outcome.bytesBefore) → \(outcome.bytesAfter) bytes"
                        + (outcome.readings > 0 ? String(format: ", longest transaction %.2f s", outcome.longestTransaction / .seconds(1)) : "")
                        + (outcome.droppedPartitions.isEmpty ? "" : "; dropped emptied partitions \(outcome.droppedPartitions.joined(separator: ", "))"))
                }
            }
        }
    }
}
