// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "registrar",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "registrar", targets: ["registrar"]),
        .library(name: "RegistrarCore", targets: ["RegistrarCore"]),
        .library(name: "RegistrarSQLite", targets: ["RegistrarSQLite"]),
        .library(name: "RegistrarHTTP", targets: ["RegistrarHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/vapor/jwt-kit", exact: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/vapor/sql-kit", exact: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", exact: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit", exact: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
    ],
    targets: [
        // The domain: metadata model, validation, credentials, registration service, store protocol.
        // No HTTP and no SQL in here.
        .target(
            name: "RegistrarCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The SQL shared by every SQL store (sql-kit is the one SQL layer): queries and the migrator.
        .target(
            name: "RegistrarSQL",
            dependencies: [
                "RegistrarCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The embedded store: SQLite through sql-kit, with versioned migrations.
        .target(
            name: "RegistrarSQLite",
            dependencies: [
                "RegistrarCore",
                "RegistrarSQL",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The shared store for several instances: PostgreSQL through sql-kit and a PostgresClient pool.
        .target(
            name: "RegistrarPostgres",
            dependencies: [
                "RegistrarCore",
                "RegistrarSQL",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Outbound HTTP: fetching clients' jwks_uri with SSRF protection.
        .target(
            name: "RegistrarOutbound",
            dependencies: [
                "RegistrarCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The only target that knows HTTP.
        .target(
            name: "RegistrarHTTP",
            dependencies: [
                "RegistrarCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "registrar",
            dependencies: [
                "RegistrarCore",
                "RegistrarSQL",
                "RegistrarSQLite",
                "RegistrarPostgres",
                "RegistrarHTTP",
                "RegistrarOutbound",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support shared by the test targets: the store conformance suite, a fixed clock, a
        // predictable random source. Not part of any product.
        .target(
            name: "RegistrarTesting",
            dependencies: [
                "RegistrarCore",
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistrarCoreTests",
            dependencies: [
                "RegistrarCore", "RegistrarTesting", .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistrarSQLiteTests",
            dependencies: ["RegistrarCore", "RegistrarSQL", "RegistrarSQLite", "RegistrarTesting", .product(name: "SQLKit", package: "sql-kit"),
                           .product(name: "SQLiteKit", package: "sqlite-kit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistrarPostgresTests",
            dependencies: ["RegistrarCore", "RegistrarSQL", "RegistrarPostgres", "RegistrarTesting", .product(name: "SQLKit", package: "sql-kit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RegistrarHTTPTests",
            dependencies: [
                "RegistrarCore",
                "RegistrarHTTP",
                "RegistrarSQL",
                "RegistrarSQLite",
                "RegistrarOutbound",
                "RegistrarTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        // Starts the real `registrar` binary on loopback ports.
        .testTarget(
            name: "RegistrarEndToEndTests",
            dependencies: [
                "registrar",
                "RegistrarCore",
                "RegistrarTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
