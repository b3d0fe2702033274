"""The esdbclient (EventStoreDBClient 1.1.7) subset of the compatibility suite.

esdbclient and kurrentdbclient register the same protobuf names (event_store.client.*) in protobuf's
default pool, so the two can't be imported into one process. test_compat.py runs each check here in
its own interpreter: `python esdb_checks.py NAME`. Exit 0 = pass, SKIP = skipped, anything else = fail.
This module imports nothing from esdbclient at top level, so test_compat.py can list CHECKS.

Environment: CHRONICLE_ESDB_URI (esdb://…), CHRONICLE_GRPC_ROOT_CERT, CHRONICLE_GRPC_BAD_URI (optional;
its scheme is swapped to esdb:// for the auth check, unless CHRONICLE_ESDB_BAD_URI is given).
"""
import json
import os
import sys
import threading
import uuid

SKIP = 77
CALL = 15.0
SUB = 30.0
CHECKS = {}


def check(f):
    CHECKS[f.__name__[len("check_"):]] = f
    return f


class Skip(Exception):
    pass


def _root_cert():
    path = os.environ.get("CHRONICLE_GRPC_ROOT_CERT", "")
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def _client(uri=None):
    from esdbclient import EventStoreDBClient

    return EventStoreDBClient(uri or os.environ["CHRONICLE_ESDB_URI"], root_certificates=_root_cert())


def _name(shape="esdb-{u}"):
    return shape.format(u=uuid.uuid4().hex)


def _ev(type_="EsdbTested", data=None, **kwargs):
    from esdbclient import NewEvent

    if data is None:
        data = json.dumps({"n": uuid.uuid4().hex}).encode()
    return NewEvent(type=type_, data=data, **kwargs)


