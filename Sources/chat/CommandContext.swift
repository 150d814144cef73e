import ArgumentParser
import ChatClient
import Foundation

/// What a command works with: the API through a failover client, and the
/// configuration file with its saved session.
struct CommandContext {
    var api: ChatAPI
    var configurationFile: ConfigurationFile
    var configuration: ClientConfiguration

    /// Runs `body` with a context built from `options` and the environment,
    /// shutting the HTTP transport down afterwards whatever happens.
    static func run<Result>(
        _ options: ClusterOptions,
        _ body: (CommandContext) async throws -> Result
    ) async throws -> Result {
        let environment = ProcessInfo.processInfo.environment
        let replicas = try ReplicaList.resolve(flag: options.cluster, environment: environment)
        let configurationFile = ConfigurationFile(environment: environment)
        let configuration = try configurationFile.load()
        let caFile = options.cacert ?? environment["CHAT_CACERT"].flatMap { $0.isEmpty ? nil : $0 }
        let transport: AsyncHTTPTransport
        do {
            transport = try AsyncHTTPTransport(trustedCAFile: caFile)
        } catch {
            throw ValidationError("cannot read the CA certificate \(caFile ?? ""): \(error)")
        }
        let client = FailoverClient(
            replicas: replicas, transport: transport, policy: FailoverPolicy(totalTimeout: options.totalTimeout),
            prefersForwarding: options.forward)
        let context = CommandContext(
            api: ChatAPI(client: client, token: configuration.token),
            configurationFile: configurationFile,
            configuration: configuration)
        do {
            let result = try await body(context)
            try await transport.shutdown()
            return result
        } catch {
            try? await transport.shutdown()
            throw error
        }
    }

    /// The saved username, or ``ChatClientError/notLoggedIn``.
    func loggedInUsername() throws -> String {
        guard let username = configuration.username, configuration.token != nil else {
            throw ChatClientError.notLoggedIn
        }
        return username
    }
}
