import Foundation

/// The certificate listener's CRL (mosquitto's `crlfile`): every revoked device certificate that has not
/// expired, signed by the CA that issues them. mosquitto 2.0.11 re-reads it on SIGHUP (a listener with
/// `require_certificate` and a `crlfile` rebuilds its TLS context), so broker-sync writes it with the
/// password and ACL files. It must exist before the broker starts (an empty list is written then).
public struct RevocationList: Sendable {
    public var file: String
    public var caCertificate: String
    public var caKey: String
    /// How long the list is valid: a listener refuses every certificate once its CRL has expired, and
    /// broker-sync writes it again only at a change or a start.
    public static let days = 3650

    public init(file: String, caCertificate: String, caKey: String) {
        self.file = file
        self.caCertificate = caCertificate
        self.caKey = caKey
    }

    /// Signs the list (openssl's CA database in a folder of its own beside the file, then `openssl ca
    /// -gencrl`) and renames it over the old one, so the broker never reads half a list.
    public func write(_ revoked: [DeviceCertificates.Revoked]) throws(CredentialError) {
        let work = file + ".tmp-\(getpid())"
        do { try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true) } catch {
            throw CredentialError(code: "write_failed", message: "cannot make \(work): \(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: work) }
        let index = revoked.map { "R\t\($0.notAfter)\t\($0.revokedAt)\t\($0.serial)\tunknown\t/CN=\($0.device)\n" }.joined()
        // A device may have several revoked certificates: the same subject more than once.
        let config = "[ca]\ndefault_ca = crl\n[crl]\ndatabase = \(work)/index.txt\ndefault_md = sha256\nunique_subject = no\n"
        do {
            try index.write(toFile: work + "/index.txt", atomically: false, encoding: .utf8)
            try config.write(toFile: work + "/ca.cnf", atomically: false, encoding: .utf8)
        } catch {
            throw CredentialError(code: "write_failed", message: "cannot write the CRL's database in \(work): \(error)")
        }
        try OpenSSL.run(["ca", "-gencrl", "-config", work + "/ca.cnf", "-keyfile", caKey, "-cert", caCertificate,
                         "-crldays", String(Self.days), "-out", work + "/crl.pem"])
        guard rename(work + "/crl.pem", file) == 0 else {
            throw CredentialError(code: "write_failed", message: "cannot replace \(file): \(String(cString: strerror(errno)))")
        }
    }
}
