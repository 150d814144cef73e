import Testing
@testable import Gateway

/// `--min-free-disk` sizes, as operators write them.
struct ByteCountTextTests {
    @Test(arguments: [
        ("0", 0), ("4096", 4096), ("64MiB", 64 << 20), ("1gib", 1 << 30), ("2TiB", 2 << 40),
        ("500MB", 500_000_000), ("3TB", 3_000_000_000_000), (" 10KiB ", 10 << 10),
    ] as [(String, UInt64)])
    func aSizeIsReadInItsUnit(text: String, bytes: UInt64) {
        #expect(ByteCountText.bytes(text) == bytes, "\(text)")
    }

    @Test(arguments: ["", "MiB", "-1", "1.5GiB", "10 apples", "99999999999TiB"])
    func anythingElseIsRefused(text: String) {
        #expect(ByteCountText.bytes(text) == nil, "\(text)")
    }
}
