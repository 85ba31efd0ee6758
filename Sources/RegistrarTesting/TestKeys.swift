public import RegistrarCore

/// Server keys generated once per test process (RSA generation takes a while) and shared.
public enum TestKeys {
    private static let shared = Task { () throws -> ServerKeys in
        try await ServerKeys.load(from: InMemoryClientStore(), clock: TestClock(), random: SeededRandom(seed: 7))
    }

    /// The shared keys.
    public static func keys() async throws -> ServerKeys { try await shared.value }
}
