import ServiceLifecycle

/// Runs `services` (their `run()`) while `body` runs, then cancels them and waits until they returned:
/// what a `ServiceGroup` does for the services, without its signal handling, for a test's scope.
public func withRunning<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services { group.addTask { try await service.run() } }
        do {
            let result = try await body()
            group.cancelAll()
            try await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
