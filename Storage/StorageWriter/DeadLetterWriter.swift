import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// Dead letters go through a staging table so that one already stored (the same message replayed from
/// the journal after a crash: same topic, receive time and bytes) is skipped by `rejected`'s message key.
enum DeadLetterWriter {
    static let stageSQL = "CREATE TEMP TABLE IF NOT EXISTS rejected_stage (sensor text, topic text, received_at timestamptz, reason text, payload bytea) ON COMMIT DELETE ROWS"
    static let moveSQL = """
        INSERT INTO rejected (sensor, topic, received_at, reason, payload)
        SELECT sensor, topic, received_at, reason, payload FROM rejected_stage
        ON CONFLICT (received_at, topic, coalesce(sensor, ''), md5(payload)) DO NOTHING
        """

    static func write(_ letters: [DeadLetter], on connection: PGConnection) throws(PGError) {
        var copy = PGBinaryCopy(reservingCapacity: letters.reduce(0) { $0 + $1.payload.count + $1.topic.utf8.count + 64 })
        for letter in letters {
            copy.startRow(columns: 5)
            if let sensor = letter.sensor { copy.appendText(sensor) } else { copy.appendNull() }
            copy.appendText(letter.topic)
            copy.appendTimestamp(unixMicros: letter.receivedAt)
            copy.appendText(letter.reason)
            copy.appendBytes(letter.payload)
        }
        try connection.execute(stageSQL)
        try connection.copyIn("COPY rejected_stage (sensor, topic, received_at, reason, payload) FROM STDIN (FORMAT binary)", data: copy.finish())
        try connection.execute(moveSQL)
    }
}
