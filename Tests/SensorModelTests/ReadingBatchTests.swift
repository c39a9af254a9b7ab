import Testing
@testable import SensorModel

@Suite struct ReadingBatchTests {
    /// Rows appended one at a time, in bulk and in place all read back, across several growths.
    @Test func appendsGrowAndReadBack() {
        var batch = ReadingBatch(fieldCount: 2)
        for index in 0..<100 {
            let row = batch.appendRow(time: Int64(index), seq: 7)
            batch.set(field: 1, row: row, Double(index))
        }
        let times: [Int64] = [1000, 1001, 1002]
        let columns: [Double] = [1, 2, 3, 4, 5, 6]
        times.withUnsafeBufferPointer { times in
            columns.withUnsafeBufferPointer { batch.appendRows(times: times, seq: 8, columns: $0) }
        }
        let slots = batch.reserveRows(2)
        slots.times[0] = 2000
        slots.times[1] = 2001
        slots[0][0] = 10; slots[0][1] = 11
        slots[1][0] = 20; slots[1][1] = 21
        batch.commitRows(2, seq: 9)

        #expect(batch.count == 105)
        #expect(batch.times[42] == 42 && batch.seqs[42] == 7)
        #expect(batch.value(field: 0, row: 42) == nil && batch.value(field: 1, row: 42) == 42)
        #expect(Array(batch.times[100...]) == [1000, 1001, 1002, 2000, 2001])
        #expect(Array(batch.seqs[100...]) == [8, 8, 8, 9, 9])
        #expect(Array(batch.values[0][100...]) == [1, 2, 3, 10, 11])
        #expect(Array(batch.values[1][100...]) == [4, 5, 6, 20, 21])
    }

    /// Reserved rows that are never committed are not part of the batch (a rejected message).
    @Test func uncommittedRowsAreLeftOut() {
        var batch = ReadingBatch(fieldCount: 1)
        _ = batch.appendRow(time: 1, seq: 1)
        let slots = batch.reserveRows(3)
        slots.times[0] = 99
        #expect(batch.count == 1)
        _ = batch.appendRow(time: 2, seq: 2)
        #expect(Array(batch.times) == [1, 2])
    }

    /// Copies are values: changing one leaves the other, and a column read earlier, as it was.
    @Test func copyOnWrite() {
        var original = ReadingBatch(fieldCount: 1)
        let row = original.appendRow(time: 5, seq: 1)
        original.set(field: 0, row: row, 1.5)
        let column = original.values[0]
        var copy = original
        copy.set(field: 0, row: row, 2.5)
        copy.setTime(row: row, 6)
        _ = copy.appendRow(time: 7, seq: 2)
        original.truncate(to: 0)
        #expect(original.count == 0)
        #expect(copy.count == 2 && copy.value(field: 0, row: 0) == 2.5 && copy.times[0] == 6)
        #expect(column.count == 1 && column[0] == 1.5)
        copy.removeAll()
        #expect(copy.isEmpty && column[0] == 1.5)
    }
}
