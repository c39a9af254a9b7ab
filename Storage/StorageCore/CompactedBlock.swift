import BlockCodec
import Postgres
import SensorModel

/// One device's readings of one UTC hour, compacted into one row of the sensor type's blocks table: the
/// hour, its first and last reading time and count, then each column encoded (`BlockCodec`): times,
/// `seq` (NULL when no reading had one) and one bytea per field (NULL when no reading had it, or the
/// field came after the block was written). A reading is either a heap row or in a block, never both.
public struct CompactedBlock: Sendable, Equatable {
    /// A block holds one hour: the rollups' coarsest bucket, so compacting never splits one.
    public static let span = Micros.perHour

    public var deviceID: Int32
    /// The hour's start, µs since the epoch.
    public var bucket: Int64
    /// Ascending, all inside `[bucket, bucket + span)`.
    public var times: [Int64]
    public var seqs: [Int64?]
    /// One column per catalog field, NaN where a reading did not carry it.
    public var values: [[Double]]

    public init(deviceID: Int32, bucket: Int64, times: [Int64], seqs: [Int64?], values: [[Double]]) {
        self.deviceID = deviceID
        self.bucket = bucket
        self.times = times
        self.seqs = seqs
        self.values = values
    }

    public var count: Int { times.count }

    /// The blocks table's columns in the order `append(to:)` writes them. Names other than the fields'
    /// start with `_` or are reserved field names (`bucket`, `count`): no field can take them.
    public static func columns(_ tables: SensorTables) -> [String] {
        ["device_id", "bucket", "count", "_first", "_last", "_times", "_seqs"] + tables.fieldColumns
    }

    /// The encoded columns read back (`decode`), after whatever else a statement selects.
    public static func encodedColumns(_ tables: SensorTables) -> [String] {
        ["_times", "_seqs"] + tables.fieldColumns
    }

    /// One row of a binary COPY into the blocks table. Encoding is the costly part of compaction.
    public func append(to copy: inout PGBinaryCopy) {
        copy.startRow(columns: 7 + values.count)
        copy.appendInt32(deviceID)
        copy.appendTimestamp(unixMicros: bucket)
        copy.appendInt32(Int32(times.count))
        copy.appendTimestamp(unixMicros: times.first ?? bucket)
        copy.appendTimestamp(unixMicros: times.last ?? bucket)
        copy.appendBytes(TimeColumn.encode(times))
        if seqs.allSatisfy({ $0 == nil }) { copy.appendNull() } else { copy.appendBytes(IntegerColumn.encode(seqs)) }
        for column in values {
            if column.allSatisfy(\.isNaN) { copy.appendNull() } else { copy.appendBytes(DoubleColumn.encode(column)) }
        }
    }

    /// The block whose `encodedColumns` start at column `start` of `row` (binary result). A column that
    /// does not decode is damage: reported as PostgreSQL's data_corrupted, never guessed around.
    public static func decode(
        _ result: PGRawResult, row: Int, from start: Int, deviceID: Int32, bucket: Int64, fieldCount: Int
    ) throws(PGError) -> CompactedBlock {
        func damaged(_ error: BlockDecodeError, _ column: String) -> PGError {
            PGError(sqlState: "XX001", message: "\(named(deviceID: deviceID, bucket: bucket)), column \(column): \(error)")
        }
        guard let timeBytes = result.bytes(row, start) else {
            throw PGError(sqlState: "XX001", message: "\(named(deviceID: deviceID, bucket: bucket)) has no times")
        }
        let times: [Int64]
        do throws(BlockDecodeError) { times = try TimeColumn.decode(timeBytes) } catch { throw damaged(error, "_times") }
        var seqs = [Int64?](repeating: nil, count: times.count)
        if let bytes = result.bytes(row, start + 1) {
            do throws(BlockDecodeError) { seqs = try IntegerColumn.decode(bytes) } catch { throw damaged(error, "_seqs") }
        }
        var values: [[Double]] = []
        for field in 0..<fieldCount {
            guard let bytes = result.bytes(row, start + 2 + field) else {
                values.append([Double](repeating: .nan, count: times.count))
                continue
            }
            do throws(BlockDecodeError) { values.append(try DoubleColumn.decode(bytes)) } catch { throw damaged(error, "field \(field)") }
        }
        guard seqs.count == times.count, values.allSatisfy({ $0.count == times.count }) else {
            throw PGError(sqlState: "XX001", message: "\(named(deviceID: deviceID, bucket: bucket)): columns of different lengths")
        }
        return CompactedBlock(deviceID: deviceID, bucket: bucket, times: times, seqs: seqs, values: values)
    }

    /// How damage names a block: what an operator finds it by (`devices.id`, the hour's start).
    static func named(deviceID: Int32, bucket: Int64) -> String {
        "compacted block of device id \(deviceID), the hour from \(TimeText.format(bucket))"
    }
}

extension CompactedBlock {
    /// Only the times of the block whose `_times` is column `column` of `row` (binary result): what a
    /// writer needs to tell whether a late reading is there already.
    public static func times(_ result: PGRawResult, row: Int, column: Int, deviceID: Int32) throws(PGError) -> [Int64] {
        guard let bytes = result.bytes(row, column) else { return [] }
        do throws(BlockDecodeError) { return try TimeColumn.decode(bytes) } catch {
            throw PGError(sqlState: "XX001", message: "compacted block of device id \(deviceID), column _times: \(error)")
        }
    }
}
