import Hummingbird

/// The query service's token rule for the platform's other HTTP ports (an ingest service's health and
/// metrics port): add it to the group of routes that need one of `tokens` (with none set, it lets all through).
public func bearerTokenAuth(tokens: [String]) -> some RouterMiddleware<BasicRequestContext> {
    BearerAuth(.read, readTokens: tokens, adminTokens: [])
}
