/// The answer of `POST /v1/inbox/ack`.
struct Acknowledgement: Decodable {
    var acknowledgedUpTo: Int64

    enum CodingKeys: String, CodingKey {
        case acknowledgedUpTo = "acked_up_to"
    }
}