def _raises(exc_types, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_types as e:
        return e
    raise AssertionError(f"{getattr(fn, '__name__', fn)} did not raise {exc_types}")


@check
def check_append_and_read(c):
    from esdbclient import StreamState

    s = _name("7{u}-$x")
    a, b, d = _ev(), _ev(), _ev()
    c.append_to_stream(s, events=[a, b], current_version=StreamState.NO_STREAM, timeout=CALL)  # BatchAppend
    cp = c.append_to_stream(s, events=d, current_version=1, timeout=CALL)  # Append
    got = c.get_stream(s, timeout=CALL)
    assert [e.id for e in got] == [a.id, b.id, d.id], got
    assert [e.stream_position for e in got] == [0, 1, 2]
    assert got[-1].commit_position == cp and got[0].stream_name == s
    assert [e.id for e in c.get_stream(s, backwards=True, limit=2, timeout=CALL)] == [d.id, b.id]
    assert [e.id for e in c.get_stream(s, stream_position=1, timeout=CALL)] == [b.id, d.id]
    assert c.get_current_version(s, timeout=CALL) == 2


@check
def check_conflict(c):
    from esdbclient import StreamState
    from esdbclient.exceptions import WrongCurrentVersion

    s = _name()
    c.append_to_stream(s, events=[_ev()], current_version=StreamState.NO_STREAM, timeout=CALL)
    _raises(WrongCurrentVersion, c.append_to_stream, s, events=[_ev()], current_version=StreamState.NO_STREAM, timeout=CALL)
    _raises(WrongCurrentVersion, c.append_to_stream, s, events=_ev(), current_version=5, timeout=CALL)
    _raises(WrongCurrentVersion, c.append_to_stream, _name(), events=[_ev()], current_version=StreamState.EXISTS, timeout=CALL)
    assert len(c.get_stream(s, timeout=CALL)) == 1


@check
def check_idempotent(c):
    from esdbclient import StreamState

    s = _name()
    a, b = _ev(), _ev()
    cp = c.append_to_stream(s, events=[a, b], current_version=StreamState.NO_STREAM, timeout=CALL)
    assert c.append_to_stream(s, events=[a, b], current_version=StreamState.NO_STREAM, timeout=CALL) == cp
    assert len(c.get_stream(s, timeout=CALL)) == 2


@check
def check_not_found(c):
    from esdbclient.exceptions import NotFound

    _raises(NotFound, c.get_stream, _name(), timeout=CALL)


@check
def check_read_all_from_position(c):
    from esdbclient import StreamState

    s = _name()
    events = [_ev(), _ev(), _ev()]
    c.append_to_stream(s, events=events, current_version=StreamState.NO_STREAM, timeout=CALL)
    first = c.get_stream(s, timeout=CALL)[0]
    run = list(c.read_all(commit_position=first.commit_position, limit=3, timeout=CALL))
    assert [e.id for e in run] == [e.id for e in events], run
    last = c.get_stream(s, timeout=CALL)[-1]
    back = list(c.read_all(commit_position=last.commit_position, backwards=True, limit=2, timeout=CALL))
    assert [e.id for e in back] == [events[1].id, events[0].id], back


@check
def check_filter_event_type(c):
    from esdbclient import StreamState

    tag = uuid.uuid4().hex
    s = _name()
    a, b, d = _ev(f"A{tag}"), _ev(f"B{tag}"), _ev(f"A{tag}")
    c.append_to_stream(s, events=[a, b, d], current_version=StreamState.NO_STREAM, timeout=CALL)
    start = c.get_stream(s, timeout=CALL)[0].commit_position
    got = list(c.read_all(commit_position=start, filter_include=[f"A{tag}"], timeout=CALL))
    assert [e.id for e in got] == [a.id, d.id], got


@check
def check_subscribe_stream(c):
    from esdbclient import StreamState

    s = _name()
    old = [_ev(), _ev()]
    c.append_to_stream(s, events=old, current_version=StreamState.NO_STREAM, timeout=CALL)
    sub = c.subscribe_to_stream(s, include_caught_up=True, timeout=SUB)
    try:
        got = [next(sub) for _ in range(3)]
        assert [e.id for e in got[:2]] == [e.id for e in old]
        assert got[2].is_caught_up, got[2]
        e = _ev()
        c.append_to_stream(s, events=[e], current_version=1, timeout=CALL)
        live = next(sub)
        assert live.id == e.id and live.stream_position == 2
    finally:
        sub.stop()


@check
def check_subscribe_all_from_position(c):
    from esdbclient import StreamState

    s = _name()
    old = [_ev(), _ev()]
    c.append_to_stream(s, events=old, current_version=StreamState.NO_STREAM, timeout=CALL)
    first = c.get_stream(s, timeout=CALL)[0]
    regex = "".join("\\" + ch if ch in r"\.^$*+?()[]{}|" else ch for ch in s)
    sub = c.subscribe_to_all(commit_position=first.commit_position, filter_include=[regex], filter_by_stream_name=True, timeout=SUB)
    try:
        assert next(sub).id == old[1].id
        e = _ev()
        c.append_to_stream(s, events=[e], current_version=1, timeout=CALL)
        assert next(sub).id == e.id
    finally:
        sub.stop()


@check
def check_delete(c):
    from esdbclient import StreamState
    from esdbclient.exceptions import NotFound

    s = _name()
    c.append_to_stream(s, events=[_ev(), _ev()], current_version=StreamState.NO_STREAM, timeout=CALL)
    c.delete_stream(s, current_version=1, timeout=CALL)
    _raises(NotFound, c.get_stream, s, timeout=CALL)
    e = _ev()
    c.append_to_stream(s, events=[e], current_version=StreamState.NO_STREAM, timeout=CALL)
    got = c.get_stream(s, timeout=CALL)
    assert [(x.id, x.stream_position) for x in got] == [(e.id, 2)], got


@check
def check_tombstone(c):
    from esdbclient import StreamState
    from esdbclient.exceptions import StreamIsDeleted

    s = _name()
    c.append_to_stream(s, events=[_ev()], current_version=StreamState.NO_STREAM, timeout=CALL)
    c.tombstone_stream(s, current_version=0, timeout=CALL)
    _raises(StreamIsDeleted, c.get_stream, s, timeout=CALL)
    _raises(StreamIsDeleted, c.append_to_stream, s, events=[_ev()], current_version=StreamState.ANY, timeout=CALL)
    _raises(StreamIsDeleted, c.delete_stream, s, current_version=StreamState.ANY, timeout=CALL)


@check
def check_metadata(c):
    from esdbclient import StreamState

    s = _name("snapshot-$x-{u}")
    assert c.get_stream_metadata(s, timeout=CALL) == ({}, StreamState.NO_STREAM)
    c.append_to_stream(s, events=[_ev() for _ in range(4)], current_version=StreamState.NO_STREAM, timeout=CALL)
    c.set_stream_metadata(s, metadata={"$maxCount": 2, "k": "v"}, timeout=CALL)
    assert c.get_stream_metadata(s, timeout=CALL) == ({"$maxCount": 2, "k": "v"}, 0)
    assert [e.stream_position for e in c.get_stream(s, timeout=CALL)] == [2, 3]


@check
def check_binary(c):
    from esdbclient import StreamState

    s = _name()
    data = bytes(range(256)) + b"\x00\xc3\x28"
    meta = b"\xff\x00meta"
    e = _ev("Blob", data=data, metadata=meta, content_type="application/octet-stream")
    c.append_to_stream(s, events=e, current_version=StreamState.NO_STREAM, timeout=CALL)
    got = c.get_stream(s, timeout=CALL)[0]
    assert (got.data, got.metadata, got.content_type) == (data, meta, "application/octet-stream")
    assert got.recorded_at is not None


@check
def check_deadline(c):
    from esdbclient import StreamState
    from esdbclient.exceptions import DeadlineExceeded

    s = _name()
    c.append_to_stream(s, events=[_ev()], current_version=StreamState.NO_STREAM, timeout=CALL)
    sub = c.subscribe_to_stream(s, timeout=1.5)
    assert next(sub).stream_position == 0
    _raises(DeadlineExceeded, next, sub)
    assert len(c.get_stream(s, timeout=CALL)) == 1  # still serving


@check
def check_auth(c):
    from esdbclient.exceptions import GrpcError

    bad = os.environ.get("CHRONICLE_ESDB_BAD_URI", "")
    if not bad:
        bad = os.environ.get("CHRONICLE_GRPC_BAD_URI", "")
        if not bad:
            raise Skip("neither CHRONICLE_ESDB_BAD_URI nor CHRONICLE_GRPC_BAD_URI is set")
        bad = "esdb://" + bad.split("://", 1)[1]
    import grpc

    b = _client(bad)
    try:
        # esdbclient has no UNAUTHENTICATED class: it raises the generic GrpcError wrapping the RpcError.
        e = _raises(GrpcError, b.get_stream, _name(), timeout=CALL)
        cause = e.args[0] if e.args else None
        assert isinstance(cause, grpc.RpcError) and cause.code() == grpc.StatusCode.UNAUTHENTICATED, e
    finally:
        b.close()


def main(argv):
    if len(argv) != 2 or argv[1] not in CHECKS:
        print(f"usage: {argv[0]} {{{'|'.join(sorted(CHECKS))}}}", file=sys.stderr)
        return 2
    if not os.environ.get("CHRONICLE_ESDB_URI"):
        print("CHRONICLE_ESDB_URI is not set")
        return SKIP
    c = _client()
    done = threading.Event()
    # A hung call fails the check instead of hanging the run (every call also has its own deadline).
    watchdog = threading.Timer(100, lambda: (print("esdb check timed out", file=sys.stderr), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()
    try:
        CHECKS[argv[1]](c)
    except Skip as s:
        print(s)
        return SKIP
    finally:
        done.set()
        watchdog.cancel()
        c.close()
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
