import ChatClient
import Foundation

/// Responses as the chat service gives them, for scripted transports.
extension TransportResponse {
    static func json(_ status: Int, _ text: String, headers: [String: String] = [:]) -> TransportResponse {
        var allHeaders = headers
        allHeaders["Content-Type"] = "application/json"
        return TransportResponse(status: status, headers: allHeaders, body: Data(text.utf8))
    }

    static func error(_ status: Int, code: String, headers: [String: String] = [:]) -> TransportResponse {
        json(status, #"{"error":{"code":"\#(code)","message":"\#(code) happened."}}"#, headers: headers)
    }

    static func redirect(to location: String) -> TransportResponse {
        error(307, code: "not_leader", headers: ["Location": location])
    }
}
