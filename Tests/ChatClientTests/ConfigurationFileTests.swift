import ChatClient
import Foundation
import Testing

@Suite("ConfigurationFile")
struct ConfigurationFileTests {
    func temporaryFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "chat-client-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    func permissions(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int)
    }

    @Test("writes the file with mode 0600 in a new folder with mode 0700, and reads it back")
    func savesPrivately() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = ConfigurationFile(path: folder + "/nested/config.json")
        let configuration = ClientConfiguration(username: "alice", token: "secret")

        try file.save(configuration)

        #expect(try permissions(of: file.path) == 0o600)
        #expect(try permissions(of: folder + "/nested") == 0o700)
        #expect(try file.load() == configuration)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder + "/nested")
        #expect(leftovers == ["config.json"])
    }

    @Test("makes an existing readable file private when it replaces it")
    func replacesReadableFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/config.json"
        _ = FileManager.default.createFile(atPath: path, contents: Data("{}".utf8), attributes: [.posixPermissions: 0o644])

        try ConfigurationFile(path: path).save(ClientConfiguration(username: "bob", token: "t"))

        #expect(try permissions(of: path) == 0o600)
    }

    @Test("reads a missing file as an empty configuration")
    func missingFile() throws {
        let file = ConfigurationFile(path: "/nonexistent-\(UUID().uuidString)/config.json")

        #expect(try file.load() == ClientConfiguration())
    }

    @Test("takes the path from CHAT_CONFIG, else from HOME")
    func path() {
        #expect(ConfigurationFile(environment: ["CHAT_CONFIG": "/x/c.json", "HOME": "/h"]).path == "/x/c.json")
        #expect(ConfigurationFile(environment: ["HOME": "/h"]).path == "/h/.config/chat/config.json")
        #expect(ConfigurationFile(environment: ["CHAT_CONFIG": "", "HOME": "/h"]).path == "/h/.config/chat/config.json")
    }
}
