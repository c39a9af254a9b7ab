import Foundation
import Postgres
import StorageCore

/// The client certificates issued to devices (`telemetry devices cert`), by serial, in PostgreSQL
/// (`device_certificates`). A certificate is issued only to a device that has a credential, and revoking
/// the credential revokes its certificates in the same transaction; broker-sync writes the revoked ones
/// into the certificate listener's CRL, which mosquitto 2.0 re-reads on SIGHUP, so a revoked certificate
/// no longer completes a TLS handshake. Keyed by serial, not by CN: a device added again after a
/// revocation does not get its old certificates back.
public enum DeviceCertificates {

    /// A revoked certificate, with its times as openssl's CA database writes them (`YYMMDDHHMMSSZ`).
    public struct Revoked: Sendable, Equatable {
        public var serial: String
        public var device: String
        public var notAfter: String
        public var revokedAt: String
        /// When it was revoked, µs since 1970: broker-sync disconnects a device's live session once.
        public var revokedMicros: Int64
    }

    /// Records a certificate just issued; refused (nothing recorded) when the device has no credential.
    public static func record(serial: String, device: String, days: Int, on connection: StoreConnection) throws(StoreError) {
        let recorded = try StoreError.wrap { () throws(PGError) in
            try connection.pg.query("""
                INSERT INTO device_certificates (serial, device, not_after)
                SELECT $1, device, now() + make_interval(days => $3::int) FROM device_credentials WHERE device = $2
                """, [serial, device, String(days)])
        }
        guard recorded.affectedRows == 1 else { throw StoreError(refusal: "no_credential", "device \(device) has no credential") }
    }

    /// Marks a device's certificates revoked (in the caller's transaction: the credential's revocation).
    static func revoke(device: String, _ pg: PGConnection) throws(PGError) {
        try pg.query("UPDATE device_certificates SET revoked = now() WHERE device = $1 AND revoked IS NULL", [device])
    }

    /// Every revoked certificate that has not expired (an expired one is refused anyway).
    public static func revoked(on connection: StoreConnection) throws(StoreError) -> [Revoked] {
        let rows = try StoreError.wrap { () throws(PGError) in
            try connection.pg.query("""
                SELECT serial, device, to_char(not_after AT TIME ZONE 'UTC', 'YYMMDDHH24MISS"Z"'),
                       to_char(revoked AT TIME ZONE 'UTC', 'YYMMDDHH24MISS"Z"'), (extract(epoch FROM revoked) * 1000000)::int8
                FROM device_certificates WHERE revoked IS NOT NULL AND not_after > now() ORDER BY serial
                """)
        }
        return (0..<rows.count).map { row in
            Revoked(serial: rows[row, 0] ?? "", device: rows[row, 1] ?? "", notAfter: rows[row, 2] ?? "", revokedAt: rows[row, 3] ?? "",
                    revokedMicros: Int64(rows[row, 4] ?? "") ?? 0)
        }
    }
}
