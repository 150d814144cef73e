import Foundation
import GRDB

/// How a message body is stored: as the bytes of its UTF-8, in a BLOB. SQLite keeps a NUL
/// inside TEXT, but text read back through C strings ends at the first NUL, and a body may
/// hold any Unicode scalar, NUL included.
enum MessageBody {
    static func databaseValue(_ body: String) -> Data { Data(body.utf8) }

    /// The body of a row's column: a BLOB as written now, or TEXT as written before.
    static func text(from value: DatabaseValue) -> String {
        switch value.storage {
        case .blob(let data): String(decoding: data, as: UTF8.self)
        case .string(let text): text
        default: ""
        }
    }
}
