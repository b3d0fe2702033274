"""Chronicle's KurrentDB v1 gRPC server, driven through the official Python clients.

Every test uses fresh stream names, so the suite can run against a server that already holds data.
The behaviour expected is what the clients (kurrentdbclient 1.3.5, esdbclient 1.1.7) and their docs
rely on: see /work/notes/kurrent-client-findings.md for the wire facts behind each assertion.
Run: see README.md beside this file.
"""
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from kurrent_settings import BAD_URI, ESDB_URI, NAME_SHAPES, new_stream_name, root_certificates
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import (
    DeadlineExceededError,
    FailedPreconditionError,
    GrpcDeadlineExceededError,
    InvalidCommitPositionError,
    NotFoundError,
    StreamIsDeletedError,
    UnauthenticatedError,
    WrongCurrentVersionError,
)

CALL = 15.0  # deadline (s) for unary calls and finite reads
SUB = 30.0  # deadline (s) for a whole subscription call

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------------- helpers


def ev(type_="Tested", data=None, metadata=b"", content_type="application/json", id=None):
    if data is None:
        data = json.dumps({"n": uuid.uuid4().hex}).encode()
    kwargs = {"type": type_, "data": data, "metadata": metadata, "content_type": content_type}
    if id is not None:
        kwargs["id"] = id
    return NewEvent(**kwargs)


def append(client, stream, events, current_version, rpc="batch"):
    """Appends through the RPC the test asks for. The client picks BatchAppend for a list and Append
    for a single NewEvent; Append with several events goes through the client's own streams service."""
    events = list(events)
    if rpc == "batch":
        return client.append_to_stream(stream, events=events, current_version=current_version, timeout=CALL)
    if len(events) == 1:
        return client.append_to_stream(stream, events=events[0], current_version=current_version, timeout=CALL)
    return client.streams.append(
        stream_name=stream,
        current_version=current_version,
        events=events,
        timeout=CALL,
        metadata=client._call_metadata,
        credentials=client._call_credentials,
    )


def ids(events):
    return [e.id for e in events]


def positions(events):
    return [e.stream_position for e in events]


def regex_escape(s):
    # Escape only what is special in .NET/ICU regexes (Python's re.escape also escapes '-', ' ', …).
    return "".join("\\" + c if c in r"\.^$*+?()[]{}|" else c for c in s)


def take(sub, n):
    """The next n items of a subscription (bounded by the subscription's own deadline)."""
    return [next(sub) for _ in range(n)]


def read_all_of(client, prefix, **kwargs):
    """Reads $all filtered to streams whose names start with prefix."""
    return list(
        client.read_all(
            filter_include=[prefix],
            filter_by_stream_name=True,
            filter_by_prefix=True,
            timeout=CALL,
            **kwargs,
        )
    )


def serves(client):
    """The server still answers: a fresh append is readable."""
    s = new_stream_name("alive-{u}")
    e = ev()
    append(client, s, [e], StreamState.NO_STREAM)
    assert ids(client.get_stream(s, timeout=CALL)) == [e.id]


# ---------------------------------------------------------------------------------------------- append


@pytest.mark.append
def test_append_any_creates_and_extends(client, stream, rpc):
    a, b = ev(), ev()
    append(client, stream, [a], StreamState.ANY, rpc)
    append(client, stream, [b], StreamState.ANY, rpc)
    got = client.get_stream(stream, timeout=CALL)
    assert ids(got) == [a.id, b.id]
    assert positions(got) == [0, 1]


@pytest.mark.append
def test_append_no_stream(client, stream, rpc):
    a, b = ev(), ev()
    append(client, stream, [a, b], StreamState.NO_STREAM, rpc)
    assert positions(client.get_stream(stream, timeout=CALL)) == [0, 1]


@pytest.mark.append
def test_append_exists(client, stream, rpc):
    append(client, stream, [ev()], StreamState.NO_STREAM, rpc)
    c = ev()
    append(client, stream, [c], StreamState.EXISTS, rpc)
    got = client.get_stream(stream, timeout=CALL)
    assert positions(got) == [0, 1] and got[1].id == c.id


@pytest.mark.append
def test_append_exact_revision(client, stream, rpc):
    append(client, stream, [ev(), ev()], StreamState.NO_STREAM, rpc)
    append(client, stream, [ev()], 1, rpc)
    append(client, stream, [ev(), ev()], 2, rpc)
    assert positions(client.get_stream(stream, timeout=CALL)) == [0, 1, 2, 3, 4]
    assert client.get_current_version(stream, timeout=CALL) == 4


@pytest.mark.append
@pytest.mark.parametrize("shape", NAME_SHAPES)
def test_append_stream_name_shapes(client, shape):
    name = new_stream_name(shape)
    e = ev()
    cp = append(client, name, [e], StreamState.NO_STREAM)
    got = client.get_stream(name, timeout=CALL)
    assert ids(got) == [e.id] and got[0].stream_name == name
    first = next(iter(client.read_all(commit_position=cp, limit=1, timeout=CALL)))
    assert first.id == e.id and first.stream_name == name


@pytest.mark.append
def test_conflict_no_stream_on_existing(client, stream, rpc):
    append(client, stream, [ev(), ev()], StreamState.NO_STREAM, rpc)
    with pytest.raises(WrongCurrentVersionError) as info:
        append(client, stream, [ev()], StreamState.NO_STREAM, rpc)
    assert info.value.actual_version == 1
    assert len(client.get_stream(stream, timeout=CALL)) == 2


