/// The JSON bodies the client sends.
struct CredentialsBody: Encodable {
    var username: String
    var password: String
}

struct SendMessageBody: Encodable {
    var to: String
    var body: String
}

struct AcknowledgeBody: Encodable {
    var upTo: Int64

    enum CodingKeys: String, CodingKey {
        case upTo = "up_to"
    }
}

struct AcknowledgementBody: Decodable {
    var ackedUpTo: Int64

    enum CodingKeys: String, CodingKey {
        case ackedUpTo = "acked_up_to"
    }
}
