import Hummingbird

/// The query service's token rule for the platform's other HTTP ports (an ingest service's health and
/// metrics port): once tokens are set, every route but `/healthz` and `/readyz` needs one of them.
public func bearerTokenAuth(tokens: [String]) -> some RouterMiddleware<BasicRequestContext> {
    BearerAuth(readTokens: tokens)
}
