import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging
import RegistrarCore
import RegistrarHTTP
import RegistrarOutbound
import ServiceLifecycle
import UnixSignals

/// `registrar serve`: runs the server until SIGINT or SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Registrar server.",
        discussion: """
            Every option can also be set through the environment variable named in its help, and
            most in the configuration file (--config). A flag wins over the environment, which wins
            over the file, which wins over the default.

            Examples:
              registrar serve
              registrar serve --config /etc/registrar/registrar.yaml
              registrar serve --host 0.0.0.0 --port 8443 --issuer https://id.example.org --database /var/lib/registrar/db.sqlite
            """)

    @Option(name: .long, help: "Address to listen on. [env: REGISTRAR_HOST] (default: 127.0.0.1)")
    var host: String?

    @Option(name: .long, help: "Port to listen on. [env: REGISTRAR_PORT] (default: 8080)")
    var port: Int?

    @Option(name: .long, help: "Issuer URL; every URL the server hands out is built from it. [env: REGISTRAR_ISSUER] (default: http://<host>:<port>)")
    var issuer: String?

    @OptionGroup var databaseOptions: DatabaseOptions

    @Option(name: .long, help: "Algorithm that signs registration access tokens: HS256 (a server secret), ES256 or RS256 (the published keys). [env: REGISTRAR_TOKEN_ALGORITHM] (default: HS256)")
    var tokenAlgorithm: String?

    @Option(name: .long, help: "File holding the 32-byte key (base64) that seals client_secret_jwt secrets; without it the key is kept in the database. [env: REGISTRAR_SEALING_KEY_FILE]")
    var sealingKeyFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical. [env: REGISTRAR_LOG_LEVEL] (default: info)")
    var logLevel: String?

    @Option(name: .long, help: "Log format: text or json (one object per line). [env: REGISTRAR_LOG_FORMAT] (default: text)")
    var logFormat: String?

    @Flag(name: .long, help: ArgumentHelp("Serve POST /bench/noop, the ceiling of the benchmark suite. Never in production.", visibility: .hidden))
    var benchmarkRoutes = false

    func run() async throws {
        let settings = try databaseOptions.settings()
        let host = host ?? Environment.value("REGISTRAR_HOST") ?? settings.host ?? "127.0.0.1"
        let portValue = try port ?? Environment.integer("REGISTRAR_PORT") ?? settings.port ?? 8080
        guard (1...65535).contains(portValue) else { throw ValidationError("--port must be between 1 and 65535") }
        let hostForURL = host.contains(":") ? "[\(host)]" : host
        let issuer = issuer ?? Environment.value("REGISTRAR_ISSUER") ?? settings.issuer ?? "http://\(hostForURL):\(portValue)"
        try Self.checkIssuer(issuer)
        let algorithmName = tokenAlgorithm ?? Environment.value("REGISTRAR_TOKEN_ALGORITHM") ?? settings.registrationTokenAlgorithm?.rawValue ?? RegistrationTokenAlgorithm.default.rawValue
        guard let algorithm = RegistrationTokenAlgorithm(name: algorithmName) else {
            throw ValidationError("--token-algorithm must be \(RegistrationTokenAlgorithm.names), not \(algorithmName)")
        }
        let levelName = logLevel ?? Environment.value("REGISTRAR_LOG_LEVEL") ?? settings.logLevel ?? "info"
        guard let level = Logger.Level(rawValue: levelName.lowercased()) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        _ = try databaseOptions.resolvedPoolSize(settings)
        _ = try databaseOptions.resolvedTimeout(settings)
        _ = try databaseOptions.resolvedDurability(settings)
        let format = logFormat ?? Environment.value("REGISTRAR_LOG_FORMAT") ?? settings.logFormat
        guard ["text", "json"].contains(format) else { throw ValidationError("--log-format must be text or json") }
        LoggingSystem.bootstrap { label in
            if format == "json" {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = TextLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "registrar")
        logger.logLevel = level

        let sealingKey = try (sealingKeyFile ?? Environment.value("REGISTRAR_SEALING_KEY_FILE") ?? settings.sealingKeyFile).map(Self.readSealingKey)
        #if canImport(Glibc)
        // glibc gives every thread that allocates its own heap arena (up to 8 per core); with the
        // event loops, the task pool and SQLite's threads that fragments memory and inflates the
        // resident size for no speed gain measured here. Two arenas, unless the operator set
        // MALLOC_ARENA_MAX.
        if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil, let mallopt = dlsym(dlopen(nil, RTLD_NOW), "mallopt") {
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
            _ = unsafeBitCast(mallopt, to: MallOpt.self)(arenaMax, 2)
        }
        #endif
        let database: Database
        do {
            database = try await Database.open(options: databaseOptions, settings: settings, logger: logger, noteCreation: false)
        } catch let error as ValidationError {
            throw error  // a wrong command line: exit 64, as for every command
        } catch {
            FileHandle.standardError.write(Data("registrar: cannot open the database: \(error)\n".utf8))
            throw ExitCode(1)
        }
        do {
            let clock = SystemWallClock()
            let keyRing = KeyRing(try await ServerKeys.load(from: database.store, clock: clock, random: SystemRandomSource(), sealingKey: sealingKey))
            var configuration = ServerConfiguration(issuer: issuer)
            configuration.registrationTokenAlgorithm = algorithm
            configuration.clientSecretLifetime = settings.registration.clientSecretLifetime
            let statements = settings.trustedStatementIssuers.isEmpty
                ? nil : try await SoftwareStatementVerifier(trustedIssuers: settings.trustedStatementIssuers)
            let service = RegistrationService(configuration: configuration, store: database.store, keyRing: keyRing,
                                              settings: settings, statements: statements, clock: clock, logger: logger)
            let fetch = settings.jwksFetch
            var fetchSettings = JWKSFetcher.Settings()
            fetchSettings.allowHTTP = fetch.allowHTTP
            fetchSettings.allowPrivateNetworks = fetch.allowPrivateNetworks
            fetchSettings.timeout = fetch.timeout
            fetchSettings.maximumBytes = fetch.maximumBytes
            fetchSettings.maximumKeys = configuration.limits.maximumJWKSKeys
            fetchSettings.cacheLifetime = fetch.cacheLifetime
            fetchSettings.minimumRefreshInterval = fetch.minimumRefreshInterval
            let audiences = settings.tokens.assertionAudience.audiences(issuer: configuration.issuer)
            let authenticator = ClientAuthenticator(
                store: database.store, tokenState: database.store, keys: keyRing,
                keySource: JWKSFetcher(settings: fetchSettings, clock: clock, logger: logger), clock: clock, uses: service.uses,
                audiences: audiences.values, singleAudience: audiences.single, logger: logger)
            let tokens = TokenService(configuration: configuration, settings: settings.tokens, store: database.store, tokenState: database.store,
                                      keys: keyRing, authenticator: authenticator, clock: clock, random: SystemRandomSource(), logger: logger,
                                      revocationLookup: database.store as? any ClientRevocationLookup)
            let readyLine = "Registrar is ready at \(configuration.issuer) (database: \(database.description), registration: \(settings.registration.mode.rawValue))\n"
            var httpOptions = HTTPOptions(settings: settings, clock: clock)
            httpOptions.benchmarkRoutes = benchmarkRoutes || Environment.value("REGISTRAR_BENCHMARK_ROUTES") == "1"
            let app = buildApplication(service: service, tokens: tokens, options: httpOptions,
                                       host: host, port: portValue, logger: logger) { _ in
                FileHandle.standardOutput.write(Data(readyLine.utf8))
            }
            let housekeeping = Housekeeping.start(service: service, tokenState: database.store, settings: settings, logger: logger)
            do {
                // SIGTERM lets the requests in flight finish, but for at most `shutdownGrace`: a
                // client still sending its request (or that stopped sending) would otherwise hold
                // the process until the idle timeout. Then the server is cancelled, and the audit
                // events and last-use times still pending are written below either way.
                var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
                group.maximumGracefulShutdownDuration = Self.shutdownGrace
                try await ServiceGroup(configuration: group).run()
            } catch {
                await housekeeping.stop()
                throw error
            }
            await housekeeping.stop()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        logger.info("stopped; database closed")
    }

    /// How long SIGTERM (or SIGINT) waits for the requests in flight before the server is cancelled.
    static let shutdownGrace: Duration = .seconds(10)

    static func checkIssuer(_ issuer: String) throws {
        guard let url = URL(string: issuer), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil, url.query == nil, url.fragment == nil
        else {
            throw ValidationError("--issuer must be an http(s) URL without query or fragment, such as https://id.example.org")
        }
    }

    static func readSealingKey(_ path: String) throws -> [UInt8] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the sealing key file \(path)")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let standard = trimmed.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let padded = standard + String(repeating: "=", count: (4 - standard.count % 4) % 4)
        guard let data = Data(base64Encoded: padded), data.count == 32 else {
            throw ValidationError("the sealing key file \(path) must hold 32 bytes in base64 (for example: openssl rand -base64 32)")
        }
        return Array(data)
    }
}

