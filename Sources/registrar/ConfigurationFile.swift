import Foundation
import RegistrarCore
import Yams

/// Reads the configuration file: YAML (`.yaml`, `.yml`, anything else) or JSON (`.json`).
enum ConfigurationFile {
    static func load(_ path: String) throws -> RegistrarSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(member: "", problem: "cannot read the configuration file \(path)")
        }
        let root: JSONValue
        if path.lowercased().hasSuffix(".json") {
            do { root = try JSONParser.parse(Array(data)) } catch {
                throw ConfigurationError(member: "", problem: "\(path) is not valid JSON: \(error.description)")
            }
        } else {
            let text = String(decoding: data, as: UTF8.self)
            let loaded: Any?
            do { loaded = try Yams.load(yaml: text, Self.resolver) } catch {
                throw ConfigurationError(member: "", problem: "\(path) is not valid YAML: \(error)")
            }
            root = try json(loaded ?? [String: Any](), path: "")
        }
        guard case .object(let object) = root else {
            throw ConfigurationError(member: "", problem: "\(path) must hold a mapping of members at the top level")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        // Every file a configuration names is found relative to the configuration file's folder.
        func resolve(_ file: String) -> String { file.hasPrefix("/") ? file : folder.appendingPathComponent(file).path }
        var settings = try RegistrarSettings(json: object) { file in
            guard let contents = FileManager.default.contents(atPath: resolve(file)) else {
                throw ConfigurationError(member: "", problem: "cannot read \(resolve(file))")
            }
            return Array(contents)
        }
        settings.sealingKeyFile = settings.sealingKeyFile.map(resolve)
        if let database = settings.database, !database.hasPrefix("postgres://"), !database.hasPrefix("postgresql://"),
           database != ":memory:", !database.hasPrefix("file:"), !database.trimmingCharacters(in: .whitespaces).isEmpty {
            settings.database = resolve(database)
        }
        return settings
    }

    /// YAML's resolution, with only `true` and `false` as booleans: YAML 1.1 also reads `yes`,
    /// `no`, `on`, `off` and their capitalised forms as booleans, which the documentation refuses
    /// (they stay strings here, and a string where a boolean belongs is an error).
    static let resolver: Resolver = {
        guard let resolver = try? Resolver.default.replacing(.bool, with: "^(?:true|false)$") else { return .default }
        return resolver
    }()

    /// YAML's resolved values as JSON values.
    static func json(_ value: Any, path: String) throws -> JSONValue {
        switch value {
        case is NSNull: return .null
        case let b as Bool: return .bool(b)
        case let i as Int: return .int(Int64(i))
        case let d as Double: return d == d.rounded() && abs(d) < 9e15 ? .int(Int64(d)) : .double(d)
        case let s as String: return .string(s)
        case let a as [Any]: return .array(try a.enumerated().map { try json($0.element, path: "\(path)[\($0.offset)]") })
        case let o as [String: Any]:
            var object = JSONObject()
            for key in o.keys.sorted() { object[key] = try json(o[key]!, path: path.isEmpty ? key : "\(path).\(key)") }
            return .object(object)
        case let o as [AnyHashable: Any]:
            var object = JSONObject()
            for (key, element) in o {
                guard let name = key.base as? String else {
                    throw ConfigurationError(member: path, problem: "member names must be strings, not \(key.base)")
                }
                object[name] = try json(element, path: path.isEmpty ? name : "\(path).\(name)")
            }
            return .object(object)
        default:
            throw ConfigurationError(member: path, problem: "unsupported value \(value)")
        }
    }
}
