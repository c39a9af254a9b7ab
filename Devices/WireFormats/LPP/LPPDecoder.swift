import SensorModel

/// Decodes a Cayenne LPP payload (`[channel][type][data]...`, big-endian) into one reading.
public struct LPPDecoder: PayloadDecoder {
    struct Target: Sendable {
        var field: Int
        var channel: UInt8?
        var component: Int
    }

    public let fieldNames: [String]
    /// Catalog fields each LPP type carries, indexed by type id.
    let targets: [[Target]]

    public init(sensor: SensorType) {
        fieldNames = sensor.fields.map(\.name)
        var targets = [[Target]](repeating: [], count: 256)
        for (index, field) in sensor.fields.enumerated() {
            guard let binding = field.lpp, (0...255).contains(binding.type) else { continue }
            targets[binding.type].append(Target(
                field: index, channel: binding.channel.map { UInt8(clamping: $0) }, component: binding.component ?? 0))
        }
        self.targets = targets
    }

    public func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        var skipped = 0
        try decode(payload, receivedAt: receivedAt, into: &batch, skipped: &skipped)
    }

    /// - Parameter skipped: incremented once per entry of a known type that this sensor type does not map.
    public func decode(
        _ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch, skipped: inout Int
    ) throws(DecodeError) {
        let row = batch.appendRow(time: receivedAt, seq: ReadingBatch.noSeq)
        // Channel that set each field, to tell a repeated channel from an ambiguous one.
        var setBy = [Int](repeating: -1, count: batch.fieldCount)
        var time: Int64?
        var offset = 0
        while offset < payload.count {
            guard offset + 2 <= payload.count else {
                throw DecodeError(.truncated, "lpp entry at byte \(offset) has a channel but no type")
            }
            let channel = payload[offset]
            let typeID = payload[offset + 1]
            guard let type = LPPType.byID[Int(typeID)] else {
                throw DecodeError(.unknownLPPType, "lpp type \(typeID) on channel \(channel) at byte \(offset) is unknown")
            }
            let data = offset + 2
            guard data + type.size <= payload.count else {
                throw DecodeError(.truncated, "lpp \(type.name) on channel \(channel) needs \(type.size) bytes, \(payload.count - data) left")
            }
            offset = data + type.size
            if typeID == LPPType.unixTime {
                guard time == nil else { throw DecodeError(.duplicateTime, "lpp payload carries two unix time entries") }
                time = type.raw(payload, at: data, component: 0) * 1_000_000
                continue
            }
            var used = false
            for target in targets[Int(typeID)] where target.component < type.components {
                if let bound = target.channel, bound != channel { continue }
                if setBy[target.field] >= 0 {
                    let name = fieldNames[target.field]
                    if target.channel == nil && setBy[target.field] != Int(channel) {
                        throw DecodeError(.ambiguousChannel, "lpp \(type.name) is on channels \(setBy[target.field]) and \(channel); bind a channel for \(name) in the catalog")
                    }
                    throw DecodeError(.ambiguousChannel, "lpp \(type.name) appears twice on channel \(channel) (\(name))")
                }
                setBy[target.field] = Int(channel)
                let raw = type.raw(payload, at: data, component: target.component)
                batch.set(field: target.field, row: row, Double(raw) / type.divisors[target.component])
                used = true
            }
            if !used { skipped += 1 }
        }
        if let time { batch.setTime(row: row, time) }
    }
}
