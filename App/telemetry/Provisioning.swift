import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `telemetry emulate --provision`: the emulator's devices get credentials through the REST API, as an
/// operator's provisioning would (POST /v1/devices/credentials, admin token), all in one call.
enum Provisioning {
    static func provision(devices: [String], sensors: [String], api: String, token: String) async throws -> [String: String] {
        guard let url = URL(string: api.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/v1/devices/credentials") else {
            throw ValidationError("--api: not a URL: \(api)")
        }
        var request = URLRequest(url: url, timeoutInterval: 60)
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["devices": devices.map { ["device": $0, "sensors": sensors] }])
        let data: Data, response: URLResponse
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            throw CommandFailure("--provision: cannot reach the query service at \(api): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        guard status == 200, let issued = body?["credentials"] as? [[String: Any]] else {
            let reason = (body?["error"] as? [String: Any])?["message"] as? String ?? String(decoding: data.prefix(300), as: UTF8.self)
            let hint = status == 401 || status == 403 ? " (an admin token is needed: --admin-token)" : ""
            throw CommandFailure("--provision: \(api) answered \(status): \(reason)\(hint)")
        }
        var credentials: [String: String] = [:]
        for entry in issued {
            if let device = entry["device"] as? String, let password = entry["password"] as? String { credentials[device] = password }
        }
        return credentials
    }
}
