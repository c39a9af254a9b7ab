import Foundation
import Postgres
import SensorModel
import StorageCore
import Synchronization

/// Device credentials in PostgreSQL (`device_credentials`). Every change NOTIFYs `channel` in its own
/// transaction, so the broker's files (BrokerSync) follow at commit, never for a rollback.
public enum DeviceCredentials {
    public static let channel = "telemetry_credentials"
    public static let maxBatch = 100_000

    /// Makes the tables if they are missing (the services' migration makes them too).
    public static func prepare(on connection: StoreConnection) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in
            _ = try connection.pg.execute(Schema.deviceCredentialsTable)
            _ = try connection.pg.execute(Schema.deviceCertificatesTable)
        }
    }

    /// Checks a device id and its sensor types against the topic grammar and the catalog.
    public static func validate(device: String, sensors: [String]?, catalog: Catalog) throws(CredentialError) {
        guard Topic.isValidDevice(device) else {
            throw CredentialError(code: "invalid_device", message: "must be \(Topic.deviceRule)")
        }
        guard !BrokerFiles.isReserved(device: device) else {
            throw CredentialError(code: "invalid_device", message: "'ingest-…', '\(BrokerSync.probeUser)…' and 'telemetry', in any case, are reserved for the platform's own broker accounts and topics")
        }
        if let sensors {
            guard !sensors.isEmpty else { throw CredentialError(code: "invalid_sensors", message: "must name at least one sensor type (null: every type)") }
            var seen = Set<String>()
            for sensor in sensors {
                guard catalog[sensor] != nil else { throw CredentialError(code: "invalid_sensors", message: "unknown sensor type '\(sensor)'") }
                guard seen.insert(sensor).inserted else { throw CredentialError(code: "invalid_sensors", message: "lists '\(sensor)' twice") }
            }
        }
    }

    /// Creates or rotates one device's credential; returns it with its new password.
    public static func issue(device: String, sensors: SensorRights, rotating: Bool = true, on connection: StoreConnection) throws(StoreError) -> IssuedCredential {
        try issue([(device, sensors)], rotating: rotating, on: connection)[0]
    }

    /// Creates or rotates many at once, all or nothing (one statement, one transaction, one notification).
    /// - Parameter rotating: false refuses a device that already has a credential (nothing is changed).
    public static func issue(_ devices: [(device: String, sensors: SensorRights)], rotating: Bool = true,
                             on connection: StoreConnection) throws(StoreError) -> [IssuedCredential] {
        let (passwords, hashes) = try newPasswords(devices.count)
        // Sensor lists travel as one text each ("" for all, NULL for unchanged), split again in SQL.
        let sensors: [String?] = devices.map {
            switch $0.sensors {
            case .all: ""
            case .only(let list): list.joined(separator: ",")
            case .unchanged: nil
            }
        }
        let rows = try StoreError.wrap { () throws(PGError) in
            try connection.pg.transaction { (pg) throws(PGError) -> PGResult in
                let result = try pg.query("""
                    INSERT INTO device_credentials AS c (device, sensors, password_hash)
                    SELECT d, CASE WHEN s IS NULL THEN old.sensors WHEN s = '' THEN NULL ELSE string_to_array(s, ',') END, h
                    FROM unnest($1::text[], $2::text[], $3::text[]) AS input(d, s, h) LEFT JOIN device_credentials old ON old.device = input.d
                    ON CONFLICT (device) DO \(rotating ? "UPDATE SET sensors = excluded.sensors, password_hash = excluded.password_hash, rotated = now()" : "NOTHING")
                    RETURNING device, array_to_string(sensors, ','), password_hash,
                              (extract(epoch FROM created) * 1000000)::int8, (extract(epoch FROM rotated) * 1000000)::int8, xmax = 0
                    """, [arrayLiteral(devices.map(\.device)), arrayLiteral(sensors), arrayLiteral(hashes)])
                if result.count > 0 { try notifyChanged(pg) }
                return result
            }
        }
        var byDevice: [String: (DeviceCredential, Bool)] = [:]
        for row in 0..<rows.count {
            let credential = credential(rows, row)
            byDevice[credential.device] = (credential, rows[row, 5] == "t")
        }
        return try zip(devices, passwords).map { (entry, password) throws(StoreError) in
            guard let (credential, created) = byDevice[entry.device] else {
                throw rotating
                    ? StoreError(refusal: "not_stored", "device \(entry.device) was not stored")
                    : StoreError(refusal: "already_provisioned", "device \(entry.device) already has a credential")
            }
            return IssuedCredential(credential: credential, password: password, created: created)
        }
    }

    /// `count` new passwords and their hashes; the hashing (PBKDF2, the cost of provisioning) on every core.
    static func newPasswords(_ count: Int) throws(StoreError) -> ([String], [String]) {
        let chunk = 500
        let chunks = (count + chunk - 1) / chunk
        let results = Mutex<[Int: Result<[(String, String)], CredentialError>]>([:])
        DispatchQueue.concurrentPerform(iterations: chunks) { index in
            let made = Result { () throws(CredentialError) -> [(String, String)] in
                try (index * chunk..<min(count, (index + 1) * chunk)).map { _ throws(CredentialError) in
                    let password = try PasswordHash.randomPassword()
                    return (password, try PasswordHash(password: password).description)
                }
            }
            results.withLock { $0[index] = made }
        }
        var passwords: [String] = [], hashes: [String] = []
        passwords.reserveCapacity(count)
        hashes.reserveCapacity(count)
        for index in 0..<chunks {
            switch results.withLock({ $0[index]! }) {
            case .success(let pairs):
                for (password, hash) in pairs { passwords.append(password); hashes.append(hash) }
            case .failure(let error):
                throw StoreError(refusal: error.code, error.message)
            }
        }
        return (passwords, hashes)
    }

    public static func get(device: String, on connection: StoreConnection) throws(StoreError) -> DeviceCredential? {
        let rows = try StoreError.wrap { () throws(PGError) in try connection.pg.query(selectColumns + " WHERE device = $1", [device]) }
        return rows.count == 0 ? nil : credential(rows, 0)
    }

    /// Revokes (deletes) a device's credential, and its client certificates with it; false when it had none.
    public static func revoke(device: String, on connection: StoreConnection) throws(StoreError) -> Bool {
        try StoreError.wrap { () throws(PGError) in
            try connection.pg.transaction { (pg) throws(PGError) -> Bool in
                let deleted = try pg.query("DELETE FROM device_credentials WHERE device = $1 RETURNING device", [device]).count == 1
                if deleted {
                    try DeviceCertificates.revoke(device: device, pg)
                    try notifyChanged(pg)
                }
                return deleted
            }
        }
    }

    /// Tells broker-sync, at this transaction's commit (never for a rollback), that the credentials changed.
    private static func notifyChanged(_ pg: PGConnection) throws(PGError) {
        try pg.query("SELECT pg_notify($1, 'changed')", [channel])
    }

    /// Credentials in device order after `cursor` (a device id), at most `limit`.
    public static func list(limit: Int, after cursor: String?, on connection: StoreConnection) throws(StoreError) -> [DeviceCredential] {
        let rows = try StoreError.wrap { () throws(PGError) in
            try connection.pg.query(selectColumns + " WHERE device > $1 ORDER BY device LIMIT $2", [cursor ?? "", String(limit)])
        }
        return (0..<rows.count).map { credential(rows, $0) }
    }

    /// Every credential, for the broker's files.
    public static func all(on connection: StoreConnection) throws(StoreError) -> [DeviceCredential] {
        let rows = try StoreError.wrap { () throws(PGError) in try connection.pg.query(selectColumns + " ORDER BY device") }
        return (0..<rows.count).map { credential(rows, $0) }
    }

    static let selectColumns = """
        SELECT device, array_to_string(sensors, ','), password_hash,
               (extract(epoch FROM created) * 1000000)::int8, (extract(epoch FROM rotated) * 1000000)::int8
        FROM device_credentials
        """

    private static func credential(_ rows: PGResult, _ row: Int) -> DeviceCredential {
        let sensors = rows[row, 1].flatMap { $0.isEmpty ? nil : $0.split(separator: ",").map(String.init) }
        return DeviceCredential(device: rows[row, 0] ?? "", sensors: sensors, passwordHash: rows[row, 2] ?? "",
                                created: Int64(rows[row, 3] ?? "") ?? 0, rotated: Int64(rows[row, 4] ?? "") ?? 0)
    }

    /// A PostgreSQL array literal of texts, every element quoted (device ids and sensor names hold no
    /// quotes or backslashes, and hashes none either; escaped anyway), nil as NULL.
    static func arrayLiteral(_ values: [String?]) -> String {
        "{" + values.map { value in
            value.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" } ?? "NULL"
        }.joined(separator: ",") + "}"
    }
}
