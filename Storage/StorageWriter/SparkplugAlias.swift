import Postgres
import StorageCore

/// One metric alias a Sparkplug B edge node's BIRTH defined (NBIRTH: `device` nil; DBIRTH: its device).
public struct SparkplugAlias: Sendable, Equatable {
    public var group: String
    public var edgeNode: String
    public var alias: UInt64
    public var name: [UInt8]
    public var datatype: UInt32?
    public var device: String?

    public init(group: String, edgeNode: String, alias: UInt64, name: [UInt8], datatype: UInt32?, device: String?) {
        (self.group, self.edgeNode, self.alias, self.name, self.datatype, self.device) = (group, edgeNode, alias, name, datatype, device)
    }
}

/// A Sparkplug B edge node: its group and id.
public struct SparkplugNodeID: Sendable, Hashable {
    public var group: String
    public var edgeNode: String

    public init(group: String, edgeNode: String) { (self.group, self.edgeNode) = (group, edgeNode) }
}

/// Keeps the aliases in `sparkplug_aliases`: written in the transaction of the batch whose BIRTH defined
/// them, read back when a sensor type's service starts.
public enum SparkplugAliasStore {
    /// The statements that store what the batch's BIRTHs said for `sensor`: an NBIRTH's node forgets what an
    /// earlier session stored (its later DBIRTHs define its devices again), then every alias is upserted.
    static func statements(births: [SparkplugNodeID], aliases: [SparkplugAlias], sensor: String) -> [String] {
        let forget = Set(births).sorted { ($0.group, $0.edgeNode) < ($1.group, $1.edgeNode) }.map { node in
            "DELETE FROM sparkplug_aliases WHERE sensor = \(SQLText.literal(sensor)) AND group_id = \(SQLText.literal(node.group)) AND edge_node = \(SQLText.literal(node.edgeNode))"
        }
        return forget + (aliases.isEmpty ? [] : [upsert(aliases, sensor: sensor)])
    }

    /// The statement that stores `aliases` for `sensor` (a later BIRTH's replace an earlier's).
    static func upsert(_ aliases: [SparkplugAlias], sensor: String) -> String {
        // One row per key, the last BIRTH's (an upsert may not touch a row twice), in key order (two
        // writers of one sensor type lock them in the same order).
        var latest: [String: SparkplugAlias] = [:]
        for alias in aliases { latest["\(alias.group)\u{0}\(alias.edgeNode)\u{0}\(alias.alias)"] = alias }
        let ordered = latest.values.sorted { ($0.group, $0.edgeNode, $0.alias) < ($1.group, $1.edgeNode, $1.alias) }
        let rows = ordered.map { alias in
            let name = alias.name.map { String($0, radix: 16).leftPadded(2) }.joined()
            return "(\(SQLText.literal(sensor)), \(SQLText.literal(alias.group)), \(SQLText.literal(alias.edgeNode)), \(Int64(bitPattern: alias.alias)), "
                + "decode('\(name)', 'hex'), \(alias.datatype.map { String(Int32(bitPattern: $0)) } ?? "NULL"), \(alias.device.map(SQLText.literal) ?? "NULL"))"
        }
        return """
            INSERT INTO sparkplug_aliases (sensor, group_id, edge_node, alias, name, datatype, device) VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (sensor, group_id, edge_node, alias) DO UPDATE
            SET name = excluded.name, datatype = excluded.datatype, device = excluded.device, updated = now()
            """
    }

    public static func load(sensor: String, on connection: StoreConnection) throws(StoreError) -> [SparkplugAlias] {
        try StoreError.wrap { () throws(PGError) in
            try connection.pg.query("SELECT group_id, edge_node, alias, encode(name, 'hex'), datatype, device FROM sparkplug_aliases WHERE sensor = $1", [sensor]).rows.map { row in
                let hex = Array(row[3]!.utf8)
                let name = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
                return SparkplugAlias(group: row[0]!, edgeNode: row[1]!, alias: UInt64(bitPattern: Int64(row[2]!)!), name: name,
                                      datatype: row[4].flatMap { Int32($0) }.map { UInt32(bitPattern: $0) }, device: row[5])
            }
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
