import Foundation

/// Runs the `chat` client built beside `chatd` with `arguments`; `environment` adds to (or, with
/// nil, removes from) this process's environment. Returns its exit status and all it printed.
func runChat(_ arguments: [String], environment changes: [String: String?] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = ChatdProcess.binary.deletingLastPathComponent().appendingPathComponent("chat")
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    for (name, value) in changes { environment[name] = value }
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard let status = exitStatus(of: process, timeout: .seconds(20)) else {
        kill(process.processIdentifier, SIGKILL)
        throw TestFailure("chat \(arguments.joined(separator: " ")) did not exit within 20 s: \(text)")
    }
    return (status, text)
}
