import Foundation
import Synchronization

/// The local write-ahead journal of one ingest service instance. `append` runs inside the MQTT message
/// callback, before the PUBACK leaves; a segment file is deleted only when every record in it is committed
/// to PostgreSQL (or dead-lettered). What remains at start is replayed.
public final class Journal: @unchecked Sendable {
    public enum Sync: Sendable, Equatable {
        /// write(2) only: survives a crash of the process, not of the machine.
        case never
        /// A background fsync at this interval: a machine crash loses at most that window.
        case interval(Duration)
        /// fsync before every acknowledgement: survives power loss, costs a disk flush per message.
        case always

        public init?(setting: String) {
            switch setting {
            case "never", "off": self = .never
            case "always": self = .always
            case "interval": self = .interval(.milliseconds(200))
            default:
                guard setting.hasSuffix("ms"), let ms = Int(setting.dropLast(2)), ms > 0 else { return nil }
                self = .interval(.milliseconds(ms))
            }
        }
    }

    struct Segment {
        var firstSeq: UInt64
        var lastSeq: UInt64  // firstSeq - 1 while empty
        var path: String
        var bytes: Int
    }

    struct State {
        var segments: [Segment] = []  // oldest first; the last is open for appends
        var fd: Int32 = -1
        var nextSeq: UInt64 = 1
        var committed: UInt64 = 0
        var dirty = false
        var closed = false
    }

    public let directory: String
    public let sync: Sync
    public let segmentBytes: Int
    private let state = Mutex(State())
    private var syncThread: Thread?

