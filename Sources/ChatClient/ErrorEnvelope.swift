/// The JSON body of every error response.
struct ErrorEnvelope: Decodable {
    struct Detail: Decodable {
        var code: String
        var message: String
    }

    var error: Detail

    /// The server error in `response`, or nil when its body is not an error envelope.
    static func serverError(in response: TransportResponse) -> ServerError? {
        guard let envelope = try? JSONCoding.decoder.decode(ErrorEnvelope.self, from: response.body) else {
            return nil
        }
        return ServerError(status: response.status, code: envelope.error.code, message: envelope.error.message)
    }
}
