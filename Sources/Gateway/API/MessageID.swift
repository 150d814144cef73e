/// Ids for new messages: random (version 4) UUIDs in lowercase, drawn from the system
/// generator (`getrandom`). Foundation's `UUID()` here opened, read and closed /dev/urandom for
/// every id, three system calls on the path of every send.
enum MessageID {
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next()
        var low = generator.next()
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC << 60)) | (0x8 << 60)  // RFC 4122 variant
        let digits = hex(high, count: 16) + hex(low, count: 16)
        var id = ""
        id.reserveCapacity(36)
        for (position, digit) in digits.enumerated() {
            if [8, 12, 16, 20].contains(position) { id.append("-") }
            id.append(digit)
        }
        return id
    }

    private static func hex(_ value: UInt64, count: Int) -> String {
        String(value, radix: 16).leftPadded(to: count)
    }
}
