"""One log, two doors: events a KurrentDB client appends are visible through Chronicle's HTTP API (the
admin console reads the same routes), and the applications' events through the client; the
applications' streams are theirs (a client reads them, never writes them), and their read models pass
over everything else.

Needs CHRONICLE_HTTP_URL (the same server's HTTP side) and, when it has one, CHRONICLE_ADMIN_TOKEN.
"""
import base64
import json
import os
import time
import urllib.error
import urllib.request
import uuid

import pytest
from kurrentdbclient import NewEvent, StreamState
from kurrentdbclient.exceptions import AccessDeniedError

HTTP = os.environ.get("CHRONICLE_HTTP_URL", "")
TOKEN = os.environ.get("CHRONICLE_ADMIN_TOKEN", "")
CALL = 10

pytestmark = pytest.mark.interop


def http(method, path, body=None):
    if not HTTP:
        pytest.skip("CHRONICLE_HTTP_URL is not set")
    request = urllib.request.Request(HTTP + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if TOKEN:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"admin:{TOKEN}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=CALL) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def quoted(name):
    return urllib.request.quote(name, safe="")


def test_client_events_read_through_http_and_the_console_api(client):
    name = f"order {uuid.uuid4()} ü$"
    json_event = NewEvent(type="OrderPlaced", data=b'{"total": 12.5}', metadata=b'{"$correlationId": "x"}')
    blob = NewEvent(type="Receipt", data=bytes([0, 255, 1, 2]), content_type="application/octet-stream")
    client.append_to_stream(name, events=[json_event, blob], current_version=StreamState.NO_STREAM, timeout=CALL)
    for path in (f"/streams/{quoted(name)}", f"/admin/api/streams/{quoted(name)}"):
        status, body = http("GET", path)
        assert status == 200, (path, body)
        events = body["events"]
        assert [e["stream"] for e in events] == [name, name]
        assert events[0]["data"] == {"total": 12.5} and events[0]["content_type"] == "application/json"
        assert base64.b64decode(events[0]["custom_metadata_base64"]) == b'{"$correlationId": "x"}'
        assert events[1]["data"] is None and events[1]["content_type"] == "application/octet-stream"
        assert base64.b64decode(events[1]["data_base64"]) == bytes([0, 255, 1, 2])
        assert [e["id"] for e in events] == [str(json_event.id), str(blob.id)]
    # The global log shows them at the positions the client was given.
    got = client.get_stream(name, timeout=CALL)
    status, body = http("GET", f"/log?after={got[0].commit_position - 1}&limit=2")
    assert status == 200 and [e["position"] for e in body["events"]] == [got[0].commit_position, got[1].commit_position]


def test_application_events_read_through_the_client(client):
    todo = str(uuid.uuid4())
    status, body = http("POST", f"/todo/{todo}", {"title": "from HTTP"})
    assert status == 201, body
    events = client.get_stream(f"todo-{todo}", timeout=CALL)
    assert [e.type for e in events] == ["TodoAdded"]
    assert json.loads(events[0].data)["title"] == "from HTTP" and events[0].content_type == "application/json"
    assert events[0].commit_position == body["position"]
    # And a subscription to $all from just before it delivers it.
    with client.subscribe_to_all(commit_position=body["position"] - 1, timeout=CALL) as subscription:
        first = next(iter(subscription))
    assert first.stream_name == f"todo-{todo}" and first.id == events[0].id


def test_application_streams_are_read_only_to_clients(client):
    todo = str(uuid.uuid4())
    status, _ = http("POST", f"/todo/{todo}", {"title": "mine"})
    assert status == 201
    stream = f"todo-{todo}"
    for attempt in (
        lambda: client.append_to_stream(stream, events=[NewEvent(type="TodoCompleted", data=b"{}")], current_version=StreamState.ANY, timeout=CALL),
        lambda: client.append_to_stream(stream, events=NewEvent(type="TodoCompleted", data=b"{}"), current_version=StreamState.ANY, timeout=CALL),
        lambda: client.delete_stream(stream, current_version=StreamState.ANY, timeout=CALL),
        lambda: client.tombstone_stream(stream, current_version=StreamState.ANY, timeout=CALL),
        lambda: client.set_stream_metadata(stream, metadata={"$maxCount": 1}, timeout=CALL),
    ):
        with pytest.raises(AccessDeniedError):
            attempt()
    assert [e.type for e in client.get_stream(stream, timeout=CALL)] == ["TodoAdded"]


def test_read_models_pass_over_what_is_not_theirs(client):
    # Events that look like the Todo application's, in streams it does not own, and bytes: its read
    # models and reactors must skip them and keep going.
    lookalike = f"todos-{uuid.uuid4()}"
    client.append_to_stream(
        lookalike,
        events=[NewEvent(type="TodoAdded", data=b'{"not": "a todo"}'), NewEvent(type="TodoAdded", data=b"\x00\x01", content_type="application/octet-stream")],
        current_version=StreamState.NO_STREAM, timeout=CALL)
    client.append_to_stream(f"{uuid.uuid4()}", events=[NewEvent(type="$metadata", data=b"{}")], current_version=StreamState.ANY, timeout=CALL)
    todo = str(uuid.uuid4())
    status, body = http("POST", f"/todo/{todo}", {"title": "after the foreign events"})
    assert status == 201
    # The board reads past the foreign events up to the new todo (the read model waits for the position).
    status, board = http("GET", f"/todos/outstanding?after={body['position']}")
    assert status == 200, board
    assert todo in json.dumps(board) and "not" not in json.dumps(board)
    # And no subscription stopped on them.
    deadline = time.monotonic() + 20
    while True:
        status, subscriptions = http("GET", "/admin/api/subscriptions")
        assert status == 200
        rows = subscriptions["subscriptions"]
        failing = [r["name"] for r in rows if r["fault"] is not None or r["state"] not in ("running", "starting")]
        behind = [r["name"] for r in rows if r["checkpoint"] < body["position"]]
        if not failing and not behind:
            break
        assert time.monotonic() < deadline, f"failing {failing}, behind {behind}"
        time.sleep(0.2)
    # A rebuild reads the same log, foreign events and all, and comes out the same.
    status, rebuilt = http("POST", "/admin/api/subscriptions/outstanding_todos/rebuild", {})
    assert status == 200, rebuilt
    deadline = time.monotonic() + 30
    while True:
        rows = {r["name"]: r for r in http("GET", "/admin/api/subscriptions")[1]["subscriptions"]}
        rebuild = rows["outstanding_todos"].get("rebuild")
        if rebuild and rebuild["phase"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, f"the rebuild did not end: {rebuild}"
        time.sleep(0.2)
    assert rebuild["phase"] == "done" and rebuild["error"] is None, rebuild
    status, again = http("GET", f"/todos/outstanding?after={body['position']}")
    assert status == 200 and again == board


def test_the_readmes_python_example_runs_as_written(client):
    # The block under "Use Chronicle from any KurrentDB client", against this server (its address and
    # credentials, and a fresh stream name), with the output it promises.
    import contextlib
    import io
    import re

    from kurrent_settings import GRPC_URI, root_certificates

    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md"), encoding="utf-8").read()
    section = readme[readme.index("## Use Chronicle from any KurrentDB client"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace('KurrentDBClient(uri="kurrentdb://127.0.0.1:2113?tls=false")', "KurrentDBClient(uri=URI, root_certificates=ROOT)")
    code = code.replace('stream = "order-7f3c"', f'stream = "order-{uuid.uuid4().hex[:8]}"')
    assert "URI" in code and 'stream = "order-7f3c"' not in code, "the README's example changed: update this test"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"URI": GRPC_URI, "ROOT": root_certificates()})
    assert printed.getvalue().splitlines() == ["[('OrderPlaced', 0), ('Receipt', 1)]", "Receipt"]