@pytest.mark.append
def test_conflict_wrong_exact_revision(client, stream, rpc):
    append(client, stream, [ev(), ev(), ev()], StreamState.NO_STREAM, rpc)
    for wrong in (0, 1, 3, 10):
        with pytest.raises(WrongCurrentVersionError) as info:
            append(client, stream, [ev()], wrong, rpc)
        assert info.value.actual_version == 2
        assert info.value.expected_version == wrong
    assert len(client.get_stream(stream, timeout=CALL)) == 3


@pytest.mark.append
def test_conflict_exists_on_missing(client, stream, rpc):
    with pytest.raises(WrongCurrentVersionError) as info:
        append(client, stream, [ev()], StreamState.EXISTS, rpc)
    assert info.value.actual_version == StreamState.NO_STREAM
    with pytest.raises(NotFoundError):
        client.get_stream(stream, timeout=CALL)


@pytest.mark.append
def test_conflict_revision_on_missing(client, stream, rpc):
    with pytest.raises(WrongCurrentVersionError) as info:
        append(client, stream, [ev()], 0, rpc)
    assert info.value.actual_version == StreamState.NO_STREAM
    with pytest.raises(NotFoundError):
        client.get_stream(stream, timeout=CALL)


@pytest.mark.append
def test_conflicting_batch_writes_nothing(client, stream, rpc):
    append(client, stream, [ev()], StreamState.NO_STREAM, rpc)
    with pytest.raises(WrongCurrentVersionError):
        append(client, stream, [ev(), ev(), ev()], 5, rpc)
    assert len(client.get_stream(stream, timeout=CALL)) == 1


@pytest.mark.append
def test_idempotent_reappend_at_same_revision(client, stream, rpc):
    e1, e2, e3 = ev(), ev(), ev()
    append(client, stream, [e1], StreamState.NO_STREAM, rpc)
    cp = append(client, stream, [e2, e3], 0, rpc)
    again = append(client, stream, [e2, e3], 0, rpc)
    assert again == cp
    got = client.get_stream(stream, timeout=CALL)
    assert ids(got) == [e1.id, e2.id, e3.id]


@pytest.mark.append
def test_idempotent_reappend_of_first_batch_with_no_stream(client, stream, rpc):
    e1, e2 = ev(), ev()
    cp = append(client, stream, [e1, e2], StreamState.NO_STREAM, rpc)
    assert append(client, stream, [e1, e2], StreamState.NO_STREAM, rpc) == cp
    assert ids(client.get_stream(stream, timeout=CALL)) == [e1.id, e2.id]


@pytest.mark.append
def test_idempotent_reappend_with_any(client, stream, rpc):
    e1, e2, e3 = ev(), ev(), ev()
    append(client, stream, [e1], StreamState.NO_STREAM, rpc)
    cp = append(client, stream, [e2, e3], StreamState.ANY, rpc)
    assert append(client, stream, [e2, e3], StreamState.ANY, rpc) == cp
    assert len(client.get_stream(stream, timeout=CALL)) == 3


@pytest.mark.append
def test_append_returns_commit_position_of_last_event(client, stream, rpc):
    events = [ev(), ev(), ev()]
    cp = append(client, stream, events, StreamState.NO_STREAM, rpc)
    got = client.get_stream(stream, timeout=CALL)
    assert got[-1].commit_position == cp
    assert got[0].commit_position < got[1].commit_position < got[2].commit_position
    from_all = list(client.read_all(commit_position=cp, limit=1, timeout=CALL))
    assert from_all and from_all[0].id == events[-1].id and from_all[0].commit_position == cp
    # The three events sit together in $all, in order.
    run = list(client.read_all(commit_position=got[0].commit_position, limit=3, timeout=CALL))
    assert ids(run) == ids(events)


@pytest.mark.append
def test_commit_positions_increase_across_appends(client, stream, rpc):
    cps = [append(client, stream, [ev()], StreamState.ANY, rpc) for _ in range(5)]
    assert cps == sorted(cps) and len(set(cps)) == 5
    assert client.get_commit_position(timeout=CALL) >= cps[-1]


@pytest.mark.append
def test_get_current_version(client, stream):
    assert client.get_current_version(stream, timeout=CALL) == StreamState.NO_STREAM
    append(client, stream, [ev(), ev(), ev()], StreamState.NO_STREAM)
    assert client.get_current_version(stream, timeout=CALL) == 2


# ---------------------------------------------------------------------------------------------- read


@pytest.fixture
def five(client, stream):
    """A stream of five events (revisions 0…4)."""
    events = [ev(type_=f"Five{i}") for i in range(5)]
    append(client, stream, events, StreamState.NO_STREAM)
    return stream, events


@pytest.mark.read
def test_read_stream_forwards(client, five):
    stream, events = five
    got = client.get_stream(stream, timeout=CALL)
    assert ids(got) == ids(events) and positions(got) == [0, 1, 2, 3, 4]
    assert [e.type for e in got] == [f"Five{i}" for i in range(5)]
    with client.read_stream(stream, timeout=CALL) as response:
        assert ids(list(response)) == ids(events)


@pytest.mark.read
def test_read_stream_backwards(client, five):
    stream, events = five
    got = client.get_stream(stream, backwards=True, timeout=CALL)
    assert positions(got) == [4, 3, 2, 1, 0] and ids(got) == ids(events[::-1])


@pytest.mark.read
def test_read_stream_from_revision_forwards_is_inclusive(client, five):
    stream, events = five
    assert positions(client.get_stream(stream, stream_position=2, timeout=CALL)) == [2, 3, 4]
    assert positions(client.get_stream(stream, stream_position=0, timeout=CALL)) == [0, 1, 2, 3, 4]
    assert positions(client.get_stream(stream, stream_position=4, timeout=CALL)) == [4]


