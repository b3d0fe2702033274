"""A seeded, reproducible generator of hostile HTTP requests across every route, and its runner.

`plan(seed, count, ...)` answers the same list of cases for the same arguments. Each case is sent as
raw bytes on a fresh loopback connection (so that any byte can be sent), and judged:

- never a 5xx, never a hang (an answer, or the connection closed, within the case's deadline);
- a case that must be refused gets a 4xx (and, where the right status is known, that status: 405 for a
  wrong method, 413 for an oversized body, 415 for another content type, 400 for input errors);
- a 4xx carries `{"error": "..."}`; an empty body is recorded (parser-level errors of the HTTP library)
  but not failed; any other body is a violation;
- cases with a time limit (deep nesting: a fast 400) answer within it;
- an accepted command is recorded as an acknowledged write (the log check then wants exactly those).
"""

from __future__ import annotations

import json
import random
import re
import socket
import time
import uuid
from dataclasses import dataclass, field

from harness import LOOPBACK, ChronicleServer, Figures
from load import Recorder

COMMAND_ROUTES = [  # (method, template, event type)
    ("POST", "/todo/{id}", "TodoAdded"),
    ("PUT", "/todo/{id}", "TodoAmended"),
    ("POST", "/todo/{id}/complete", "TodoCompleted"),
    ("POST", "/todo/{id}/abandon", "TodoAbandoned"),
    ("PUT", "/todo/{id}/moveup", "TodoMovedUp"),
    ("POST", "/todo/{id}/reopen", "TodoReopened"),
    ("POST", "/todo/{id}/clear", "TodoCleared"),
]
GET_ROUTES = ["/health", "/metrics", "/todos/outstanding", "/todos/scheduled", "/todos/completed", "/todos/board",
              "/streams", "/streams/todo-{id}", "/log", "/admin/api/subscriptions", "/admin/api/history",
              "/events/{uuid}"]
ADMIN_ACTIONS = ["pause", "resume", "rebuild"]
SUBSCRIPTIONS = ["outstanding_todos", "scheduled_todos", "completed_todos", "todo_board", "todo_completed_notifier"]

HOSTILE_IDS = [
    "not-a-uuid", "..", "...", "%2e%2e", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%00", "%00abc", "abc%00", "%0a", "%0d%0aX-Forged:%201",
    "'%20OR%201=1--", "1;DROP%20TABLE%20events", "%27", "%22", "%3Cscript%3E", "null", "undefined", "0", "-1",
    "00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-0000000000000", "g0000000-0000-0000-0000-000000000000",
    "{00000000-0000-0000-0000-000000000000}", "%7B00000000-0000-0000-0000-000000000000%7D", "%C3%A9", "%FF", "%C0%AF",
    "%ED%A0%80", "%F0%9F%92%A9", "a" * 300, "x" * 5000, "%25", "%", "%zz", "+", "%20", "..%2f..%2f", "*", "~", "$",
    "00000000-0000-0000-0000-000000000000%00", "00000000_0000_0000_0000_000000000000",
]
HOSTILE_STREAMS = [
    "", "todo", "todo-", "-", "-x", "todo--", "todo-%00", "todo-a%00b", "%00", "todo-..", "..%2f..%2fetc%2fpasswd",
    "todo-%0a", "todo-%0d%0acritical", "TODO-abc", "todo-" + "a" * 300, "t" * 5000, "todo-%C3%A9", "todo-%FF", "todo-%20",
    "1todo-x", "_todo-x", "todo-a b", "todo-a'b", "todo-a%22b", "todo-*", "todo-%25", "todo-%", "todo-a/b", "%2e%2e",
    "outstanding_todos-1", "chronicle_head-1", "sqlite_master-1", "pg_catalog-1", "todo-1;select", "é-1",
]
BAD_POSITIONS = ["-1", "abc", "1.5", "1e3", "9223372036854775808", "99999999999999999999999", "", "%00", "0x10", "%201",
                 "1%20", "%FF", "+1", "--1", "NaN", "Infinity", "1,2", "%5B%5D", "%20", "1%00", "%E2%80%8B1"]
MAYBE_POSITIONS = {"+1", "%201", "1%20"}  # a lenient parser may read these as 1
BAD_LIMITS = ["0", "-5", "abc", "1e9", "99999999999999999999", "", "%00", "1.0", "0x10", "-0"]
ODD_CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                     "application/xml", "text/json", "application/jsonx", "application/json-seq", "json", "*/*",
                     "application/*", "text/html", "application/javascript", "application/json\x00",
                     "application /json", "application/ld+json", "image/png"]
