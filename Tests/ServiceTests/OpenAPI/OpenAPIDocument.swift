import Foundation

/// The operations listed in `openapi.yaml`, read with a line-based parser of the `paths:`
/// section (two-space indentation, as the file is written), so no YAML library is needed.
enum OpenAPIDocument {
    struct Operation: Hashable, CustomStringConvertible {
        var method: String
        var path: String
        var operationID: String?

        var description: String { "\(method.uppercased()) \(path) (\(operationID ?? "no operationId"))" }
    }

    static let httpMethods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The spec at the root of the repository, which `Tests/ServiceTests/openapi.yaml` links to.
    static var url: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // OpenAPI
            .deletingLastPathComponent()  // ServiceTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()
            .appendingPathComponent("openapi.yaml")
    }

    static func operations() throws -> [Operation] {
        operations(in: try String(contentsOf: url, encoding: .utf8))
    }

    static func operations(in text: String) -> [Operation] {
        var operations: [Operation] = []
        var isInPaths = false
        var path: String?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let indent = line.prefix { $0 == " " }.count
            if indent == 0 {
                isInPaths = trimmed == "paths:"
                path = nil
                continue
            }
            guard isInPaths, trimmed.hasSuffix(":") || trimmed.contains(": ") else { continue }
            let key = unquoted(String(trimmed.prefix { $0 != ":" }))
            if indent == 2, trimmed.hasSuffix(":") {
                path = key
            } else if indent == 4, let path, httpMethods.contains(key) {
                operations.append(Operation(method: key, path: path, operationID: nil))
            } else if indent == 6, key == "operationId", let last = operations.indices.last {
                let value = trimmed.dropFirst("operationId:".count).trimmingCharacters(in: .whitespaces)
                operations[last].operationID = unquoted(value)
            }
        }
        return operations
    }

    private static func unquoted(_ text: String) -> String {
        var text = text
        for quote in ["'", "\""] where text.count >= 2 && text.hasPrefix(quote) && text.hasSuffix(quote) {
            text = String(text.dropFirst().dropLast())
        }
        return text
    }
}