@pytest.mark.read
def test_read_stream_from_revision_backwards_is_inclusive(client, five):
    stream, _ = five
    assert positions(client.get_stream(stream, stream_position=2, backwards=True, timeout=CALL)) == [2, 1, 0]


@pytest.mark.read
def test_read_stream_limit(client, five):
    stream, _ = five
    assert positions(client.get_stream(stream, limit=2, timeout=CALL)) == [0, 1]
    assert positions(client.get_stream(stream, backwards=True, limit=1, timeout=CALL)) == [4]
    assert positions(client.get_stream(stream, stream_position=1, limit=3, timeout=CALL)) == [1, 2, 3]
    assert positions(client.get_stream(stream, stream_position=3, backwards=True, limit=2, timeout=CALL)) == [3, 2]


@pytest.mark.read
def test_read_stream_past_end_is_empty(client, five):
    stream, _ = five
    assert client.get_stream(stream, stream_position=5, timeout=CALL) == ()
    assert client.get_stream(stream, stream_position=1000, timeout=CALL) == ()


@pytest.mark.read
def test_read_missing_stream_raises_not_found(client, stream):
    with pytest.raises(NotFoundError):
        client.get_stream(stream, timeout=CALL)
    with pytest.raises(NotFoundError):
        client.get_stream(stream, backwards=True, limit=1, timeout=CALL)
    with pytest.raises(NotFoundError):
        client.get_stream(stream, stream_position=3, timeout=CALL)
    response = client.read_stream(stream, timeout=CALL)  # lazy: the error comes on iteration
    with pytest.raises(NotFoundError):
        next(response)


@pytest.mark.read
def test_read_all_forwards_from_position_is_inclusive(client, five):
    stream, events = five
    got = client.get_stream(stream, timeout=CALL)
    run = list(client.read_all(commit_position=got[0].commit_position, limit=5, timeout=CALL))
    assert ids(run) == ids(events)
    assert [e.commit_position for e in run] == [e.commit_position for e in got]
    run = list(client.read_all(commit_position=got[2].commit_position, limit=3, timeout=CALL))
    assert ids(run) == ids(events[2:])


@pytest.mark.read
def test_read_all_backwards_from_position_is_exclusive(client, five):
    stream, events = five
    got = client.get_stream(stream, timeout=CALL)
    run = list(client.read_all(commit_position=got[3].commit_position, backwards=True, limit=3, timeout=CALL))
    assert ids(run) == [events[2].id, events[1].id, events[0].id]


@pytest.mark.read
def test_read_all_from_start_and_from_end(client, five):
    stream, events = five
    forwards = read_all_of(client, stream)
    assert ids(forwards) == ids(events)
    backwards = read_all_of(client, stream, backwards=True)
    assert ids(backwards) == ids(events[::-1])
    assert ids(read_all_of(client, stream, backwards=True, limit=2)) == [events[4].id, events[3].id]
    # Unfiltered, from the end: the newest event in the store is at or after ours.
    newest = list(client.read_all(backwards=True, limit=1, filter_exclude=(), timeout=CALL))
    assert len(newest) == 1 and newest[0].commit_position >= client.get_stream(stream, timeout=CALL)[-1].commit_position


@pytest.mark.read
def test_read_all_limit(client, five):
    stream, events = five
    got = client.get_stream(stream, timeout=CALL)
    run = list(client.read_all(commit_position=got[0].commit_position, limit=1, timeout=CALL))
    assert ids(run) == [events[0].id]


@pytest.mark.read
def test_read_all_from_a_position_that_is_no_event_is_refused(client, stream):
    a, b = ev(), ev()
    append(client, stream, [a, b], StreamState.NO_STREAM)
    got = client.get_stream(stream, timeout=CALL)
    # Positions may be dense (Chronicle's are: every position up to the newest is an event's), so the
    # position that is surely no event's lies beyond the newest.
    candidate = got[1].commit_position + 1_000_000_000
    # KurrentDB ends the read with UNKNOWN "Unexpected FilteredReadAllResult: InvalidPosition", which
    # kurrentdbclient raises as InvalidCommitPositionError (on iteration: reads are lazy).
    with pytest.raises(InvalidCommitPositionError):
        list(client.read_all(commit_position=candidate, timeout=CALL))
    serves(client)


@pytest.mark.read
def test_event_positions_are_consistent(client, five):
    stream, _ = five
    got = client.get_stream(stream, timeout=CALL)
    for e in got:
        assert e.commit_position == e.prepare_position
    assert [e.commit_position for e in got] == sorted(e.commit_position for e in got)


@pytest.mark.read
@pytest.mark.binary
def test_created_timestamp_is_recent(client, stream):
    before = datetime.datetime.now(datetime.timezone.utc)
    append(client, stream, [ev(), ev()], StreamState.NO_STREAM)
    after = datetime.datetime.now(datetime.timezone.utc)
    got = client.get_stream(stream, timeout=CALL)
    slack = datetime.timedelta(seconds=60)  # clock granularity and a server on another clock
    for e in got:
        assert e.recorded_at is not None, "metadata['created'] missing or not integer ticks"
        assert before - slack <= e.recorded_at <= after + slack, e.recorded_at
    assert got[0].recorded_at <= got[1].recorded_at


# ---------------------------------------------------------------------------------------------- filter