MALFORMED_JSON = [
    b"{", b"}", b"[", b'{"title":', b'{"title":"a"', b'{"title":"a",}', b"{'title':'a'}", b'{"title":NaN}',
    b'{"title":Infinity}', b'{title:"a"}', b'{"title":"a"}}', b'{"title":"a"} x', b'{"title":"\\x"}', b'{"title":"\\u12"}',
    b'{"title":"a\nb"}', b'{"title":"a\tb"}', b'{"title":"a"/*c*/}', b'{"title":"a"}//', b'{"title":01}', b'{"title":-}',
    b'{"title":1.}', b'{"title":.5}', b'{"title":+1}', b'{"title":tru}', b'{"title":nul}', b'{"title":"a" "b"}',
    b'{"title"::"a"}', b'{,"title":"a"}', b'{"title":"a",,}', b"\x00", b'{"title":"a"}\x00', b'{"title":"a\x00"}',
    b"null", b'"title"', b"123", b"[]", b"true", b'[{"title":"a"}]', b'{"title":"a"}{"title":"b"}', b'{"":""',
    b'{"title":"\\ud800"', b"\xff\xfe{\x00}\x00", b'{"title":"\\"}', b"{\"title\":\"a\"\r\n", b"{}" * 1000,
]
WRONG_TYPE_VALUES = ["1", "1.5", "-0", "true", "false", "[]", "{}", '["a"]', '{"a":"b"}', "1e999", "[null]", '{"title":"x"}']
NUL_STRINGS = ['"\\u0000"', '"a\\u0000b"', '"abc\\u0000"', '"\\u0000abc"', '"\\u0000\\u0000"', '"x\\u0000\\u0001\\u001f"']
BAD_UTF8 = [b"\xff", b"\xfe", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3", b"\xe2\x82",
            b"\x80", b"\xbf\xbf", b"a\xffb", b"\xf8\x88\x80\x80\x80"]
TRAVERSAL_PATHS = [
    "/..%2f..%2f..%2fetc%2fpasswd", "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/admin/../../etc/passwd",
    "/admin/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/....//....//etc/passwd", "/%252e%252e/etc/passwd", "//etc/passwd",
    "/admin/..%5c..%5c..%5cetc%5cpasswd", "/index.html%00.js", "/admin/index.html/..", "/.git/config",
    "/admin/%00", "/%c0%ae%c0%ae/etc/passwd", "/static/../../../../etc/shadow",
]
ODD_PATHS = ["/", "//", "/todo", "/todo/", "/todos", "/todos/", "/todos/unknown", "/todos/board/x", "/todo//complete",
             "/log/", "/log/x", "/streams/", "/events", "/events/", "/admin/api", "/admin/api/subscriptions/",
             "/admin/api/subscriptions/x", "/admin/api/subscriptions/x/y/z", "/%", "/%zz", "/a%00b", "/" + "a" * 9000,
             "/todo/{id}/complete/extra", "/todo/{id}/%63omplete", "//todo//{id}", "/TODO/{id}", "/todo/{id}?x=1#frag",
             "/health?" + "a=1&" * 500, "/health/", "/HEALTH", "/metrics/x", "*", "/todos/board?after=0&after=1"]


@dataclass
class Case:
    index: int
    category: str
    method: str = "GET"
    path: str = "/"
    headers: list = field(default_factory=list)  # [(name, value)] in order; Host and Connection are added
    body: bytes | None = None
    raw: bytes | None = None  # sent exactly as is instead of a built request
    expect: str = "reject"  # reject (4xx) | either (no 5xx) | accept (2xx) | answer (any non-5xx, or closed for raw)
    allowed: tuple = ()  # the statuses allowed, when known
    max_seconds: float | None = None
    timeout: float = 10.0
    declared_length: int | None = None  # send this Content-Length with only `body` and wait (refused on the header?)
    todo_id: str | None = None
    event: str | None = None  # the event an accepted command writes
    note: str = ""

    def describe(self) -> str:
        target = self.raw[:80] if self.raw is not None else f"{self.method} {self.path[:100]}"
        body = f" body={self.body[:80]!r}{'…' if self.body and len(self.body) > 80 else ''}" if self.body else ""
        return f"#{self.index} [{self.category}] {target}{body}{' ' + self.note if self.note else ''}"


