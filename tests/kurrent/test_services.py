"""The services around the streams: gossip (one leader, this node, found by the clients' discovery),
the supported-methods list the .NET clients ask for, the persistent-subscription list (none yet), and
UNIMPLEMENTED for everything else."""
import grpc
import pytest
from kurrent_settings import GRPC_URI, root_certificates
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import GrpcError
from test_hostile import FEATURES, Raw, new_channel

pytestmark = pytest.mark.services
CALL = 10


@pytest.fixture(scope="module")
def raw():
    if not GRPC_URI:
        pytest.skip("CHRONICLE_GRPC_URI is not set")
    channel = new_channel()
    yield Raw(channel)
    channel.close()


def test_gossip_names_this_node_the_leader(client):
    members = client.read_gossip()
    assert len(members) == 1
    assert members[0].state == "NODE_STATE_LEADER"
    host, port = GRPC_URI.split("@")[-1].split("//")[-1].split("?")[0].rsplit(":", 1)
    assert members[0].address == host and members[0].port == int(port)


def test_the_discovery_scheme_finds_this_node(stream):
    uri = GRPC_URI.replace("kurrentdb://", "kurrentdb+discover://", 1)
    with KurrentDBClient(uri, root_certificates=root_certificates()) as discovered:
        discovered.append_to_stream(stream, events=[NewEvent(type="Found", data=b"{}")], current_version=StreamState.NO_STREAM, timeout=CALL)
        assert [e.type for e in discovered.get_stream(stream, timeout=CALL)] == ["Found"]


def test_supported_methods_list_what_is_served(raw):
    answer = raw.raw("unary_unary", FEATURES)(b"", CALL)
    for name in (b"event_store.client.streams.streams", b"read", b"append", b"batchappend", b"delete", b"tombstone",
                 b"event_store.client.gossip.gossip", b"event_store.client.persistent_subscriptions.persistentsubscriptions"):
        assert name in answer, name


def test_persistent_subscriptions_are_listed_as_none_and_not_yet_created(client):
    assert client.list_subscriptions(timeout=CALL) == []
    with pytest.raises(GrpcError):
        client.create_subscription_to_all("group", timeout=CALL)
    assert client.list_subscriptions(timeout=CALL) == []


def test_anything_else_is_unimplemented(raw):
    for path in ("/event_store.client.operations.Operations/Shutdown", "/event_store.client.users.Users/Details",
                 "/event_store.client.projections.Projections/List", "/no.such.Service/Method"):
        with pytest.raises(grpc.RpcError) as raised:
            raw.raw("unary_unary", path)(b"", CALL)
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED, path