@pytest.fixture
def typed(client):
    """Events of two unique types in two streams sharing a unique prefix, plus the commit position
    where they start."""
    tag = uuid.uuid4().hex[:12]
    prefix = f"flt{tag}-"
    s1, s2 = prefix + "one", prefix + "two"
    alpha, beta = f"Alpha{tag}", f"Beta{tag}"
    e1, e2, e3, e4, e5 = ev(alpha), ev(beta), ev(alpha), ev(beta), ev(alpha)
    append(client, s1, [e1, e2], StreamState.NO_STREAM)
    append(client, s2, [e3, e4], StreamState.NO_STREAM)
    append(client, s1, [e5], 1)
    start = client.get_stream(s1, timeout=CALL)[0].commit_position
    return {
        "tag": tag, "prefix": prefix, "s1": s1, "s2": s2, "alpha": alpha, "beta": beta,
        "events": [e1, e2, e3, e4, e5], "start": start,
    }


@pytest.mark.filter
def test_filter_event_type_regex(client, typed):
    t = typed
    got = list(client.read_all(commit_position=t["start"], filter_include=[t["alpha"]], timeout=CALL))
    assert ids(got) == ids([t["events"][0], t["events"][2], t["events"][4]])
    got = list(client.read_all(commit_position=t["start"], filter_include=[f"(Alpha|Beta){t['tag']}"], timeout=CALL))
    assert ids(got) == ids(t["events"])


@pytest.mark.filter
def test_filter_event_type_prefix(client, typed):
    t = typed
    got = list(client.read_all(commit_position=t["start"], filter_include=[t["beta"][:-3]], filter_by_prefix=True, timeout=CALL))
    assert ids(got) == ids([t["events"][1], t["events"][3]])


@pytest.mark.filter
def test_filter_stream_name_prefix(client, typed):
    t = typed
    got = list(client.read_all(filter_include=[t["prefix"]], filter_by_stream_name=True, filter_by_prefix=True, timeout=CALL))
    assert ids(got) == ids(t["events"])
    got = list(client.read_all(filter_include=[t["s2"]], filter_by_stream_name=True, filter_by_prefix=True, timeout=CALL))
    assert ids(got) == ids(t["events"][2:4])


@pytest.mark.filter
def test_filter_stream_name_regex(client, typed):
    t = typed
    got = list(client.read_all(commit_position=t["start"], filter_include=[regex_escape(t["s1"])], filter_by_stream_name=True, timeout=CALL))
    assert ids(got) == ids([t["events"][0], t["events"][1], t["events"][4]])


@pytest.mark.filter
def test_filter_exclude_custom(client, typed):
    t = typed
    got = list(client.read_all(commit_position=t["start"], filter_exclude=[t["alpha"]], timeout=CALL))
    mine = [e for e in got if e.stream_name.startswith(t["prefix"])]
    assert ids(mine) == ids([t["events"][1], t["events"][3]])


@pytest.mark.filter
def test_filter_limit_applies_after_filtering(client, typed):
    t = typed
    got = list(client.read_all(commit_position=t["start"], filter_include=[t["alpha"]], limit=2, timeout=CALL))
    assert ids(got) == ids([t["events"][0], t["events"][2]])


@pytest.mark.filter
def test_filter_backwards(client, typed):
    t = typed
    got = list(client.read_all(backwards=True, filter_include=[t["alpha"]], limit=2, timeout=CALL))
    assert ids(got) == ids([t["events"][4], t["events"][2]])


@pytest.mark.filter
@pytest.mark.metadata
def test_default_filter_hides_system_events(client, stream):
    e = ev()
    append(client, stream, [e], StreamState.NO_STREAM)
    client.set_stream_metadata(stream, metadata={"k": "v"}, timeout=CALL)
    result_typed = ev(type_="Result")  # the default filter also hides events typed exactly "Result"
    append(client, stream, [result_typed], 0)
    start = client.get_stream(stream, timeout=CALL)[0].commit_position
    default = list(client.read_all(commit_position=start, timeout=CALL))
    assert all(not x.type.startswith("$") for x in default)
    assert e.id in ids(default)
    assert result_typed.id not in ids(default)
    unfiltered = list(client.read_all(commit_position=start, filter_exclude=(), timeout=CALL))
    metadata_events = [x for x in unfiltered if x.stream_name == "$$" + stream]
    assert len(metadata_events) == 1 and metadata_events[0].type == "$metadata"
    assert result_typed.id in ids(unfiltered)


# ---------------------------------------------------------------------------------------------- subscribe


@pytest.mark.subscribe
def test_subscribe_stream_from_start_then_live(client, stream):
    old = [ev(), ev(), ev()]
    append(client, stream, old, StreamState.NO_STREAM)
    with client.subscribe_to_stream(stream, timeout=SUB) as sub:
        assert isinstance(sub.subscription_id, str)
        assert ids(take(sub, 3)) == ids(old)
        new = [ev(), ev()]
        append(client, stream, new, 2)
        got = take(sub, 2)
        assert ids(got) == ids(new) and positions(got) == [3, 4]


@pytest.mark.subscribe
def test_subscribe_stream_events_appended_during_catch_up(client, stream):
    old = [ev() for _ in range(3)]
    append(client, stream, old, StreamState.NO_STREAM)
    with client.subscribe_to_stream(stream, timeout=SUB) as sub:
        new = [ev() for _ in range(3)]
        append(client, stream, new, 2)  # before anything was read
        got = take(sub, 6)
        assert ids(got) == ids(old + new) and positions(got) == list(range(6))


