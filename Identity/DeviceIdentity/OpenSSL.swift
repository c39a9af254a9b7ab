import Foundation

/// The `openssl` command (Debian's `openssl` package): issues devices' certificates and signs the CRL.
public enum OpenSSL {
    public static let path = "/usr/bin/openssl"

    /// Runs `openssl <arguments>`; returns what it printed, or throws with its error output.
    @discardableResult
    public static func run(_ arguments: [String]) throws(CredentialError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw CredentialError(code: "no_openssl", message: "cannot run \(path) (apt install openssl): \(error)")
        }
        // Both pipes drained before the wait: neither can fill and block openssl.
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CredentialError(code: "openssl_failed", message: "openssl \(arguments[0]) failed: \(message)")
        }
        return String(decoding: printed, as: UTF8.self)
    }
}
