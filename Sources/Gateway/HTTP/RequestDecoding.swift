import Foundation

/// Turns request bodies and query strings into typed values, or into a clear 400/415.
enum RequestDecoding {
    /// Decodes a JSON object body, insisting on `Content-Type: application/json`.
    static func body<T: Decodable>(_ type: T.Type, from request: HTTPRequest) throws(APIError) -> T {
        guard isJSON(request.header("Content-Type")) else { throw APIError.unsupportedMediaType }
        guard String(validating: request.body, as: UTF8.self) != nil else {
            throw APIError.invalidJSON("The body is not valid UTF-8.")
        }
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: Data(request.body))
        } catch let error as DecodingError {
            throw classify(error, body: request.body)
        } catch {
            throw APIError.invalidJSON("The body is not well-formed JSON.")
        }
        if let name = RepeatedJSONKeys.first(in: request.body) {
            throw APIError.invalidJSON("The name \"\(name)\" appears twice in one object.")
        }
        return value
    }

    /// Errors at the top level are about the document (400 invalid_json); errors below it are
    /// about a field (400 invalid_request).
    static func classify(_ error: DecodingError, body: [UInt8]) -> APIError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            if let field = integerFieldThatDoesNotFit(in: body) {
                return APIError.invalidRequest("The field \"\(field)\" must be a whole number of at most 64 bits.")
            }
            if holdsAnUnpairedSurrogate(body) {
                return APIError.invalidJSON("A string in the body holds an unpaired surrogate (\\uD800 to \\uDFFF): it is not Unicode text.")
            }
            return APIError.invalidJSON("The body is not well-formed JSON.")
        case .typeMismatch(_, let context) where context.codingPath.isEmpty,
             .valueNotFound(_, let context) where context.codingPath.isEmpty:
            // `[1]`, `"x"` or `null`.
            return APIError.invalidJSON("The body must be a JSON object.")
        default:
            return APIError.invalidRequest(describe(error))
        }
    }

    /// Whether `body` has an unpaired surrogate escape: a `\uD800`-`\uDBFF` not followed by a
    /// `\uDC00`-`\uDFFF`, or the latter alone. Foundation refuses them as it refuses malformed
    /// JSON (this runs on the error path only).
    static func holdsAnUnpairedSurrogate(_ body: [UInt8]) -> Bool {
        var previousWasHigh = false
        var at = 0
        while at < body.count {
            guard body[at] == UInt8(ascii: "\\"), at + 1 < body.count else {
                if previousWasHigh { return true }
                at += 1
                continue
            }
            guard body[at + 1] == UInt8(ascii: "u"), at + 6 <= body.count,
                  let unit = UInt16(String(decoding: body[(at + 2)..<(at + 6)], as: UTF8.self), radix: 16)
            else {
                if previousWasHigh { return true }
                at += 2  // an escape of another kind, `\\` included
                continue
            }
            switch unit {
            case 0xD800...0xDBFF:
                if previousWasHigh { return true }
                previousWasHigh = true
            case 0xDC00...0xDFFF:
                if !previousWasHigh { return true }
                previousWasHigh = false
            default:
                if previousWasHigh { return true }
            }
            at += 6
        }
        return previousWasHigh
    }

    /// Foundation reports a number that its integer field cannot hold (`1.5`, `1e30`) as a
    /// document that is not JSON, without naming the field; this finds the field, in a body
    /// that is a JSON object.
    static func integerFieldThatDoesNotFit(in body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        return object.keys.sorted().first { name in
            guard let number = object[name] as? NSNumber, !(object[name] is Bool) else { return false }
            return Int64(exactly: number.doubleValue) == nil
        }
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        // On bytes, without lowercasing a copy: every send's header passes here (issue 13).
        let bytes = contentType.utf8
        let mediaType = bytes.prefix { $0 != UInt8(ascii: ";") }
            .drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        var end = mediaType.endIndex
        while end > mediaType.startIndex {
            let last = mediaType[mediaType.index(before: end)]
            guard last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") else { break }
            end = mediaType.index(before: end)
        }
        return mediaType[..<end].equalsIgnoringASCIICase("application/json")
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _):
            return "The field \"\(key.stringValue)\" is required."
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "The field \"\(fieldName(context))\" has the wrong type."
        case .dataCorrupted(let context):
            return "The field \"\(fieldName(context))\" has an invalid value."
        @unknown default:
            return "The body does not have the expected fields."
        }
    }

    static func fieldName(_ context: DecodingError.Context) -> String {
        context.codingPath.map(\.stringValue).joined(separator: ".")
    }

    /// A query parameter's value, or nil when absent; one given twice (`limit=5&limit=1`) is
    /// refused rather than guessed at, like a JSON name given twice.
    static func query(_ name: String, in request: HTTPRequest) throws(APIError) -> String? {
        var values = request.query.lazy.filter { $0.name == name }.makeIterator()
        guard let first = values.next() else { return nil }
        guard values.next() == nil else { throw APIError.invalidRequest("The query parameter \(name) is given more than once.") }
        return first.value
    }

    /// An integer query parameter within `range`, or `defaultValue` when absent.
    static func integer(
        _ name: String, in request: HTTPRequest, range: ClosedRange<Int64>, default defaultValue: Int64?
    ) throws(APIError) -> Int64? {
        guard let text = try query(name, in: request) else { return defaultValue }
        guard let value = Int64(text), range.contains(value) else {
            throw APIError.invalidRequest(
                "The query parameter \(name) must be an integer from \(range.lowerBound) to \(range.upperBound).")
        }
        return value
    }
}