@pytest.mark.subscribe
def test_subscribe_stream_no_gap_no_duplicate_while_writing(client, stream):
    append(client, stream, [ev() for _ in range(5)], StreamState.NO_STREAM)
    total = 45
    errors = []

    def writer():
        try:
            for revision in range(4, total - 1):
                append(client, stream, [ev()], revision)
        except Exception as e:  # surfaced in the assertion below
            errors.append(e)

    with client.subscribe_to_stream(stream, timeout=SUB) as sub:
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        got = take(sub, total)
        t.join(timeout=CALL)
    assert not errors, errors
    assert positions(got) == list(range(total))
    assert ids(got) == ids(client.get_stream(stream, timeout=CALL))


@pytest.mark.subscribe
def test_subscribe_stream_from_revision_is_exclusive(client, stream):
    old = [ev() for _ in range(4)]
    append(client, stream, old, StreamState.NO_STREAM)
    with client.subscribe_to_stream(stream, stream_position=1, timeout=SUB) as sub:
        assert positions(take(sub, 2)) == [2, 3]
        e = ev()
        append(client, stream, [e], 3)
        got = next(sub)
        assert got.id == e.id and got.stream_position == 4


@pytest.mark.subscribe
def test_subscribe_stream_from_end(client, stream):
    append(client, stream, [ev(), ev()], StreamState.NO_STREAM)
    with client.subscribe_to_stream(stream, from_end=True, timeout=SUB) as sub:
        e = ev()
        append(client, stream, [e], 1)
        got = next(sub)
        assert got.id == e.id and got.stream_position == 2


@pytest.mark.subscribe
def test_subscribe_stream_that_does_not_exist_yet(client, stream):
    with client.subscribe_to_stream(stream, timeout=SUB) as sub:
        e = ev()
        append(client, stream, [e], StreamState.NO_STREAM)
        got = next(sub)
        assert got.id == e.id and got.stream_position == 0


@pytest.mark.subscribe
def test_subscribe_stream_caught_up_marker(client, stream):
    old = [ev(), ev(), ev()]
    append(client, stream, old, StreamState.NO_STREAM)
    with client.subscribe_to_stream(stream, include_caught_up=True, timeout=SUB) as sub:
        got = take(sub, 4)
        assert ids(got[:3]) == ids(old)
        caught = got[3]
        assert caught.is_caught_up, f"expected a CaughtUp after the history, got {caught!r}"
        assert caught.stream_position in (0, 2)  # 0 when the server leaves the optional field out
        e = ev()
        append(client, stream, [e], 2)
        live = next(sub)
        assert live.id == e.id and not live.is_caught_up


@pytest.mark.subscribe
def test_subscribe_all_from_start_filtered(client, stream):
    old = [ev(), ev()]
    append(client, stream, old, StreamState.NO_STREAM)
    with client.subscribe_to_all(filter_include=[stream], filter_by_stream_name=True, filter_by_prefix=True, timeout=SUB) as sub:
        assert ids(take(sub, 2)) == ids(old)
        e = ev()
        append(client, stream, [e], 1)
        got = next(sub)
        assert got.id == e.id and got.stream_name == stream


@pytest.mark.subscribe
def test_subscribe_all_from_position_is_exclusive(client, stream):
    old = [ev(), ev(), ev()]
    append(client, stream, old, StreamState.NO_STREAM)
    first = client.get_stream(stream, timeout=CALL)[0]
    with client.subscribe_to_all(commit_position=first.commit_position, filter_include=[stream], filter_by_stream_name=True, filter_by_prefix=True, timeout=SUB) as sub:
        assert ids(take(sub, 2)) == ids(old[1:])
        e = ev()
        append(client, stream, [e], 2)
        assert next(sub).id == e.id


@pytest.mark.subscribe
def test_subscribe_all_from_position_unfiltered(client, stream):
    old = [ev(), ev()]
    append(client, stream, old, StreamState.NO_STREAM)
    first = client.get_stream(stream, timeout=CALL)[0]
    with client.subscribe_to_all(commit_position=first.commit_position, filter_exclude=(), timeout=SUB) as sub:
        got = next(sub)
        assert got.id == old[1].id and got.commit_position > first.commit_position


@pytest.mark.subscribe
def test_subscribe_all_from_end(client, stream):
    append(client, stream, [ev(), ev()], StreamState.NO_STREAM)
    with client.subscribe_to_all(from_end=True, filter_include=[stream], filter_by_stream_name=True, filter_by_prefix=True, timeout=SUB) as sub:
        e = ev()
        append(client, stream, [e], 1)
        got = next(sub)
        assert got.id == e.id and got.stream_position == 2


@pytest.mark.subscribe
def test_subscribe_all_caught_up_marker(client, stream):
    old = [ev(), ev()]
    append(client, stream, old, StreamState.NO_STREAM)
    with client.subscribe_to_all(filter_include=[stream], filter_by_stream_name=True, filter_by_prefix=True, include_caught_up=True, timeout=SUB) as sub:
        got = take(sub, 3)
        assert ids(got[:2]) == ids(old)
        assert got[2].is_caught_up, f"expected a CaughtUp after the history, got {got[2]!r}"
        e = ev()
        append(client, stream, [e], 1)
        assert next(sub).id == e.id