/// Background work of a running server: writing last-use times in batches and reaping stale clients.
struct Housekeeping {
    let tasks: [Task<Void, Never>]
    let service: RegistrationService

    static let flushInterval: Duration = .seconds(5)

    /// Every instance reloads the signing keys this often, so that one that has not been asked to
    /// verify a token of a new key (which reloads at once) publishes it in its JWK Set soon too.
    static let keyReloadInterval: Duration = .seconds(10)
    static let purgeInterval: Duration = .seconds(600)
    static let clientCountInterval: Duration = .seconds(60)

    static func start(service: RegistrationService, tokenState: any TokenStateStore & KeyStore, settings: RegistrarSettings, logger: Logger) -> Housekeeping {
        var tasks: [Task<Void, Never>] = []
        service.keyRing.reloadsOnDemand(from: tokenState)
        // Keys rotated elsewhere (another instance, `registrar keys rotate`) are picked up here.
        tasks.append(Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keyReloadInterval)
                guard !Task.isCancelled else { break }
                do { try await service.keyRing.reload(from: tokenState) } catch where !Task.isCancelled {
                    logger.warning("could not reload signing keys; will retry", metadata: ["error": .string("\(error)")])
                } catch {}
            }
        })
        // Replay records and revocations are needed only until their tokens expire; audit events
        // until the retention period ends.
        let retention = settings.auditRetention
        tasks.append(Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: purgeInterval)
                guard !Task.isCancelled else { break }
                try? await tokenState.purgeExpiredTokenState(now: service.clock.now())
                if let audit = service.store as? any AuditStore {
                    _ = try? await audit.purgeAudit(before: Timestamp(milliseconds: service.clock.now().milliseconds - retention * 1000))
                }
            }
        })
        // The client count for the metrics, every minute.
        tasks.append(Task {
            while !Task.isCancelled {
                if let count = try? await service.store.countDynamicClients(policy: nil) { RegistrarMetrics.setClientCount(count) }
                try? await Task.sleep(for: clientCountInterval)
            }
        })
        // The audit trail is written in batches, every second.
        tasks.append(Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard !Task.isCancelled else { break }
                do { try await service.audit?.flush() } catch where !Task.isCancelled {
                    logger.warning("could not write audit events; will retry", metadata: ["error": .string("\(error)")])
                } catch {}
            }
        })
        tasks.append(Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: flushInterval)
                guard !Task.isCancelled else { break }
                do { try await service.uses.flush() } catch where !Task.isCancelled {
                    logger.warning("could not record client use; will retry", metadata: ["error": .string("\(error)")])
                } catch {}
            }
        })
        // Always: expired clients go even if lifetimes were removed from the configuration since;
        // never-used ones only when cleanup is enabled.
        let reaper = ClientReaper(store: service.store, cleanup: settings.registration.cleanup, clock: service.clock, logger: logger)
        let interval = Duration.seconds(settings.registration.cleanup.interval)
        tasks.append(Task {
            while !Task.isCancelled {
                do { try await reaper.runOnce() } catch where !Task.isCancelled {
                    logger.warning("client cleanup failed; will retry", metadata: ["error": .string("\(error)")])
                } catch {}
                try? await Task.sleep(for: interval)
            }
        })
        return Housekeeping(tasks: tasks, service: service)
    }

    /// Stops the loops and writes the uses still pending.
    func stop() async {
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        try? await service.uses.flush()
        try? await service.audit?.flush()
    }
}
