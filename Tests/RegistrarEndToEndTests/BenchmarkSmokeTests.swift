import Foundation
import RegistrarTesting
import Testing

/// Whether wrk is installed (CI installs it; locally `apt-get install wrk`).
let wrkAvailable: Bool = FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/wrk")

extension EndToEnd {
    @Suite("Benchmark suite smoke test")
    struct BenchmarkSmokeTests {
        @Test("Benchmarks/run.sh --quick runs every scenario against the built binary without errors",
              .enabled(if: wrkAvailable, "wrk is not installed: apt-get install wrk"))
        func quick() throws {
            _ = try Self.runQuick([])
        }

        @Test("Benchmarks/run.sh --quick --codec times each JSON operation of the built binary")
        func quickCodec() throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let (status, output, errors) = try runProcess("/bin/bash", [root.appendingPathComponent("Benchmarks/run.sh").path, "--quick", "--codec",
                                                                       "--binary", ServerProcess.binaryURL.path])
            #expect(status == 0, "run.sh --codec failed:\n\(output)\n\(errors)")
            for operation in ["parse the body", "metadata from the body", "decode a stored client", "write the metadata", "write the stored document", "a client's search terms",
                              "split an access token", "sign a registration token", "sign an access token"] {
                let row = output.split(separator: "\n").first { $0.hasPrefix(operation + " ") }
                let nanoseconds = row.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
                #expect((nanoseconds ?? 0) > 0, "no timing for \(operation):\n\(output)")
            }
        }

        @Test("Benchmarks/compare.sh --quick runs two builds in turn on their own seeded databases and gives each a median row",
              .enabled(if: wrkAvailable, "wrk is not installed: apt-get install wrk"))
        func quickCompare() throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let binary = ServerProcess.binaryURL.path
            let (status, output, errors) = try runProcess("/bin/bash", [root.appendingPathComponent("Benchmarks/compare.sh").path, "update",
                                                                       "first=\(binary)", "second=\(binary)", "--quick"])
            #expect(status == 0, "compare.sh failed:\n\(output)\n\(errors)")
            let rows = output.split(separator: "\n").map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
            // One run of each build (A then B), then the medians: every row with requests and no errors.
            let runs = rows.filter { $0.first == "first" || $0.first == "second" }
            #expect(runs.map { $0[0] } == ["first", "second", "first", "second"], "\(output)")
            for row in runs {
                #expect(row.count == 8 && (Double(row[2]) ?? 0) > 0 && row[6] == "0" && (Double(row[7]) ?? 0) > 0, "\(row)")
            }
        }

        /// Runs `Benchmarks/run.sh --quick` with `arguments` against the built binary, expects it to
        /// succeed with a result and no errors for every scenario, and returns its stderr.
        static func runQuick(_ arguments: [String]) throws -> String {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let (status, output, errors) = try runProcess("/bin/bash", [root.appendingPathComponent("Benchmarks/run.sh").path, "--quick"]
                                                                       + arguments + ["--binary", ServerProcess.binaryURL.path])
            #expect(status == 0, "run.sh failed:\n\(output)\n\(errors)")
            for scenario in ["noop", "register", "read", "update", "token", "introspect", "delete"] {
                let row = output.split(separator: "\n").first { $0.hasPrefix("| \(scenario) ") }
                #expect(row != nil, "no result for \(scenario)")
                // The errors column is the seventh; a quick run must have none. The fourth is the
                // share of the no-op run just before the scenario, and that run's requests/s.
                let cells = row?.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
                #expect(cells.count > 6 && cells[6] == "0", "errors in \(scenario): \(row ?? "")")
                let before = cells.count > 3 ? cells[3].split(separator: " ") : []
                #expect(before.count == 3 && before[0].hasSuffix("%") && before[1] == "of" && (Double(before[2]) ?? 0) > 0,
                        "no share of the no-op before \(scenario): \(row ?? "")")
            }
            return errors
        }

        @Test("Benchmarks/run.sh --quick --store postgres runs every scenario without errors and drops the database it made",
              .enabled(if: wrkAvailable && TestPostgres.isConfigured, "needs wrk and REGISTRAR_TEST_POSTGRES_URL"))
        func quickPostgres() async throws {
            let server = try #require(TestPostgres.url)
            let errors = try Self.runQuick(["--store", "postgres"])
            // The database it seeded is gone: connecting to it fails.
            let dropped = errors.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("dropped the benchmark database ") else { return nil }
                return String(line.dropFirst("dropped the benchmark database ".count))
            }
            #expect(dropped.count == 1, "run.sh did not report dropping its database:\n\(errors)")
            for name in dropped {
                var components = try #require(URLComponents(string: server))
                components.path = "/" + name
                let url = try #require(components.string)
                await #expect(throws: (any Error).self, "the benchmark database \(name) is still there") {
                    try await TestPostgres.execute("SELECT 1", on: url)
                }
            }
        }
    }
}
