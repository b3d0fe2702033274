import Testing

@testable import ChronicleKurrent

/// The gRPC port's own rules: off the loopback it needs TLS and a credential.
struct ConfigurationTests {
    @Test func offTheLoopbackThePortNeedsTLSAndACredential() {
        var configuration = KurrentServer.Configuration()
        for host in ["127.0.0.1", "localhost", "::1"] {
            configuration.host = host
            #expect(throws: Never.self) { try configuration.validate() }
        }
        configuration.host = "0.0.0.0"
        #expect(throws: KurrentServerError.self) { try configuration.validate() }
        configuration.adminToken = "secret"
        #expect(throws: KurrentServerError.self) { try configuration.validate() }
        configuration.adminToken = nil
        configuration.tls = ("chain.pem", "key.pem")
        #expect(throws: KurrentServerError.self) { try configuration.validate() }
        configuration.adminToken = "secret"
        #expect(throws: Never.self) { try configuration.validate() }
    }

    @Test func gossipAnswersTheAddressTheClientReached() {
        #expect(GossipService.host(ofPeer: "ipv4:127.0.0.1:2113") == "127.0.0.1")
        #expect(GossipService.host(ofPeer: "ipv6:[::1]:2113") == "::1")
        #expect(GossipService.host(ofPeer: "unix:/tmp/socket") == nil)
    }
}
