/// The body of `POST /v1/inbox/ack`.
struct AcknowledgeBody: Encodable {
    var upTo: Int64

    enum CodingKeys: String, CodingKey {
        case upTo = "up_to"
    }
}
