import Foundation
import Testing
@testable import IngestService

/// The journal's promises: what was appended and not committed comes back at start, in order; a torn
/// tail is cut off; committed segments go away; a clean close leaves nothing to replay.
struct JournalTests {
    private func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("journal-test-\(UUID().uuidString.prefix(8))").path
    }

    private func segments(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("segment-") }.sorted()
    }

    @Test func uncommittedRecordsAreReplayedInOrderAfterACrash() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(directory: directory, sync: .never)
        #expect(try journal.recover().isEmpty)
        for n in 1...3 { _ = try journal.append(topic: "telemetry/t/d\(n)", payload: [UInt8(n), 0xFF], receivedAt: Int64(n)) }
        // No close: as after kill -9, only what write(2) put in the file is there.
        let replayed = try Journal(directory: directory, sync: .never).recover()
        #expect(replayed.map(\.seq) == [1, 2, 3])
        #expect(replayed.map(\.topic) == ["telemetry/t/d1", "telemetry/t/d2", "telemetry/t/d3"])
        #expect(replayed[2].payload == [3, 0xFF])
        #expect(replayed[1].receivedAt == 2)
        journal.close()
    }

    @Test func aTornTailIsCutOffAndNumberingGoesOn() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(directory: directory, sync: .never)
        _ = try journal.recover()
        _ = try journal.append(topic: "a", payload: [1], receivedAt: 1)
        _ = try journal.append(topic: "b", payload: [2], receivedAt: 2)
        let path = directory + "/" + segments(directory).last!
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([40, 0, 0, 0, 9, 9]))  // half a frame header: a crash mid-write
        try handle.close()
        let sizeBefore = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let reopened = try Journal(directory: directory, sync: .never)
        #expect(try reopened.recover().map(\.topic) == ["a", "b"])
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int == sizeBefore - 6)
        #expect(try reopened.append(topic: "c", payload: [], receivedAt: 3) == 3)
        reopened.close()
        journal.close()
    }

    /// Only a tail can be torn by a crash: a damaged record inside a segment loses that record alone
    /// (its bytes kept beside the journal), not every acknowledged message after it.
    @Test func damageInsideASegmentLosesOnlyTheDamagedRecord() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(directory: directory, sync: .never)
        _ = try journal.recover()
        for n in 1...5 { _ = try journal.append(topic: "t\(n)", payload: Array(repeating: UInt8(n), count: 40), receivedAt: Int64(n)) }
        let path = directory + "/" + segments(directory).last!
        var bytes = try #require(FileManager.default.contents(atPath: path))
        let frame = bytes.count / 5
        bytes[frame + 30] ^= 0xFF  // inside record 2's payload: its CRC fails
        try bytes.write(to: URL(fileURLWithPath: path))
        let reopened = try Journal(directory: directory, sync: .never)
        let replayed = try reopened.recover()
        #expect(replayed.map(\.seq) == [1, 3, 4, 5])
        #expect(replayed.map(\.topic) == ["t1", "t3", "t4", "t5"])
        #expect(reopened.damagedRegions.count == 1)
        let kept = try #require(reopened.damagedRegions.first.flatMap { FileManager.default.contents(atPath: $0) })
        #expect(kept.count == frame)
        #expect(try reopened.append(topic: "t6", payload: [], receivedAt: 6) == 6)
        reopened.close()
        journal.close()
    }

    @Test func committedSegmentsAreDeletedAndOnlyTheRestReplays() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Tiny segments: every record gets its own file.
        let journal = try Journal(directory: directory, sync: .never, segmentBytes: 16)
        _ = try journal.recover()
        for n in 1...5 { _ = try journal.append(topic: "t", payload: [UInt8(n)], receivedAt: 0) }
        #expect(segments(directory).count == 6)  // five full, one open and empty
        journal.commit(upTo: 3)
        #expect(segments(directory).count == 3)
        #expect(journal.pendingRecords == 2)
        #expect(try Journal(directory: directory, sync: .never).recover().map(\.seq) == [4, 5])
        journal.close()
    }

    @Test func aCleanCloseWithEverythingCommittedLeavesNothing() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(directory: directory, sync: .interval(.milliseconds(10)))
        _ = try journal.recover()
        for n in 1...10 { _ = try journal.append(topic: "t", payload: [UInt8(n)], receivedAt: 0) }
        journal.commit(upTo: 10)
        journal.close()
        #expect(segments(directory).isEmpty)
        #expect(try Journal(directory: directory).recover().isEmpty)
    }

    @Test func aCloseWithUncommittedRecordsKeepsThem() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(directory: directory, sync: .always)
        _ = try journal.recover()
        for n in 1...4 { _ = try journal.append(topic: "t", payload: [UInt8(n)], receivedAt: 0) }
        journal.commit(upTo: 2)
        journal.close()
        // One segment holds all four: the committed two replay too (storage ignores duplicates).
        #expect(try Journal(directory: directory).recover().map(\.seq) == [1, 2, 3, 4])
    }

    @Test(arguments: [
        ("never", Journal.Sync.never), ("off", .never), ("always", .always), ("interval", .interval(.milliseconds(200))),
        ("50ms", .interval(.milliseconds(50))),
    ])
    func fsyncSettingParses(text: String, expected: Journal.Sync) {
        #expect(Journal.Sync(setting: text) == expected)
    }

    @Test func badFsyncSettingsAreRefused() {
        for text in ["", "sometimes", "0ms", "-5ms", "5s"] { #expect(Journal.Sync(setting: text) == nil, "\(text)") }
    }
}
