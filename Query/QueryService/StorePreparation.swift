import ServiceLifecycle

/// `QueryStore.prepare` as a service of the application: runs once at start, then waits for shutdown.
struct StorePreparation: Service {
    let store: QueryStore

    func run() async throws {
        await cancelWhenGracefulShutdown { await store.prepare() }
        try? await gracefulShutdown()
    }
}