def json_body(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


class Generator:
    def __init__(self, seed: int, existing: list[str], nesting_depths: list[int], huge_sizes: list[int]):
        self.rng = random.Random(seed)
        self.existing = existing
        self.nesting_depths = nesting_depths
        self.huge_sizes = huge_sizes

    def fresh_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def existing_id(self) -> str:
        return self.rng.choice(self.existing)

    # -- categories ------------------------------------------------------------------------------
    def malformed_json(self, i: int) -> Case:
        todo = self.fresh_id()
        if self.rng.random() < 0.5:
            body = self.rng.choice(MALFORMED_JSON)
            return Case(i, "malformed-json", "POST", f"/todo/{todo}", [("Content-Type", "application/json")], body,
                        expect="reject", allowed=(400,), todo_id=todo, event="TodoAdded")
        # A valid add mutated at random: may happen to stay valid (then it must be written once).
        body = bytearray(json_body({"title": f"m{i}", "description": "d", "due_date": "2027-01-02",
                                    "stakeholder_email": "m@example.com"}))
        for _ in range(self.rng.randint(1, 3)):
            what = self.rng.randrange(4)
            at = self.rng.randrange(len(body) + 1)
            if what == 0 and body:
                del body[min(at, len(body) - 1)]
            elif what == 1:
                body[at:at] = self.rng.choice([b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\", b"\x00", b"\xff", b"\x7f",
                                               b" ", b"\n", b"9", b"e", b"-", b"\\u"])
            elif what == 2:
                end = min(len(body), at + self.rng.randint(1, 8))
                body[at:at] = body[at:end]
            else:
                del body[at:]
        return Case(i, "mutated-json", "POST", f"/todo/{todo}", [("Content-Type", "application/json")], bytes(body),
                    expect="either", todo_id=todo, event="TodoAdded")

    def wrong_types(self, i: int) -> Case:
        value = self.rng.choice(WRONG_TYPE_VALUES)
        route = self.rng.randrange(4)
        if route == 0:
            todo = self.fresh_id()
            key = self.rng.choice(["title", "description", "due_date", "stakeholder_email"])
            fields = {"title": '"ok"', key: value}
            path, event = f"/todo/{todo}", "TodoAdded"
        elif route == 1:
            todo = self.existing_id()
            key = self.rng.choice(["title", "description", "due_date", "stakeholder_email"])
            fields = {key: value}
            path, event = f"/todo/{todo}", "TodoAmended"
        elif route == 2:
            todo = self.existing_id()
            fields = {"completed_on": value}
            path, event = f"/todo/{todo}/complete", "TodoCompleted"
        else:
            todo = self.existing_id()
            fields = {"abandoned_on": value}
            path, event = f"/todo/{todo}/abandon", "TodoAbandoned"
        body = ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()
        method = "PUT" if route == 1 else "POST"
        return Case(i, "wrong-type", method, path, [("Content-Type", "application/json")], body, expect="reject",
                    allowed=(400,), todo_id=todo, event=event)

    def non_object(self, i: int) -> Case:
        method, template, event = self.rng.choice(COMMAND_ROUTES)
        todo = self.fresh_id() if template == "/todo/{id}" and method == "POST" else self.existing_id()
        body = self.rng.choice([b"[]", b"null", b"1", b'"x"', b"true", b'[{"title":"a"}]', b"[1,2,3]"])
        return Case(i, "non-object", method, template.format(id=todo), [("Content-Type", "application/json")], body,
                    expect="reject", allowed=(400,), todo_id=todo, event=event)

    def duplicate_keys(self, i: int) -> Case:
        todo = self.fresh_id()
        body = self.rng.choice([b'{"title":"a","title":"b"}', b'{"title":"a","description":"x","description":null}',
                                b'{"title":"a","due_date":"2027-01-01","due_date":"2026-02-30"}',
                                b'{"title":"a","\\u0074itle":"b"}'])
        return Case(i, "duplicate-keys", "POST", f"/todo/{todo}", [("Content-Type", "application/json")], body,
                    expect="reject", allowed=(400,), todo_id=todo, event="TodoAdded")

    def nul(self, i: int) -> Case:
        value = self.rng.choice(NUL_STRINGS)
        if self.rng.random() < 0.6:
            todo = self.fresh_id()
            key = self.rng.choice(["title", "description", "stakeholder_email", "due_date"])
            fields = {"title": '"nul test"', key: value}
            return Case(i, "nul", "POST", f"/todo/{todo}", [("Content-Type", "application/json")],
                        ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode(), expect="reject",
                        allowed=(400,), todo_id=todo, event="TodoAdded", note=f"{key}={value}")
        todo = self.existing_id()
        key = self.rng.choice(["title", "description", "stakeholder_email"])
        return Case(i, "nul", "PUT", f"/todo/{todo}", [("Content-Type", "application/json")],
                    f'{{"{key}":{value}}}'.encode(), expect="reject", allowed=(400,), todo_id=todo, event="TodoAmended",
                    note=f"{key}={value}")

    def invalid_utf8(self, i: int) -> Case:
        bad = self.rng.choice(BAD_UTF8)
        todo = self.fresh_id()
        where = self.rng.randrange(3)
        if where == 0:
            body = b'{"title":"x' + bad + b'y"}'
        elif where == 1:
            body = b'{"title":"ok","description":"' + bad + b'"}'
        else:
            body = b'{"ti' + bad + b'tle":"ok"}'
        return Case(i, "invalid-utf8", "POST", f"/todo/{todo}", [("Content-Type", "application/json")], body,
                    expect="reject", allowed=(400,), todo_id=todo, event="TodoAdded")

    def hostile_id(self, i: int) -> Case:
        raw_id = self.rng.choice(HOSTILE_IDS)
        method, template, event = self.rng.choice(COMMAND_ROUTES)
        body = json_body({"title": "x", "completed_on": "2026-11-30", "abandoned_on": "2026-11-30"}) \
            if template != "/todo/{id}" or method == "POST" else json_body({"title": "y"})
        return Case(i, "hostile-id", method, template.format(id=raw_id), [("Content-Type", "application/json")], body,
                    expect="reject", allowed=(400, 404, 405, 414, 431))

    def id_spellings(self, i: int) -> Case:
        todo = self.fresh_id()
        spelled = self.rng.choice([todo.upper(), todo.replace("-", ""), "{" + todo + "}", todo + " ", " " + todo,
                                   todo[:8].upper() + todo[8:]])
        clean = "{" not in spelled and " " not in spelled and "-" in spelled
        return Case(i, "id-spelling", "POST", f"/todo/{spelled.replace(' ', '%20').replace('{', '%7B').replace('}', '%7D')}",
                    [("Content-Type", "application/json")], json_body({"title": f"spelled {i}"}),
                    expect="either" if clean else "either", todo_id=todo, event="TodoAdded")

    def stream_name(self, i: int) -> Case:
        name = self.rng.choice(HOSTILE_STREAMS)
        path = self.rng.choice([f"/streams/{name}", f"/streams?after={name}", f"/streams/{name}?from=1&limit=5"])
        return Case(i, "stream-name", "GET", path, expect="answer", allowed=(200, 400, 404, 414, 431))

    def event_id(self, i: int) -> Case:
        value = self.rng.choice(HOSTILE_IDS + [self.fresh_id()])
        path = self.rng.choice([f"/events/{value}", f"/log?correlation={value}"])
        return Case(i, "event-id", "GET", path, expect="answer", allowed=(200, 400, 404, 414, 431))

    def wrong_method(self, i: int) -> Case:
        json_ct = self.rng.random() < 0.5
        headers = [("Content-Type", "application/json")] if json_ct else []
        body = b"{}"
        if self.rng.random() < 0.6:
            method, template, _ = self.rng.choice(COMMAND_ROUTES)
            todo = self.existing_id()
            path = template.format(id=todo)
            allowed_here = {m for m, t, _ in COMMAND_ROUTES if t == template}
            if template == "/todo/{id}":
                allowed_here |= {"GET", "HEAD"}  # the todo's state (time travel)
            wrong = self.rng.choice([m for m in ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"] if m not in allowed_here])
            if wrong in ("GET", "HEAD"):
                return Case(i, "wrong-method", wrong, path, expect="reject", allowed=(404, 405), note="on a command route")
            if wrong == "OPTIONS":
                return Case(i, "wrong-method", wrong, path, headers, body, expect="answer", allowed=(200, 204, 405),
                            note="OPTIONS on a command route")
            return Case(i, "wrong-method", wrong, path, headers, body, expect="reject", allowed=(405,),
                        note=f"{'with' if json_ct else 'without'} application/json")
        path = self.rng.choice(GET_ROUTES).format(id=self.existing_id(), uuid=self.fresh_id())
        wrong = self.rng.choice(["HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
        if wrong == "HEAD":
            return Case(i, "wrong-method", "HEAD", path, expect="answer", allowed=(200, 404, 405) if path.startswith("/events/") else (200, 405),
                        note="HEAD on a GET route")
        if wrong == "OPTIONS":
            return Case(i, "wrong-method", wrong, path, expect="answer", allowed=(200, 204, 405), note="OPTIONS on a GET route")
        return Case(i, "wrong-method", wrong, path, headers, body, expect="reject",
                    allowed=(405,) if json_ct else (405, 415), note=f"on a GET route, {'with' if json_ct else 'without'} application/json")

    def odd_method(self, i: int) -> Case:
        method = self.rng.choice(["TRACE", "FOO", "PROPFIND", "get", "CONNECT", "MKCOL", "LINK", "G\x00T", "GET\t"])
        path = self.rng.choice(["/health", f"/todo/{self.existing_id()}", "/log"])
        if method == "CONNECT":
            path = "127.0.0.1:1"
        raw = f"{method} {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".encode()
        # 501 Not Implemented is the standard answer to a method the server does not know.
        return Case(i, "odd-method", method, path, raw=raw, expect="reject", allowed=tuple(range(400, 500)) + (501,))

    def content_type(self, i: int) -> Case:
        todo = self.fresh_id()
        body = json_body({"title": f"ct {i}"})
        roll = self.rng.random()
        if roll < 0.15:
            return Case(i, "content-type", "POST", f"/todo/{todo}", [], body, expect="reject", allowed=(415,),
                        todo_id=todo, event="TodoAdded", note="no Content-Type")
        if roll < 0.3:
            ct = self.rng.choice(["application/json; charset=utf-8", "APPLICATION/JSON", "application/json;charset=UTF-8"])
            return Case(i, "content-type", "POST", f"/todo/{todo}", [("Content-Type", ct)], body, expect="either",
                        todo_id=todo, event="TodoAdded", note=ct)
        if roll < 0.4:
            return Case(i, "content-type", "POST", f"/todo/{todo}",
                        [("Content-Type", "text/plain"), ("Content-Type", "application/json")], body, expect="either",
                        todo_id=todo, event="TodoAdded", note="two Content-Types")
        ct = self.rng.choice(ODD_CONTENT_TYPES)
        return Case(i, "content-type", "POST", f"/todo/{todo}", [("Content-Type", ct)], body, expect="reject",
                    allowed=(400, 415), todo_id=todo, event="TodoAdded", note=repr(ct))

    def bad_query(self, i: int) -> Case:
        pos = self.rng.choice(BAD_POSITIONS)
        lim = self.rng.choice(BAD_LIMITS)
        path = self.rng.choice([
            f"/log?after={pos}", f"/log?limit={lim}", f"/log?after=0&limit={lim}", f"/todos/board?after={pos}",
            f"/todos/outstanding?after={pos}", f"/todos/completed?after={pos}", f"/streams?limit={lim}",
            f"/streams/todo-{self.existing_id()}?from={pos}", f"/streams/todo-{self.existing_id()}?limit={lim}",
            f"/events/live?after={pos}", f"/todos/scheduled?after={pos}",
        ])
        maybe = pos in MAYBE_POSITIONS and "limit=" not in path
        return Case(i, "bad-query", "GET", path, expect="answer" if maybe else "reject",
                    allowed=(200, 400) if maybe else (400,))

    def beyond_head(self, i: int) -> Case:
        return Case(i, "bad-query", "GET", f"/todos/{self.rng.choice(['board', 'outstanding', 'scheduled', 'completed'])}"
                    f"?after={self.rng.choice([10**9, 2**62, 2**63 - 1])}", expect="reject", allowed=(400,))

    def path_garbage(self, i: int) -> Case:
        if self.rng.random() < 0.5:
            path = self.rng.choice(TRAVERSAL_PATHS)
            return Case(i, "traversal", "GET", path, expect="answer", allowed=(200, 301, 302, 308, 400, 403, 404),
                        note="must not serve files from outside the public folder")
        path = self.rng.choice(ODD_PATHS).format(id=self.existing_id())
        method = self.rng.choice(["GET", "POST"])
        headers = [("Content-Type", "application/json")] if method == "POST" else []
        return Case(i, "odd-path", method, path, headers, b"{}" if method == "POST" else None, expect="answer",
                    allowed=(200, 301, 302, 308, 400, 404, 405, 414, 415, 431))

    def admin(self, i: int) -> Case:
        name = self.rng.choice(HOSTILE_STREAMS + ["x", "%2e%2e", "todo_board%00", "TODO_BOARD", "a" * 300])
        action = self.rng.choice(ADMIN_ACTIONS + ["delete", "drop", "%00", "..", "rebuild%00", "PAUSE"])
        if self.rng.random() < 0.3:
            name = self.rng.choice(SUBSCRIPTIONS)
            action = self.rng.choice(["delete", "drop", "%00", "..", "rebuild%00", "PAUSE", "reset", "x" * 200])
        return Case(i, "admin", "POST", f"/admin/api/subscriptions/{name}/{action}", [("Content-Type", "application/json")],
                    b"{}", expect="reject", allowed=(400, 404, 405, 414))

    def protocol(self, i: int) -> Case:
        todo = self.existing_id()
        host = f"Host: {LOOPBACK}\r\n"
        lenient = tuple(range(400, 500)) + (200,)  # RFC 9112 lets a server accept these
        raws = [
            b"GARBAGE\r\n\r\n",
            (b"GET /health HTTP/9.9\r\n" + host.encode() + b"\r\n", (400, 505)),
            b"GET /health HTTP/1.1\r\n" + host.encode() + b"NoColonHere\r\n\r\n",
            b"GET /health HTTP/1.1\r\n" + host.encode() + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            b"GET /health HTTP/1.1\r\n" + host.encode() + b"".join(b"X-H%d: v\r\n" % n for n in range(3000)) + b"\r\n",
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
             "zz\r\n{}\r\n0\r\n\r\n").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
             "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
             "2\r\n{}XX0\r\n\r\n").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
             "-2\r\n{}\r\n0\r\n\r\n").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: 2\r\n"
             "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
             "2\r\n{}\r\n0\r\n\r\n").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n{{}}").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{{}}").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: 2\r\n"
             "Content-Length: 3\r\n\r\n{}").encode(),
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: 1\r\n\r\n{{}}").encode(),
            (b"GET /health HTTP/1.1\n" + host.replace("\r\n", "\n").encode() + b"\n", lenient),
            b"GET /health HTTP/1.1\r\n" + host.encode() + b"X-Nul: a\x00b\r\n\r\n",
            (b"GET /health HTTP/1.1\r\n" + host.encode() + b"X-Fold: a\r\n b\r\n\r\n", lenient),
            b"GET /health HTTP/1.1\r\n" + host.encode() + b" X-Lead: space\r\n\r\n",
            b"GET\r\n\r\n",
            b"GET /health\r\n\r\n",
            b"\r\n\r\n\r\n",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)) + b"\x00\x00\x02\x00\x2f\x01\x00",
            (b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", lenient),
            b"GET /h\xffalth HTTP/1.1\r\n" + host.encode() + b"\r\n",
            b"GET /health HTTP/1.1\r\n" + host.encode() + b"X-Bad\xff: v\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            (f"POST /todo/{todo}/reopen HTTP/1.1\r\n{host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
             "2\r\n{}\r\n").encode(),  # the last chunk never comes (the client then closes its side)
        ]
        raw = self.rng.choice(raws)
        raw, allowed = raw if isinstance(raw, tuple) else (raw, tuple(range(400, 500)))
        return Case(i, "protocol", "RAW", "", raw=raw, expect="answer", allowed=allowed)

    def deep_nesting(self, i: int) -> Case:
        depth = self.rng.choice(self.nesting_depths)
        shape = self.rng.randrange(4)
        if shape == 0:
            nested = "[" * depth + "]" * depth
        elif shape == 1:
            nested = '{"a":' * depth + "1" + "}" * depth
        else:
            nested = "[{" * (depth // 2) + "}]" * (depth // 2) if shape == 2 else '[{"a":' * (depth // 2) + "1" + "}]" * (depth // 2)
        todo = self.fresh_id()
        where = self.rng.randrange(3)
        body = (f'{{"title":"deep","x":{nested}}}' if where == 0 else
                f'{{"title":{nested}}}' if where == 1 else nested).encode()
        return Case(i, "deep-nesting", "POST", f"/todo/{todo}", [("Content-Type", "application/json")], body,
                    expect="reject", allowed=(400, 413), max_seconds=1.5, timeout=60, todo_id=todo, event="TodoAdded",
                    note=f"depth {depth}, {len(body)} bytes")

    def huge(self, i: int, k: int) -> Case:
        """The k-th huge case: each shape in turn, sizes growing with each round."""
        todo = self.fresh_id()
        limit = 1 << 20
        size = self.huge_sizes[(k // 6) % len(self.huge_sizes)]
        shape = k % 6
        if shape == 0:
            key = self.rng.choice(["title", "description", "stakeholder_email"])
            return Case(i, "huge-string", "POST", f"/todo/{todo}", [("Content-Type", "application/json")],
                        json_body({"title": "huge", key: "é" * (size // 2)}), expect="either", timeout=30, todo_id=todo,
                        event="TodoAdded", note=f"{key} of {size} bytes")
        if shape == 1:
            # Declared far beyond the limit, only a little sent: must be refused on the header.
            return Case(i, "oversized", "POST", f"/todo/{todo}", [("Content-Type", "application/json")],
                        b'{"title":"' + b"a" * 65536, declared_length=10 * limit, expect="reject", allowed=(413,),
                        max_seconds=3.0, timeout=3.0, note="Content-Length 10 MiB, 64 KiB sent",
                        todo_id=todo, event="TodoAdded")
        if shape == 2:
            return Case(i, "oversized", "POST", f"/todo/{todo}", [("Content-Type", "application/json")],
                        json_body({"title": "a" * (limit + 1)}), expect="reject", allowed=(413,), timeout=30,
                        todo_id=todo, event="TodoAdded", note=f"{limit + 12}-byte body")
        if shape == 3:
            return Case(i, "huge-string", "POST", f"/todo/{todo}", [("Content-Type", "application/json")],
                        b'{"title":"' + b"\\u00e9" * (size // 6) + b'"}', expect="either", timeout=30,
                        todo_id=todo, event="TodoAdded", note=f"{size // 6} escapes")
        if shape == 4:
            return Case(i, "huge-string", "GET", f"/streams/todo-{'a' * size}", expect="answer",
                        allowed=(400, 404, 414, 431), timeout=30, note=f"{size}-byte stream name")
        target = self.existing_id()
        return Case(i, "huge-string", "PUT", f"/todo/{target}", [("Content-Type", "application/json")],
                    json_body({"description": "\x00" + "d" * size}), expect="reject", allowed=(400, 413), timeout=30,
                    todo_id=target, event="TodoAmended", note=f"U+0000 then {size} bytes")

    def control(self, i: int) -> Case:
        todo = self.fresh_id()
        return Case(i, "valid", "POST", f"/todo/{todo}", [("Content-Type", "application/json")],
                    json_body({"title": f"valid {i}", "stakeholder_email": f"v{i}@example.com"}), expect="accept",
                    allowed=(201,), todo_id=todo, event="TodoAdded")


WEIGHTS = [("malformed_json", 12), ("wrong_types", 10), ("non_object", 3), ("duplicate_keys", 3), ("nul", 8),
           ("invalid_utf8", 6), ("hostile_id", 9), ("id_spellings", 2), ("stream_name", 7), ("event_id", 4),
           ("wrong_method", 10), ("odd_method", 2), ("content_type", 7), ("bad_query", 8), ("beyond_head", 1),
           ("path_garbage", 6), ("admin", 4), ("protocol", 6), ("control", 2)]


def plan(seed: int, count: int, existing: list[str], nesting: int, nesting_depths: list[int], huge: int,
         huge_sizes: list[int]) -> list[Case]:
    """The cases of one run: `nesting` deep-nesting and `huge` huge-body cases spread evenly, the rest by weight."""
    g = Generator(seed, existing, nesting_depths, huge_sizes)
    names = [n for n, _ in WEIGHTS]
    weights = [w for _, w in WEIGHTS]
    special: dict[int, str] = {}
    for k in range(nesting):
        special[(k * count) // max(1, nesting) + count // (2 * max(1, nesting))] = "deep"
    for k in range(huge):
        special.setdefault((k * count) // max(1, huge) + 7, "huge")
    cases = []
    huge_k = 0
    for i in range(count):
        kind = special.get(i)
        if kind == "deep":
            cases.append(g.deep_nesting(i))
        elif kind == "huge":
            cases.append(g.huge(i, huge_k))
            huge_k += 1
        else:
            cases.append(getattr(g, g.rng.choices(names, weights)[0])(i))
    return cases


# ---------------------------------------------------------------- sending


@dataclass
class Result:
    status: int = 0
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    ending: str = ""  # answered | closed | reset | timeout | refused
    seconds: float = 0.0


def build(case: Case, port: int) -> bytes:
    if case.raw is not None:
        return case.raw
    lines = [f"{case.method} {case.path} HTTP/1.1", f"Host: {LOOPBACK}:{port}", "Connection: close"]
    for name, value in case.headers:
        lines.append(f"{name}: {value}")
    if case.declared_length is not None:
        lines.append(f"Content-Length: {case.declared_length}")
    elif case.body is not None:
        lines.append(f"Content-Length: {len(case.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head + (case.body or b"")


def send(case: Case, port: int) -> Result:
    result = Result()
    payload = build(case, port)
    started = time.monotonic()
    try:
        s = socket.create_connection((LOOPBACK, port), timeout=case.timeout)
    except OSError:
        result.ending = "refused"
        return result
    received = b""
    deadline = started + case.timeout
    try:
        try:
            s.sendall(payload)
            if case.raw is not None or case.declared_length is None:
                s.shutdown(socket.SHUT_WR)  # nothing more is coming: the server must not wait for it
        except OSError:
            pass
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                result.ending = "timeout"
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                result.ending = "timeout"
                break
            except OSError:
                result.ending = "reset"
                break
            if not chunk:
                result.ending = "closed"
                break
            received += chunk
            if _answer_complete(received, case.method):
                result.ending = "answered"
                break
    finally:
        s.close()
    result.seconds = time.monotonic() - started
    head, sep, rest = received.partition(b"\r\n\r\n")
    first = head.split(b"\r\n", 1)[0].split(b" ")
    if len(first) >= 2 and first[0].startswith(b"HTTP/") and first[1].isdigit():
        result.status = int(first[1])
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        result.headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if result.headers.get("transfer-encoding", "").lower() == "chunked":
        body, data = b"", rest
        while data:
            size_line, _, data = data.partition(b"\r\n")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if size == 0:
                break
            body += data[:size]
            data = data[size + 2:]
        result.body = body
    else:
        length = result.headers.get("content-length", "")
        # Only the first answer (a second one, to bytes left over after the first request, may follow).
        result.body = rest[:int(length)] if length.isdigit() else rest
    return result


def _answer_complete(data: bytes, method: str) -> bool:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    lower = head.lower()
    if b"text/event-stream" in lower or method == "HEAD":
        return True
    for line in lower.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            try:
                return len(rest) >= int(value.strip())
            except ValueError:
                return True
        if name.strip() == b"transfer-encoding" and b"chunked" in value:
            return rest.endswith(b"0\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b""
    return status in (b"204", b"304") or status.startswith(b"1")


# ---------------------------------------------------------------- judging


def max_depth(text: str) -> int:
    depth = best = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings_in(v)


def judge(case: Case, result: Result, figures: Figures, stats: dict) -> list[str]:
    """The violations of one case (and its figures into `stats`)."""
    problems = []
    status = result.status
    stats["statuses"][str(status or result.ending)] = stats["statuses"].get(str(status or result.ending), 0) + 1
    if status >= 500 and status not in case.allowed:
        problems.append(f"answered {status}: {result.body[:200]!r}")
    if not status:
        if result.ending == "timeout":
            problems.append(f"no answer within {case.timeout:.0f}s")
        elif case.raw is None and case.category not in ("oversized",):
            problems.append(f"the connection ended ({result.ending}) without an answer to a well-formed request")
        else:
            stats["closed_without_answer"] += 1
    if 200 <= status < 300:
        if case.expect == "reject":
            problems.append(f"accepted ({status}) input that must be refused")
        if case.body:
            try:
                parsed = json.loads(case.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                parsed = None
            if parsed is not None and any("\x00" in s for s in strings_in(parsed)):
                problems.append("accepted a string holding U+0000")
            if max_depth(case.body.decode("utf-8", "replace")) > 100:
                problems.append("accepted a body nested more than 100 deep")
    if case.expect == "accept" and not 200 <= status < 300:
        problems.append(f"a valid request answered {status or result.ending}")
    if status and case.allowed and status not in case.allowed and not 200 <= status < 300 and status < 500:
        problems.append(f"answered {status}, expected {'/'.join(map(str, case.allowed[:6]))}"
                        f"{'…' if len(case.allowed) > 6 else ''}: {result.body[:120]!r}")
    if 400 <= status < 500 and case.method != "HEAD":  # an answer to HEAD has no body
        if not result.body.strip():
            stats["empty_4xx"] += 1
            key = f"{case.category} {status}"
            stats["empty_4xx_by"][key] = stats["empty_4xx_by"].get(key, 0) + 1
        else:
            try:
                body = json.loads(result.body.decode("utf-8"))
                if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
                    raise ValueError
            except (ValueError, UnicodeDecodeError):
                problems.append(f"a {status} whose body is not {{\"error\": …}}: {result.body[:120]!r}")
    if case.max_seconds is not None and result.seconds > case.max_seconds:
        problems.append(f"took {result.seconds:.2f}s (at most {case.max_seconds:.1f}s)")
    if b"root:x:0:0" in result.body or b"[core]" in result.body:
        problems.append("served a file from outside the public folder")
    stats["max_seconds"] = max(stats["max_seconds"], round(result.seconds, 3))
    return problems


def record(case: Case, result: Result, recorder: Recorder) -> None:
    """A command case as a client operation, for the log check (accepted writes must be there, once)."""
    if not case.todo_id or case.method not in ("POST", "PUT"):
        return
    if case.expect == "reject" or case.event is None:
        kind, event = f"invalid:{case.category}", None
    else:
        kind, event = {"TodoAdded": "add"}.get(case.event, case.event), case.event
    op = recorder.new(client=0, kind=kind, method=case.method, path=case.path, todo_id=case.todo_id,
                      expected_event=event, body=case.body[:200] if case.body else None)
    op.status = result.status
    op.seconds = result.seconds
    if 200 <= result.status < 300:
        op.outcome = "ok"
        try:
            ack = json.loads(result.body.decode("utf-8"))
            op.version, op.position = int(ack["stream_version"]), int(ack["position"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            op.error = f"2xx without an acknowledgement: {result.body[:120]!r}"
    elif 400 <= result.status < 500:
        op.outcome = "failed"
    else:
        op.outcome = "unknown"


def run(server: ChronicleServer, cases: list[Case], recorder: Recorder, figures: Figures, time_budget: float,
        health_every: int = 200) -> dict:
    stats = {"cases": 0, "statuses": {}, "empty_4xx": 0, "empty_4xx_by": {}, "closed_without_answer": 0,
             "max_seconds": 0.0, "violating_cases": 0, "by_category": {}, "server_restarts": 0}
    started = time.monotonic()
    groups: dict[tuple, dict] = {}  # one violation per kind of problem, with a count and the first example
    try:
        _run_cases(server, cases, recorder, figures, time_budget, health_every, stats, groups, started)
    finally:
        for (category, route, _), group in sorted(groups.items(), key=lambda kv: -kv[1]["count"]):
            figures.violation(f"{group['count']}x [{category}] {route}: e.g. {group['example']}")
    return stats


def _run_cases(server, cases, recorder, figures, time_budget, health_every, stats, groups, started) -> None:
    for case in cases:
        if time.monotonic() - started > time_budget:
            figures["note"] = f"time budget of {time_budget:.0f}s reached after {stats['cases']} of {len(cases)} cases"
            break
        result = send(case, server.port)
        stats["cases"] += 1
        stats["by_category"][case.category] = stats["by_category"].get(case.category, 0) + 1
        problems = judge(case, result, figures, stats)
        record(case, result, recorder)
        if problems:
            stats["violating_cases"] += 1
            for p in problems:
                key = (case.category, route_of(case), _shape(p))
                group = groups.setdefault(key, {"count": 0, "example": f"{case.describe()}: {p}"})
                group["count"] += 1
        slow = result.ending in ("timeout", "refused", "reset") or result.seconds > 2
        if slow or stats["cases"] % health_every == 0:
            _ensure_healthy(server, figures, stats, after=case)
    _ensure_healthy(server, figures, stats, after=None)


UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def route_of(case: Case) -> str:
    """The route a case aimed at, ids and values taken out (`/todo/{id}/complete`, `/log?after=`)."""
    if case.raw is not None:
        return "(raw bytes)"
    path, _, query = case.path.partition("?")
    path = UUID_RE.sub("{id}", path)
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in ("todo", "streams", "events") and parts[2] not in ("{id}", "live"):
        parts[2] = "{hostile}"
    if len(parts) > 2 and parts[1] == "todos" and parts[2]:
        parts[2] = "{list}"
    if len(parts) > 4 and parts[1] == "admin":
        parts[4:] = ["{name}", "{action}"]
    params = "&".join(sorted({kv.partition("=")[0] + "=" for kv in query.split("&") if kv})) if query else ""
    return "/".join(parts)[:80] + (f"?{params}" if params else "")


def _shape(problem: str) -> str:
    """A problem without its particulars (bodies, timings), to group alike ones."""
    return re.sub(r":\s*b['\"].*$|\d+\.\d+s", "", problem)[:80]


def _ensure_healthy(server: ChronicleServer, figures: Figures, stats: dict, after: Case | None) -> None:
    """`GET /health` must answer 200 (within 60 s, e.g. once a costly request is done); a dead server is
    a violation and is started again so that the run goes on."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not server.alive():
            figures.violation(f"the server exited ({server.process.returncode}) after {after.describe() if after else 'the run'}"
                              f":\n{server.log_tail(10)}")
            server.start()
            stats["server_restarts"] += 1
            return
        if server.healthy(timeout=5):
            return
        time.sleep(0.1)
    figures.violation(f"GET /health did not answer 200 for 60 s after {after.describe() if after else 'the run'}")
