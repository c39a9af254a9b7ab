import CLibCrypto
import Foundation

/// A password kept as mosquitto 2.0 verifies it from its `password_file`: PBKDF2-HMAC-SHA512 with a
/// random 12-byte salt, written `$7$<iterations>$<salt, base64>$<64-byte hash, base64>` (the format of
/// `mosquitto_passwd`). The platform stores only this, in PostgreSQL and in the broker's file.
///
/// 101 iterations, mosquitto's own default: the platform issues 192-bit random passwords, which no
/// number of iterations makes more or less guessable, while the broker pays the iterations on every
/// CONNECT (a fleet reconnecting after a broker restart) and provisioning pays them per device.
public struct PasswordHash: Sendable, Hashable, CustomStringConvertible {
    public static let defaultIterations = 101
    public let iterations: Int
    public let salt: [UInt8]
    public let hash: [UInt8]

    public var description: String { "$7$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())" }

    /// A new hash of `password` with a fresh random salt.
    public init(password: String, iterations: Int = defaultIterations) throws(CredentialError) {
        let salt = try Self.randomBytes(12)
        self.init(iterations: iterations, salt: salt, hash: try Self.derive(password, salt: salt, iterations: iterations))
    }

    init(iterations: Int, salt: [UInt8], hash: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.hash = hash
    }

    /// Reads the `$7$...` text back; nil when it is not one.
    public init?(parsing text: String) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "7", let iterations = Int(parts[2]), iterations > 0,
              let salt = Data(base64Encoded: String(parts[3])), let hash = Data(base64Encoded: String(parts[4])), hash.count == 64 else { return nil }
        self.init(iterations: iterations, salt: Array(salt), hash: Array(hash))
    }

    /// Whether `password` hashes to this, compared in constant time.
    public func verifies(_ password: String) -> Bool {
        guard let candidate = try? Self.derive(password, salt: salt, iterations: iterations) else { return false }
        return constantTimeEqual(candidate, hash)
    }

    static func derive(_ password: String, salt: [UInt8], iterations: Int) throws(CredentialError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 64)
        let bytes = Array(password.utf8)
        let status = bytes.withUnsafeBufferPointer { password in
            salt.withUnsafeBufferPointer { salt in
                password.withMemoryRebound(to: CChar.self) { password in
                    PKCS5_PBKDF2_HMAC(password.baseAddress, Int32(password.count), salt.baseAddress, Int32(salt.count), Int32(iterations),
                                      EVP_sha512(), Int32(output.count), &output)
                }
            }
        }
        guard status == 1 else { throw CredentialError(code: "crypto_failed", message: "PBKDF2 failed in libcrypto") }
        return output
    }

    static func randomBytes(_ count: Int) throws(CredentialError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw CredentialError(code: "crypto_failed", message: "no random bytes from libcrypto") }
        return bytes
    }

    /// A new password: 24 random bytes as 32 characters of URL-safe base64 (no `:` for the broker's file).
    public static func randomPassword() throws(CredentialError) -> String {
        Data(try randomBytes(24)).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}

/// Equal bytes, in time that depends only on the lengths (tokens and hashes are compared with this).
public func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}

