import Foundation
import StorageCore

extension DeviceCertificates {
    /// Where `issue` wrote a device's private key (mode 600) and its certificate.
    public struct IssuedFiles: Sendable, Equatable {
        public var key: String
        public var certificate: String
    }

    /// Issues a client certificate with CN = the device id, signed by the devices' CA (`device_ca_file`,
    /// `device_ca_key_file`), for the broker's certificate listener, and records its serial so revoking the
    /// device's credential revokes it. Refused when the device has no credential: nothing is left behind.
    public static func issue(
        device: String, caCertificate: String, caKey: String, directory: String, days: Int, on connection: StoreConnection
    ) throws -> IssuedFiles {
        guard try DeviceCredentials.get(device: device, on: connection) != nil else {
            throw CredentialError(
                code: "no_credential",
                message: "device \(device) has no credential: `telemetry devices add \(device)` first (a certificate is revoked with it)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = IssuedFiles(key: "\(directory)/\(device).key", certificate: "\(directory)/\(device).crt")
        let request = "\(directory)/\(device).csr", extensions = "\(directory)/\(device).ext"
        try "extendedKeyUsage = clientAuth\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(atPath: request)
            try? FileManager.default.removeItem(atPath: extensions)
        }
        try OpenSSL.run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.key,
                         "-subj", "/CN=\(device)", "-out", request])
        chmod(files.key, 0o600)
        try OpenSSL.run(["x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey, "-CAcreateserial",
                         "-CAserial", "\(directory)/ca.srl", "-days", String(days), "-sha256", "-extfile", extensions, "-out", files.certificate])
        do {
            // openssl prints `serial=<hex>`: the certificate's entry in the CRL once it is revoked.
            let serial = try OpenSSL.run(["x509", "-in", files.certificate, "-noout", "-serial"])
                .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
            try record(serial: serial, device: device, days: days, on: connection)
        } catch {
            // A certificate that is not recorded could not be revoked: it must not be handed out.
            try? FileManager.default.removeItem(atPath: files.certificate)
            throw error
        }
        return files
    }
}