    public init(directory: String, sync: Sync = .interval(.milliseconds(200)), segmentBytes: Int = 16 << 20) throws {
        self.directory = directory
        self.sync = sync
        self.segmentBytes = segmentBytes
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Files holding damaged parts of segments found by `recover` (not a torn tail): for the log.
    public private(set) var damagedRegions: [String] = []

    /// The records of one segment in order, and the byte ranges that hold none: after a damaged record,
    /// reading resumes at the next offset where a whole record with a later sequence number checks out.
    static func scan(_ bytes: UnsafeRawBufferPointer, after lastSeq: UInt64) -> (records: [JournalRecord], damaged: [Range<Int>]) {
        var records: [JournalRecord] = []
        var damaged: [Range<Int>] = []
        var offset = 0
        var last = lastSeq
        while offset < bytes.count {
            if let (record, next) = JournalRecord.decode(bytes, at: offset), record.seq > last {
                records.append(record)
                last = record.seq
                offset = next
                continue
            }
            var resume = offset + 1
            while resume < bytes.count {
                if let (record, _) = JournalRecord.decode(bytes, at: resume), record.seq > last { break }
                resume += 1
            }
            damaged.append(offset..<resume)
            offset = resume
        }
        return (records, damaged)
    }

    /// Reads every record left by earlier runs, oldest first, and opens a new segment after them.
    /// Call once, before the first `append`.
    public func recover() throws -> [JournalRecord] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }.sorted()
        var records: [JournalRecord] = []
        var segments: [Segment] = []
        var nextSeq: UInt64 = 1
        for (index, name) in names.enumerated() {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let (found, damaged) = data.withUnsafeBytes { bytes in Self.scan(bytes, after: nextSeq - 1) }
            var validEnd = data.count
            for range in damaged {
                if range.upperBound == data.count && index == names.count - 1 {
                    // A torn tail from a crash mid-write: that message was never acknowledged.
                    validEnd = range.lowerBound
                } else {
                    // Damage inside the file (a bad disk, a stray write): keep the bytes beside the journal
                    // for a person to look at; the records after it are replayed.
                    let copy = directory + "/damaged-\(name)-\(range.lowerBound).bin"
                    FileManager.default.createFile(atPath: copy, contents: data.subdata(in: range))
                    damagedRegions.append(copy)
                }
            }
            if validEnd < data.count { truncate(path, validEnd) }
            guard let first = found.first, let last = found.last else {
                unlink(path)
                continue
            }
            segments.append(Segment(firstSeq: first.seq, lastSeq: last.seq, path: path, bytes: validEnd))
            records += found
            nextSeq = max(nextSeq, last.seq + 1)
        }
        try state.withLock { state in
            state.segments = segments
            state.nextSeq = nextSeq
            state.committed = (records.first?.seq ?? nextSeq) - 1
            try openSegment(&state)
        }
        startSyncThread()
        return records
    }

    /// Appends one message; returns its sequence number. Durable per `sync` when it returns.
    public func append(topic: String, payload: [UInt8], receivedAt: Int64) throws -> UInt64 {
        try state.withLock { state in
            guard !state.closed else { throw JournalError(message: "journal closed") }
            if state.fd < 0 { try openSegment(&state) }
            let seq = state.nextSeq
            let frame = JournalRecord(seq: seq, receivedAt: receivedAt, topic: topic, payload: payload).encoded()
            try writeAll(state.fd, frame)
            if sync == .always { fsync(state.fd) } else { state.dirty = true }
            state.nextSeq += 1
            let index = state.segments.count - 1
            state.segments[index].lastSeq = seq
            state.segments[index].bytes += frame.count
            if state.segments[index].bytes >= segmentBytes {
                try openSegment(&state)
            }
            return seq
        }
    }

    /// Everything up to and including `seq` is stored: delete the segments that hold only such records.
    public func commit(upTo seq: UInt64) {
        state.withLock { state in
            state.committed = max(state.committed, seq)
            while let first = state.segments.first, first.lastSeq <= state.committed, first.lastSeq >= first.firstSeq {
                if state.segments.count == 1 {
                    // The open segment is fully committed: start a fresh one so the old can go.
                    guard first.bytes >= 1 << 20 else { break }
                    try? openSegment(&state)
                }
                unlink(first.path)
                state.segments.removeFirst()
            }
        }
    }

    /// Bytes held on disk by segments not yet deleted.
    public var bytesOnDisk: Int { state.withLock { $0.segments.reduce(0) { $0 + $1.bytes } } }
    public var pendingRecords: UInt64 { state.withLock { $0.nextSeq - 1 - $0.committed } }

    /// Flushes and closes; when every record is committed, deletes the segments too, so a clean stop
    /// leaves nothing to replay.
    public func close() {
        state.withLock { state in
            if state.fd >= 0 {
                fsync(state.fd)
                Foundation.close(state.fd)
                state.fd = -1
            }
            if state.committed >= state.nextSeq - 1 {
                for segment in state.segments { unlink(segment.path) }
                state.segments.removeAll()
                syncDirectory()
            }
            state.closed = true
        }
    }

    private func openSegment(_ state: inout State) throws {
        if state.fd >= 0 {
            if sync != .never { fsync(state.fd) }
            Foundation.close(state.fd)
            state.fd = -1
        }
        // Drop an empty open segment rather than leave it behind.
        if let last = state.segments.last, last.bytes == 0 {
            unlink(last.path)
            state.segments.removeLast()
        }
        let name = "segment-" + String(state.nextSeq).leftPadded(to: 20) + ".log"
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw JournalError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        state.fd = fd
        state.segments.append(Segment(firstSeq: state.nextSeq, lastSeq: state.nextSeq - 1, path: path, bytes: 0))
        if sync != .never { syncDirectory() }
    }

    private func startSyncThread() {
        guard case .interval(let every) = sync else { return }
        let thread = Thread { [weak self] in
            while let journal = self {
                let closed = journal.state.withLock { state -> Bool in
                    if state.dirty, state.fd >= 0 {
                        fdatasync(state.fd)
                        state.dirty = false
                    }
                    return state.closed
                }
                if closed { return }
                Thread.sleep(forTimeInterval: Double(every.components.seconds) + Double(every.components.attoseconds) / 1e18)
            }
        }
        thread.name = "journal-sync"
        thread.start()
        syncThread = thread
    }

    private func syncDirectory() {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        if fd >= 0 {
            fsync(fd)
            Foundation.close(fd)
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress!.advanced(by: offset), buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw JournalError(message: "journal write failed: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    private func truncate(_ path: String, _ length: Int) {
        Foundation.truncate(path, off_t(length))
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
