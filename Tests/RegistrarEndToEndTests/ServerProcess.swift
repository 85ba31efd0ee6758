import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RegistrarCore
import Testing

/// The built `registrar` binary, started as a child process on a loopback port.
final class ServerProcess: @unchecked Sendable {
    let port: Int
    let databasePath: String
    let issuer: String
    let logPath: String
    let outputPath: String
    private var process: Process?

    /// The binary next to the test bundle (SwiftPM builds it for this test target), or
    /// `REGISTRAR_BINARY` when set.
    static var binaryURL: URL {
        if let path = ProcessInfo.processInfo.environment["REGISTRAR_BINARY"] { return URL(fileURLWithPath: path) }
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            bundleDirectory.appendingPathComponent("registrar"),
            bundleDirectory.deletingLastPathComponent().appendingPathComponent("registrar"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/registrar"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// A server on a free loopback port; `database` is a SQLite path or a PostgreSQL URL (default: a
    /// new SQLite file); `issuer` defaults to the server's own address (instances behind one load
    /// balancer share the balancer's).
    init(databasePath: String? = nil, issuer: String? = nil) throws {
        port = try Self.freeLoopbackPort()
        self.issuer = issuer ?? "http://127.0.0.1:\(port)"
        let folder = URL(fileURLWithPath: Self.scratchRoot).appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        self.databasePath = databasePath ?? folder.appendingPathComponent("data/registrar.sqlite").path
        logPath = folder.appendingPathComponent("stderr.log").path
        outputPath = folder.appendingPathComponent("stdout.log").path
    }

    /// The folder that holds the servers' files (databases, logs, configurations) of this test
    /// process; removed when the process exits (a server's database may outlive its process, for the
    /// next server of a test to open).
    static let scratchRoot: String = {
        atexit { try? FileManager.default.removeItem(atPath: scratchRootPath()) }
        return scratchRootPath()
    }()

    private static func scratchRootPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("registrar-e2e-\(getpid())").path
    }

    /// The configuration the tests run with unless they pass their own: no rate limits, since the
    /// tests send hundreds of requests from one address.
    static let unlimitedConfiguration = """
        registration:
          rate_limits:
            registrations: { per_minute: 0 }
            failed_tokens: { per_minute: 0 }
        """

    /// Writes a configuration file next to the server's logs and returns its path.
    func writeConfiguration(_ text: String) throws -> String {
        let path = URL(fileURLWithPath: logPath).deletingLastPathComponent().appendingPathComponent("registrar-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts the server and waits until it answers, failing after 30 seconds.
    func start(extraArguments: [String] = [], environment: [String: String] = [:], configuration: String? = nil) async throws {
        let configPath = try writeConfiguration(configuration ?? Self.unlimitedConfiguration)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let process = Process()
        process.executableURL = Self.binaryURL
        // On PostgreSQL, a database call is cut off at its deadline (3 s by default). The whole
        // suite runs in parallel on two cores, where a statement can take longer than that; tests
        // of the deadline pass their own.
        let deadline = databasePath.hasPrefix("postgres") && !extraArguments.contains("--database-timeout") ? ["--database-timeout", "30"] : []
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", String(port), "--issuer", issuer, "--database", databasePath,
                             "--config", configPath] + deadline + extraArguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        self.process = process
        let readyBy = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < readyBy {
            if !process.isRunning { throw Failure("the server exited early: \(log)") }
            if output.contains("ready") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure("the server did not become ready: \(log)")
    }

    /// Whether the process is still running.
    var isRunning: Bool { process?.isRunning ?? false }

    /// Sends a signal and waits for the process to exit; returns its exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) async throws -> Int32 {
        guard let process else { return 0 }
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw Failure("the server did not stop on signal \(signal)")
        }
        self.process = nil
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// A port the kernel just handed out on 127.0.0.1.
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Failure("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: HTTP

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
        var object: JSONObject? { (try? JSONParser.parse(body))?.objectValue }
    }

    func request(_ method: HTTPMethod, _ path: String, token: String? = nil, json: String? = nil,
                 form: String? = nil, basic: (String, String)? = nil) async throws -> Reply {
        // A full URL (a registration_client_uri) is sent to this instance, as a load balancer would.
        let relative = path.hasPrefix("http") ? (URLComponents(string: path)?.path ?? path) : path
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)" + relative)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        if let (id, secret) = basic {
            func encode(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(encode(id)):\(encode(secret))".utf8).base64EncodedString())
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
    }
}

extension ServerProcess {
    /// Sends `text` as it is on a new loopback connection, below any HTTP client, and returns the
    /// server's first response (read up to its `Content-Length`, or until the server closes the
    /// connection, or 5 s). With `closeAfterSending`, waits 0.3 s and closes the connection
    /// without reading anything, as a client that gives up in the middle of its request.
    func raw(_ text: String, closeAfterSending: Bool = false) throws -> String {
        let fd = try openConnection(sending: text, receiveTimeout: 5)
        defer { close(fd) }
        if closeAfterSending {
            usleep(300_000)
            return ""
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            received += chunk[..<count]
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n"),
               let length = text[..<end.lowerBound].split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") })
                   .flatMap({ Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }),
               text.utf8.count - text[..<end.upperBound].utf8.count >= length {
                break
            }
        }
        return String(decoding: received, as: UTF8.self)
    }
}

extension ServerProcess {
    /// A new loopback connection to the server, `text` sent on it, reads timing out after
    /// `receiveTimeout` seconds. The caller closes it.
    func openConnection(sending text: String, receiveTimeout: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(text.utf8)
        guard connected == 0, bytes.isEmpty || send(fd, bytes, bytes.count, 0) == bytes.count else {
            close(fd)
            throw Failure("cannot connect to or send to 127.0.0.1:\(port)")
        }
        return fd
    }

    /// Sends `text` on a new loopback connection, reads what comes back, and says whether the
    /// server closed the connection within `seconds` (`false`: it was still open when they ran out).
    func closesConnection(after text: String, within seconds: Int) throws -> (closed: Bool, received: String) {
        let fd = try openConnection(sending: text, receiveTimeout: seconds)
        defer { close(fd) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count == 0 { return (true, String(decoding: received, as: UTF8.self)) }
            if count < 0 { return (false, String(decoding: received, as: UTF8.self)) }
            received += chunk[..<count]
        }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
