import Foundation
import Synchronization

/// Where a message goes that can be neither stored nor dead-lettered after bounded tries: one JSON
/// line per message (receive time, topic, why, payload in base64) appended to `quarantine.jsonl` beside
/// the journal and flushed to disk, so the pipeline can move on and lose nothing. It needs no database
/// and no valid text from the device: the one thing that can still fail is the disk, as for the journal.
final class Quarantine: Sendable {
    let path: String
    private let lock = Mutex(())

    init(directory: String) {
        path = directory + "/quarantine.jsonl"
    }

    func put(_ record: JournalRecord, reason: String) throws {
        let line: [String: Any] = [
            "received_at_us": record.receivedAt,
            "topic": record.topic,
            "reason": reason,
            "payload_base64": Data(record.payload).base64EncodedString(),
        ]
        var bytes = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        bytes.append(UInt8(ascii: "\n"))
        try lock.withLock { _ in
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw JournalError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            guard written == bytes.count, fsync(fd) == 0 else {
                throw JournalError(message: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
        }
    }
}