@pytest.mark.subscribe
def test_subscribe_all_checkpoints_with_filter(client, stream):
    tag = uuid.uuid4().hex
    wanted = f"Wanted{tag}"
    marker_cp = append(client, stream, [ev()], StreamState.NO_STREAM)
    append(client, stream, [ev(f"Other{tag}") for _ in range(10)], 0)
    match = ev(wanted)
    match_cp = append(client, stream, [match], 10)
    checkpoints = []
    with client.subscribe_to_all(
        commit_position=marker_cp,
        filter_include=[wanted],
        include_checkpoints=True,
        window_size=1,
        checkpoint_interval_multiplier=1,
        timeout=SUB,
    ) as sub:
        for item in sub:
            if item.is_checkpoint:
                checkpoints.append(item.commit_position)
                continue
            assert item.id == match.id and item.commit_position == match_cp
            break
    assert checkpoints, "no checkpoint while searching 10 non-matching events with window 1 x 1"
    assert checkpoints == sorted(checkpoints)
    assert all(marker_cp <= c <= match_cp for c in checkpoints), (marker_cp, checkpoints, match_cp)
    # A checkpoint is a position to resume from: the first match after it is the one we saw.
    resume = max(c for c in checkpoints if c < match_cp) if any(c < match_cp for c in checkpoints) else marker_cp
    with client.subscribe_to_all(commit_position=resume, filter_include=[wanted], timeout=SUB) as sub:
        assert next(sub).id == match.id


@pytest.mark.subscribe
def test_subscription_stop_then_server_serves(client, stream):
    append(client, stream, [ev(), ev()], StreamState.NO_STREAM)
    sub = client.subscribe_to_stream(stream, timeout=SUB)
    assert next(sub).stream_position == 0
    sub.stop()
    with pytest.raises(StopIteration):
        next(sub)
    serves(client)


@pytest.mark.subscribe
def test_many_cancelled_subscriptions(client, stream):
    append(client, stream, [ev()], StreamState.NO_STREAM)
    for _ in range(25):
        sub = client.subscribe_to_stream(stream, timeout=SUB)
        assert next(sub).stream_position == 0
        sub.stop()
        all_sub = client.subscribe_to_all(from_end=True, timeout=SUB)
        all_sub.stop()
    with client.subscribe_to_stream(stream, stream_position=0, timeout=SUB) as sub:
        e = ev()
        append(client, stream, [e], 0)
        assert next(sub).id == e.id
    serves(client)


# ---------------------------------------------------------------------------------------------- delete


@pytest.mark.delete
def test_delete_then_read_not_found(client, stream):
    append(client, stream, [ev(), ev(), ev()], StreamState.NO_STREAM)
    client.delete_stream(stream, current_version=2, timeout=CALL)
    with pytest.raises(NotFoundError):
        client.get_stream(stream, timeout=CALL)
    assert client.get_current_version(stream, timeout=CALL) == StreamState.NO_STREAM


@pytest.mark.delete
def test_delete_then_append_continues_numbering(client, stream, rpc):
    append(client, stream, [ev(), ev(), ev()], StreamState.NO_STREAM, rpc)
    client.delete_stream(stream, current_version=StreamState.ANY, timeout=CALL)
    e = ev()
    append(client, stream, [e], StreamState.NO_STREAM, rpc)
    got = client.get_stream(stream, timeout=CALL)
    assert ids(got) == [e.id] and positions(got) == [3]
    assert client.get_current_version(stream, timeout=CALL) == 3


@pytest.mark.delete
def test_delete_with_wrong_revision(client, stream):
    append(client, stream, [ev(), ev()], StreamState.NO_STREAM)
    with pytest.raises(WrongCurrentVersionError):
        client.delete_stream(stream, current_version=5, timeout=CALL)
    assert len(client.get_stream(stream, timeout=CALL)) == 2


@pytest.mark.delete
def test_delete_missing_stream_not_found(client, stream):
    # The server answers FAILED_PRECONDITION "…WrongExpectedVersion… Actual version: -1", which the
    # client turns into NotFoundError.
    with pytest.raises(NotFoundError):
        client.delete_stream(stream, current_version=0, timeout=CALL)


@pytest.mark.delete
def test_tombstone_then_read_raises_deleted(client, stream):
    append(client, stream, [ev(), ev()], StreamState.NO_STREAM)
    client.tombstone_stream(stream, current_version=1, timeout=CALL)
    with pytest.raises(StreamIsDeletedError):
        client.get_stream(stream, timeout=CALL)
    with pytest.raises(StreamIsDeletedError):
        client.get_stream(stream, backwards=True, limit=1, timeout=CALL)


@pytest.mark.delete
def test_tombstone_then_append_raises_deleted(client, stream):
    append(client, stream, [ev()], StreamState.NO_STREAM)
    client.tombstone_stream(stream, current_version=StreamState.ANY, timeout=CALL)
    # BatchAppend: the StreamDeleted detail → StreamIsDeletedError.
    with pytest.raises(StreamIsDeletedError):
        append(client, stream, [ev()], StreamState.ANY, "batch")
    # Append: FAILED_PRECONDITION "… is deleted" → the client's FailedPreconditionError (it has no
    # streams-specific mapping on this path).
    with pytest.raises((StreamIsDeletedError, FailedPreconditionError)) as info:
        append(client, stream, [ev()], StreamState.ANY, "append")
    assert "deleted" in str(info.value)


@pytest.mark.delete
def test_tombstone_is_final(client, stream):
    append(client, stream, [ev()], StreamState.NO_STREAM)
    client.tombstone_stream(stream, current_version=0, timeout=CALL)
    with pytest.raises(StreamIsDeletedError):
        client.tombstone_stream(stream, current_version=StreamState.ANY, timeout=CALL)
    with pytest.raises(StreamIsDeletedError):
        client.delete_stream(stream, current_version=StreamState.ANY, timeout=CALL)
    with pytest.raises(StreamIsDeletedError):
        client.get_stream(stream, timeout=CALL)


