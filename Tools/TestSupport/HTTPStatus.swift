import Foundation

/// The status of a GET, with `Authorization: Bearer <token>` when a token is given; nil when nothing answers
/// within two seconds (blocking).
public func httpStatus(_ url: String, token: String? = nil) -> Int? {
    httpExchange("GET", url, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [], timeout: 2)?.status
}
