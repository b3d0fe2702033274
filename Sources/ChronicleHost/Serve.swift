import ArgumentParser
import ChronicleHTTP
import ChronicleKurrent
import ChronicleRuntime
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus

/// `serve`: the HTTP edge and (unless `--no-workers`) every subscription of `App`'s modules.
struct Serve<App: HostedApplication>: AsyncParsableCommand {
    static var configuration: CommandConfiguration { CommandConfiguration(commandName: "serve", abstract: App.serveAbstract) }

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @OptionGroup var storage: StorageOptions

    @OptionGroup var options: App.Options

    @Flag(help: "Serve HTTP only; run no projector or reactor in this process (run `chronicle worker` beside it).")
    var noWorkers = false

    @Option(help: "Serve the pages from this folder instead of the bundled copy (for working on them).")
    var publicDir: String?

    @Flag(help: "Use PostgreSQL at DATABASE_URL (without this flag or --postgres, serve stays on the SQLite file even when DATABASE_URL is set).")
    var postgresFromEnvironment = false

    @Option(
        help:
            "Read the admin credential from this file (first line); CHRONICLE_ADMIN_TOKEN works too. Required to listen on anything but loopback; with it, /admin and the admin API answer 401 without it (HTTP basic, any user name, or Authorization: Bearer)."
    )
    var adminTokenFile: String?

    @Option(help: "A host name requests may name in their Host header besides localhost and IP addresses (repeatable).")
    var allowedHost: [String] = []

    @Option(
        help:
            "Also serve KurrentDB's gRPC client protocol on this port of --host (0 picks a free one): KurrentDB and EventStoreDB clients append, read and subscribe. With an admin credential, every call needs it (basic authentication, any user name)."
    )
    var grpcPort: Int?

    @Option(help: "A PEM certificate chain: with --tls-key, the gRPC port speaks TLS.")
    var tlsCertificate: String?

    @Option(help: "The PEM private key of --tls-certificate.")
    var tlsKey: String?

    func run() async throws {
        storage.bootstrapLogging()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "chronicle")
        var server = ChronicleServer.Configuration()
        server.host = host
        server.port = port
        server.publicFolder = publicDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        server.metrics = registry
        server.access = AccessPolicy(adminToken: try adminToken(), allowedHosts: Set(allowedHost.map { $0.lowercased() }))
        do { try server.validate() } catch { throw OperatorError(error.description) }
        // SQLite unless --postgres or --postgres-from-environment is given: a DATABASE_URL in the
        // environment alone does not switch `serve`.
        let postgres = try storage.postgresDatabase(fromEnvironment: postgresFromEnvironment)
        let backend = try storage.backend(postgres: postgres)
        var configuration = ChronicleRuntime.Configuration(backend: backend)
        configuration.runsSubscriptions = !noWorkers
        let modules = try App.modules(options, HostContext(backend: backend, role: .serve))
        let runtime = try ChronicleRuntime(configuration: configuration, modules: modules, logger: Logger(label: "chronicle.runtime"))
        let grpc = try grpcServer(runtime: runtime, adminToken: server.access.adminToken, logger: logger)
        let where_ = postgres.map { "PostgreSQL at \($0.endpoint)" } ?? storage.database
        // A database that can never work as configured stops the server at once, with PostgreSQL's reason.
        if let postgres, let reason = await postgres.permanentFailure() { throw OperatorError(reason) }
        let app = ChronicleServer.application(
            runtime: runtime, dependencies: postgres.map { [$0.client] } ?? [], edges: grpc.map { [$0] } ?? [], configuration: server
        ) {
            [host] port in
            // Serving is said once the database is prepared (until then requests wait or answer 503);
            // the listener must not wait for it, so that /health answers meanwhile.
            Task {
                while !Task.isCancelled {
                    do {
                        try await runtime.prepare()
                        break
                    } catch {
                        logger.warning("listening, but the database is not ready yet; retrying", metadata: ["url": "http://\(host):\(port)", "error": "\(error)"])
                        try? await Task.sleep(for: .seconds(2))
                    }
                }
                logger.notice("Chronicle is serving", metadata: ["url": "http://\(host):\(port)", "database": "\(where_)"])
            }
        }
        do {
            try await reportingStorageFailures { try await app.runService() }
        } catch  where Self.isAddressInUse(error) {
            throw OperatorError(
                "port \(port) on \(host) is in use (another `chronicle serve`?): stop what holds it, or choose another with --port (0 picks a free one)")
        }
    }

    /// Whether `error` is the listening socket's bind failing because the address is taken (NIO's
    /// `IOError` for `EADDRINUSE`, recognised by its errno: this target does not link NIO directly).
    /// The KurrentDB port, when --grpc-port is given.
    func grpcServer(runtime: ChronicleRuntime, adminToken: String?, logger: Logger) throws -> KurrentServer? {
        guard let grpcPort else {
            guard tlsCertificate == nil, tlsKey == nil else { throw OperatorError("--tls-certificate and --tls-key apply to --grpc-port") }
            return nil
        }
        var configuration = KurrentServer.Configuration()
        configuration.host = host
        configuration.port = grpcPort
        switch (tlsCertificate, tlsKey) {
        case (let certificate?, let key?):
            for file in [certificate, key] where !FileManager.default.isReadableFile(atPath: file) {
                throw OperatorError("cannot read \(file) (--tls-certificate / --tls-key)")
            }
            configuration.tls = (certificate, key)
        case (nil, nil): break
        default: throw OperatorError("give both --tls-certificate and --tls-key, or neither")
        }
        configuration.adminToken = adminToken
        configuration.policy.protectedCategories = runtime.ownedCategories
        do { try configuration.validate() } catch { throw OperatorError(error.description) }
        return KurrentServer(configuration: configuration, runtime: runtime) { [host] port in
            logger.notice("KurrentDB clients connect here", metadata: ["grpc": "\(host):\(port)"])
        }
    }

    static func isAddressInUse(_ error: any Error) -> Bool {
        let text = String(describing: error)
        return text.contains("errno: \(EADDRINUSE))") || text.contains("Address already in use")
    }

    /// The admin credential: `--admin-token-file`, else `CHRONICLE_ADMIN_TOKEN`, else none.
    func adminToken() throws -> String? {
        if let file = adminTokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                let token = text.split(whereSeparator: \.isNewline).first.map(String.init), !token.isEmpty
            else { throw OperatorError("cannot read an admin credential from \(file) (--admin-token-file)") }
            return token
        }
        return ProcessInfo.processInfo.environment["CHRONICLE_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
