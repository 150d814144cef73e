import Foundation

/// The JSON encoder and decoder for API bodies. Keys are spelled out in each
/// model's `CodingKeys`, so no key strategy is set.
enum JSONCoding {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static var decoder: JSONDecoder {
        JSONDecoder()
    }
}