# ---------------------------------------------------------------------------------------------- metadata


@pytest.mark.metadata
def test_stream_metadata_missing(client, stream):
    assert client.get_stream_metadata(stream, timeout=CALL) == ({}, StreamState.NO_STREAM)


@pytest.mark.metadata
def test_stream_metadata_round_trip(client):
    stream = new_stream_name("snapshot-$x-{u}")
    first = {"$maxCount": 100, "custom": {"a": [1, "x", None, True]}, "ü": "✓"}
    client.set_stream_metadata(stream, metadata=first, current_version=StreamState.NO_STREAM, timeout=CALL)
    assert client.get_stream_metadata(stream, timeout=CALL) == (first, 0)
    second = {"$maxAge": 3600}
    client.set_stream_metadata(stream, metadata=second, current_version=0, timeout=CALL)
    assert client.get_stream_metadata(stream, timeout=CALL) == (second, 1)
    with pytest.raises(WrongCurrentVersionError):
        client.set_stream_metadata(stream, metadata=first, current_version=0, timeout=CALL)
    assert client.get_stream_metadata(stream, timeout=CALL) == (second, 1)


@pytest.mark.metadata
def test_metadata_stream_is_readable(client, stream):
    client.set_stream_metadata(stream, metadata={"$maxCount": 3}, timeout=CALL)
    got = client.get_stream("$$" + stream, timeout=CALL)
    assert len(got) == 1
    assert got[0].type == "$metadata" and got[0].stream_name == "$$" + stream
    assert got[0].content_type == "application/json"
    assert json.loads(got[0].data) == {"$maxCount": 3}


@pytest.mark.metadata
def test_max_count_honoured_by_reads(client, stream):
    events = [ev() for _ in range(5)]
    append(client, stream, events, StreamState.NO_STREAM)
    client.set_stream_metadata(stream, metadata={"$maxCount": 2}, timeout=CALL)
    assert positions(client.get_stream(stream, timeout=CALL)) == [3, 4]
    assert positions(client.get_stream(stream, backwards=True, timeout=CALL)) == [4, 3]
    assert positions(client.get_stream(stream, stream_position=0, timeout=CALL)) == [3, 4]
    e = ev()
    append(client, stream, [e], 4)
    assert positions(client.get_stream(stream, timeout=CALL)) == [4, 5]
    assert client.get_current_version(stream, timeout=CALL) == 5


@pytest.mark.metadata
def test_truncate_before_honoured_by_reads(client, stream):
    append(client, stream, [ev() for _ in range(5)], StreamState.NO_STREAM)
    client.set_stream_metadata(stream, metadata={"$tb": 3}, timeout=CALL)
    assert positions(client.get_stream(stream, timeout=CALL)) == [3, 4]
    assert positions(client.get_stream(stream, backwards=True, timeout=CALL)) == [4, 3]
    assert client.get_stream_metadata(stream, timeout=CALL)[0] == {"$tb": 3}


@pytest.mark.metadata
def test_max_age_honoured_by_reads(client, stream):
    old = ev()
    old_position = append(client, stream, [old], StreamState.NO_STREAM)
    client.set_stream_metadata(stream, metadata={"$maxAge": 1}, timeout=CALL)
    # The event ages out within a second or so of being written: wait for it with a deadline.
    deadline = time.monotonic() + 10
    while ids(client.get_stream(stream, timeout=CALL)) != []:
        assert time.monotonic() < deadline, "an event older than $maxAge is still read"
        time.sleep(0.1)
    young = ev()
    append(client, stream, [young], 0)
    assert ids(client.get_stream(stream, timeout=CALL)) == [young.id]
    # $all keeps everything (no scavenge).
    assert ids(client.read_all(commit_position=old_position, filter_exclude=(), limit=1, timeout=CALL)) == [old.id]


@pytest.mark.delete
@pytest.mark.filter
def test_a_tombstone_is_a_system_event_in_all(client, stream):
    e = ev()
    append(client, stream, [e], StreamState.NO_STREAM)
    start = client.get_stream(stream, timeout=CALL)[0].commit_position
    client.tombstone_stream(stream, current_version=0, timeout=CALL)
    unfiltered = [x for x in client.read_all(commit_position=start, filter_exclude=(), timeout=CALL) if x.stream_name == stream]
    assert [x.type for x in unfiltered] == [e.type, "$streamDeleted"]
    default = [x for x in client.read_all(commit_position=start, timeout=CALL) if x.stream_name == stream]
    assert [x.type for x in default] == [e.type]


@pytest.mark.metadata
@pytest.mark.delete
def test_metadata_of_tombstoned_stream(client, stream):
    append(client, stream, [ev()], StreamState.NO_STREAM)
    client.tombstone_stream(stream, current_version=0, timeout=CALL)
    with pytest.raises(StreamIsDeletedError):
        client.get_stream_metadata(stream, timeout=CALL)


# ---------------------------------------------------------------------------------------------- binary


BINARY = bytes(range(256)) + b"\x00\x00\xff\xfe\xc3\x28\xed\xa0\x80"  # NULs and invalid UTF-8
BINARY_META = b"\x00\xc3\x28meta\xff\x00"


