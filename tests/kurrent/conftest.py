"""Fixtures for the KurrentDB-client compatibility suite (test_compat.py).

The suite drives a running `chronicle serve --grpc-port …` through the official Python clients. It reads:
  CHRONICLE_GRPC_URI        kurrentdbclient connection string, e.g. kurrentdb://admin:secret@127.0.0.1:2113?tls=false
  CHRONICLE_GRPC_ROOT_CERT  PEM file given to the clients as root_certificates (for tls=true)
  CHRONICLE_ESDB_URI        esdbclient connection string (esdb://…); the esdb-marked tests need it
  CHRONICLE_GRPC_BAD_URI    a connection string with a wrong password (tls=true); the auth tests need it
  CHRONICLE_TEST_TIMEOUT    seconds one test may take before it is failed (default 60; 0 turns it off)
Without CHRONICLE_GRPC_URI every test that needs the server is skipped.
"""
import os
import signal
import threading

import pytest
from kurrent_settings import GRPC_URI, new_stream_name, root_certificates

MARKERS = {
    "append": "appends through Append and BatchAppend: expected revisions, conflicts, idempotency, positions",
    "read": "stream and $all reads: directions, start points, limits, not-found, positions",
    "filter": "server-side $all filters: event type / stream name, regex / prefix, the default system filter",
    "subscribe": "catch-up subscriptions to a stream and to $all: start points, live events, caught-up, checkpoints, stop",
    "delete": "soft delete and tombstone",
    "metadata": "stream metadata ($$stream, $metadata events): round trip, $maxCount, $tb",
    "binary": "payload and custom-metadata bytes, content types, event fields round trip",
    "deadline": "client deadlines (timeout=) on reads and subscriptions, and that the server keeps serving",
    "auth": "wrong credentials are refused with UNAUTHENTICATED (needs CHRONICLE_GRPC_BAD_URI)",
    "esdb": "the subset driven through esdbclient.EventStoreDBClient (needs CHRONICLE_ESDB_URI), each in a subprocess",
    "interop": "the same log through the HTTP API and the client: visibility both ways, read-only application streams, read models unharmed (needs CHRONICLE_HTTP_URL)",
    "services": "gossip and discovery, supported methods, the persistent-subscription list, UNIMPLEMENTED for the rest",
    "hostile": "raw-grpcio abuse (test_hostile.py): garbage, unknown fields, sizes, bad values, regexes, stuck and many subscriptions",
}


def pytest_configure(config):
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


@pytest.fixture(scope="session")
def root_cert():
    return root_certificates()


@pytest.fixture(scope="session")
def client(root_cert):
    if not GRPC_URI:
        pytest.skip("CHRONICLE_GRPC_URI is not set (no server to test)")
    from kurrentdbclient import KurrentDBClient

    c = KurrentDBClient(GRPC_URI, root_certificates=root_cert)
    yield c
    c.close()


@pytest.fixture
def stream():
    """A fresh stream name for this test."""
    return new_stream_name()


@pytest.fixture(params=["batch", "append"])
def rpc(request):
    """Which append RPC a test writes through: BatchAppend (a list of events) or Append (client streaming)."""
    return request.param


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # A bound on every test, so a server that never answers fails the test instead of hanging the run.
    # gRPC's blocking waits wake up for signals, so the alarm interrupts them too.
    limit = int(os.environ.get("CHRONICLE_TEST_TIMEOUT", "60") or 0)
    if limit <= 0 or not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        return (yield)

    def on_alarm(signum, frame):
        raise TimeoutError(f"test took longer than {limit}s (CHRONICLE_TEST_TIMEOUT)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        return (yield)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