@pytest.mark.binary
def test_binary_payload_round_trip(client, stream, rpc):
    e = NewEvent(type="Blob", data=BINARY, metadata=BINARY_META, content_type="application/octet-stream")
    cp = append(client, stream, [e], StreamState.NO_STREAM, rpc)
    for got in (
        client.get_stream(stream, timeout=CALL)[0],
        next(iter(client.read_all(commit_position=cp, limit=1, timeout=CALL))),
    ):
        assert got.id == e.id
        assert got.data == BINARY and got.metadata == BINARY_META
        assert got.content_type == "application/octet-stream"
        assert got.type == "Blob"
    with client.subscribe_to_stream(stream, timeout=SUB) as sub:
        got = next(sub)
        assert got.data == BINARY and got.metadata == BINARY_META


@pytest.mark.binary
def test_json_event_fields_round_trip(client, stream, rpc):
    data = json.dumps({"ü": "✓", "n": [1, 2.5, None]}).encode()
    meta = json.dumps({"correlation": str(uuid.uuid4())}).encode()
    e = NewEvent(type="Tëst✓.Happened", data=data, metadata=meta, id=uuid.uuid4())
    append(client, stream, [e], StreamState.NO_STREAM, rpc)
    got = client.get_stream(stream, timeout=CALL)[0]
    assert (got.id, got.type, got.data, got.metadata, got.content_type) == (e.id, e.type, data, meta, "application/json")
    assert got.stream_name == stream and got.stream_position == 0 and got.link is None


@pytest.mark.binary
def test_empty_data_and_metadata(client, stream, rpc):
    e = NewEvent(type="Empty", data=b"", metadata=b"", content_type="application/octet-stream")
    append(client, stream, [e], StreamState.NO_STREAM, rpc)
    got = client.get_stream(stream, timeout=CALL)[0]
    assert got.data == b"" and got.metadata == b"" and got.id == e.id


@pytest.mark.binary
def test_large_event(client, stream):
    blob = os.urandom(512 * 1024)
    e = NewEvent(type="Large", data=blob, content_type="application/octet-stream")
    append(client, stream, [e], StreamState.NO_STREAM)
    assert client.get_stream(stream, timeout=CALL)[0].data == blob


# ---------------------------------------------------------------------------------------------- deadline


@pytest.mark.deadline
def test_stream_subscription_deadline(client, stream):
    append(client, stream, [ev()], StreamState.NO_STREAM)
    sub = client.subscribe_to_stream(stream, timeout=1.5)
    assert next(sub).stream_position == 0
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as info:
        next(sub)
    assert isinstance(info.value, GrpcDeadlineExceededError)
    assert time.monotonic() - started < 10
    serves(client)


@pytest.mark.deadline
def test_all_subscription_deadline(client):
    sub = client.subscribe_to_all(from_end=True, timeout=1.5)
    with pytest.raises(DeadlineExceededError):
        next(sub)
    serves(client)


@pytest.mark.deadline
def test_read_deadline(client, stream):
    append(client, stream, [ev()], StreamState.NO_STREAM)
    with pytest.raises(DeadlineExceededError):
        client.get_stream(stream, timeout=0.000001)
    with pytest.raises(DeadlineExceededError):
        list(client.read_all(timeout=0.000001))
    serves(client)


# ---------------------------------------------------------------------------------------------- auth


@pytest.fixture
def bad_client(client):
    if not BAD_URI:
        pytest.skip("CHRONICLE_GRPC_BAD_URI is not set")
    c = KurrentDBClient(BAD_URI, root_certificates=root_certificates())
    yield c
    c.close()


@pytest.mark.auth
def test_wrong_password_is_unauthenticated(client, bad_client, stream):
    append(client, stream, [ev()], StreamState.NO_STREAM)
    with pytest.raises(UnauthenticatedError):
        bad_client.get_stream(stream, timeout=CALL)
    with pytest.raises(UnauthenticatedError):
        bad_client.append_to_stream(stream, events=[ev()], current_version=StreamState.ANY, timeout=CALL)
    with pytest.raises(UnauthenticatedError):
        bad_client.append_to_stream(stream, events=ev(), current_version=StreamState.ANY, timeout=CALL)
    with pytest.raises(UnauthenticatedError):
        list(bad_client.read_all(limit=1, timeout=CALL))
    with pytest.raises(UnauthenticatedError):
        bad_client.subscribe_to_stream(stream, timeout=CALL)
    with pytest.raises(UnauthenticatedError):
        bad_client.delete_stream(stream, current_version=StreamState.ANY, timeout=CALL)
    # Nothing was written, and the right credentials still work.
    assert len(client.get_stream(stream, timeout=CALL)) == 1


# ---------------------------------------------------------------------------------------------- esdbclient

# esdbclient and kurrentdbclient register the same protobuf names, so they can't share a process:
# each esdbclient check runs in its own interpreter (esdb_checks.py).
ESDB_SCRIPT = os.path.join(HERE, "esdb_checks.py")
_spec = importlib.util.spec_from_file_location("esdb_checks", ESDB_SCRIPT)
esdb_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(esdb_checks)


@pytest.mark.esdb
@pytest.mark.parametrize(
    "check", [pytest.param(c, marks=pytest.mark.auth) if c == "auth" else c for c in sorted(esdb_checks.CHECKS)]
)
def test_esdb(check):
    if not ESDB_URI:
        pytest.skip("CHRONICLE_ESDB_URI is not set")
    if importlib.util.find_spec("esdbclient") is None:
        pytest.skip("esdbclient is not installed (pip install --no-deps esdbclient==1.1.7)")
    done = subprocess.run(
        [sys.executable, ESDB_SCRIPT, check], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    if done.returncode == esdb_checks.SKIP:
        pytest.skip(done.stdout.strip() or "skipped")
    assert done.returncode == 0, f"esdb check {check} failed:\n{done.stdout}\n{done.stderr}"
