"""The adversarial stage: a client who reads the code and aims at what it finds, rather than at random.

Each test is one attack and the contract that must hold under it:

- `test_admin_path_spellings`: the admin side behind `CHRONICLE_ADMIN_TOKEN` reached through other
  spellings of its paths (`//admin`, `/%61dmin`, `/./admin`, `/x/../admin`, the absolute form, …) and
  with a second, foreign `Host` header. Without the credential no spelling of any admin route answers
  2xx or 3xx and nothing changes (a revert, a pause, a resume, a rebuild); with it the canonical paths
  work (so the test is not vacuous); two `Host` headers naming another site are not answered 2xx.
- `test_as_of_storm`: 50 clients at once ask for the Todo lists `?as_of=` 100 distinct positions and
  times of a 3,000-event log (each a point-in-time build) while one client sends commands. Every
  answer is 200 (the right list) or 503/429 with `Retry-After`, none hangs; commands stay fast; the
  server's memory and the scratch files it leaves in its temporary directory stay bounded. A time with
  more than six fractional digits is a 200 or a 400, and the server lives on.
- `test_live_feed_hogging`: one client address holds 70 `/events/live` streams; a client from another
  address (127.0.0.2) still gets a working feed, the hog is refused beyond a per-client limit, and
  `/health` stays 200.
- `test_preempted_process_manager_ids[sqlite|postgres]`: the transfer process manager's command ids are
  derived (UUID v5) from the events that cause them, so a client reading the live feed can compute them
  and send its own `DepositMoney` with those ids first. Every honest transfer still settles, moving
  its money exactly once; no subscription faults; the attacker's deposits are ordinary deposits or a
  4xx, never a 5xx; money is conserved. And a `command_id` sent again with another body is a 4xx that
  stores nothing, with the same body the first answer, on another account a 4xx (never a 500).
- `test_generated_boundary_commands[sqlite|postgres]`: every exposed command and the Todo, cart and pizza
  routes with seeded boundary values — amounts at and around the bank's limit (also two deposits that
  push a balance past it, a transfer that credits a full account), ids of 1, 64 and 65 characters and
  unicode, quantities from 0 to 2^64, long titles, dates far in the past and future. No answer is 5xx;
  afterwards every subscription reaches the head and none is faulted, every account created reads
  back and is listed, a new account works normally, and every read model rebuilds.

Figures (statuses seen, counts, latencies, memory, scratch files) go to the results directory as for
every test; `note` sums each test up in one line for the driver's table.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import random
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

import pytest

import hostile
from harness import LOOPBACK, profile, profile_name, read_log, seed, wait_until
from harness import request as http
from verify import wait_caught_up

TOKEN = "some-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SETTLED = ("completed", "declined", "refunded")


def setting(key: str, ci, long=None):
    """A setting of this stage: RELIABILITY_OVERRIDES wins, then the long profile's value, then the CI one."""
    settings = profile()
    if key in settings:
        return settings[key]
    return long if long is not None and profile_name() == "long" else ci


# ---------------------------------------------------------------- derived ids (as the server derives them)

# `UUID.processCommands` (Sources/Chronicle/ProcessManagers/ProcessManager.swift) and `UUID.commandEvents`
# (Sources/Chronicle/EventStore/UUIDText.swift).
PROCESS_COMMANDS = uuid.UUID("2e910b4d-7713-4a08-8c5f-61a23bd019e4")
COMMAND_EVENTS = uuid.UUID("6b1c6f0e-3d2a-4c55-9a71-2fc80d5e4419")
TRANSFER_PROCESS = "bank_transfers_process"


def uuid5(namespace: uuid.UUID, name: bytes) -> uuid.UUID:
    """RFC 9562 version 5 of raw bytes (Python 3.11's uuid5 takes text only)."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50
    digest[8] = digest[8] & 0x3F | 0x80
    return uuid.UUID(bytes=bytes(digest))


def process_command_id(index: int, cause: uuid.UUID, manager: str = TRANSFER_PROCESS) -> uuid.UUID:
    """`UUID.processCommand(index, of: manager, causedBy: cause)`: manager UTF-8, 0x00, the cause's 16 bytes,
    the index as 4 bytes big-endian."""
    return uuid5(PROCESS_COMMANDS, manager.encode() + b"\0" + cause.bytes + index.to_bytes(4, "big"))


def command_event_id(index: int, command_id: uuid.UUID) -> uuid.UUID:
    """`UUID.event(index, ofCommand:)`: the id of the index-th event a command with this id stores."""
    return uuid5(COMMAND_EVENTS, command_id.bytes + index.to_bytes(4, "big"))


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# ---------------------------------------------------------------- raw HTTP and the live feed


def raw(port: int, method: str, target: str, headers=(), body: bytes | None = None, hosts=None,
        timeout: float = 10.0) -> hostile.Result:
    """One request sent byte for byte as given (the target is not normalised), on its own connection."""
    lines = [f"{method} {target} HTTP/1.1"]
    for host in (hosts if hosts is not None else [f"{LOOPBACK}:{port}"]):
        lines.append(f"Host: {host}")
    lines.append("Connection: close")
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    return hostile.send(hostile.Case(0, "adversary", method=method, raw=payload, timeout=timeout), port)


class LiveFeed:
    """One `GET /events/live?after=N` read by hand, optionally from another loopback source address: its
    status and headers, then the events as they arrive (chunked body decoded, server-sent events parsed)."""

    def __init__(self, port: int, after: int, source: str | None = None, timeout: float = 5.0):
        self.status = 0
        self.headers: dict[str, str] = {}
        self.error: str | None = None
        self.closed = False
        self._raw = b""  # chunked bytes not decoded yet
        self._text = b""  # decoded body not parsed yet
        self._chunked = False
        started = time.monotonic()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if source:
                self.sock.bind((source, 0))
            self.sock.settimeout(timeout)
            self.sock.connect((LOOPBACK, port))
            self.sock.sendall(f"GET /events/live?after={after} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
                              f"Accept: text/event-stream\r\n\r\n".encode())
            data = b""
            while b"\r\n\r\n" not in data:
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"no answer within {timeout:.0f}s")
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed without an answer")
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            self.status = int(head.split(b"\r\n")[0].split(b" ")[1])
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                self.headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
            self._take(rest)
        except (OSError, ValueError, IndexError) as error:
            self.error = f"{error.__class__.__name__}: {error}"
            self.closed = True
        self.seconds = time.monotonic() - started

    def _take(self, data: bytes) -> None:
        if not self._chunked:
            self._text += data
            return
        self._raw += data
        for _ in range(100_000):  # bounded: one chunk per turn
            end = self._raw.find(b"\r\n")
            if end < 0:
                return
            try:
                size = int(self._raw[:end].split(b";")[0], 16)
            except ValueError:
                self.closed = True
                return
            if size == 0:
                self.closed = True
                return
            if len(self._raw) < end + 2 + size + 2:
                return
            self._text += self._raw[end + 2:end + 2 + size]
            self._raw = self._raw[end + 2 + size + 2:]

    def pump(self, timeout: float) -> bool:
        """Reads what arrives within `timeout`; False once the stream has ended."""
        if self.closed:
            return False
        try:
            self.sock.settimeout(max(0.01, timeout))
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return True
        except OSError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        self._take(data)
        return True

    def events(self) -> list[dict]:
        """The complete messages received so far (each event as `/log` shows it)."""
        out = []
        while b"\n\n" in self._text:
            block, _, self._text = self._text.partition(b"\n\n")
            data = [line[5:].lstrip(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
            if data:
                try:
                    out.append(json.loads(b"\n".join(data)))
                except ValueError:
                    pass
        return out

    def wait_for(self, predicate, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events():
                if predicate(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(min(left, 0.5)) and not self._text:
                return None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


# ---------------------------------------------------------------- small helpers


def admin_subscriptions(port: int, headers: dict | None = None) -> dict:
    answer = http(port, "GET", "/admin/api/subscriptions", headers=headers, timeout=15)
    if answer.status != 200:
        raise AssertionError(f"GET /admin/api/subscriptions answered {answer}")
    return answer.json


def by_name(status: dict) -> dict[str, dict]:
    return {s["name"]: s for s in status["subscriptions"]}


def head_of(port: int, headers: dict | None = None) -> int:
    return admin_subscriptions(port, headers)["head"]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def scratch(folder: Path) -> tuple[int, int]:
    """How many files the folder holds (at any depth), and their bytes."""
    count = size = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                count += 1
                size += path.stat().st_size
        except OSError:
            pass  # deleted while listed
    return count, size


def money(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def rebuild_every_read_model(port: int, figures, timeout: float = 120.0) -> None:
    """`POST /admin/api/subscriptions/<each projection>/rebuild`, then waits until each is swapped in,
    caught up with the head and running; a failed rebuild or a faulted read model is a violation."""
    names = []
    for name in [s["name"] for s in admin_subscriptions(port)["subscriptions"] if s["kind"] == "projection"]:
        answer = http(port, "POST", f"/admin/api/subscriptions/{name}/rebuild", {}, timeout=15)
        if answer.status == 200:
            names.append(name)
        else:
            figures.violation(f"POST /admin/api/subscriptions/{name}/rebuild answered {answer}")
    deadline = time.monotonic() + timeout
    while True:
        status = admin_subscriptions(port)
        rows = by_name(status)
        phases = {n: (rows[n].get("rebuild") or {}).get("phase") for n in names}
        failed = [(n, (rows[n].get("rebuild") or {}).get("error")) for n in names if phases[n] == "failed"]
        faulted = [(n, rows[n].get("fault")) for n in names if rows[n]["state"] == "faulted"]
        if failed or faulted:
            figures.violation(f"rebuild failed: {failed!r:.400} / faulted: {faulted!r:.400}")
            return
        if all(phases[n] == "done" and rows[n]["checkpoint"] == status["head"] and rows[n]["state"] == "running" for n in names):
            figures["rebuilt_read_models"] = len(names)
            return
        if time.monotonic() >= deadline:
            figures.violation(f"the rebuilds did not finish within {timeout:.0f}s: "
                              f"{[(n, phases[n], rows[n]['state'], rows[n]['checkpoint']) for n in names]}")
            return
        time.sleep(0.2)


# ---------------------------------------------------------------- 1. admin path spellings

# Every route AdminRoutes registers (Sources/ChronicleHTTP/Admin/AdminRoutes.swift), and the console's page
# and files (Sources/ChronicleHTTP/Public/admin/): (method, canonical path, JSON body).
ADMIN_ROUTES = [
    ("GET", "/admin", None),
    ("GET", "/admin/", None),
    ("GET", "/admin/index.html", None),
    ("GET", "/admin/admin.js", None),
    ("GET", "/admin/api/subscriptions", None),
    ("GET", "/admin/api/subscriptions/bank_transfers_process/instances", None),
    ("GET", "/admin/api/streams", None),
    ("GET", "/admin/api/history", None),
    ("GET", "/admin/api/read-models/outstanding_todos", None),
    ("POST", "/admin/api/subscriptions/todo_board/pause", {}),
    ("POST", "/admin/api/subscriptions/scheduled_todos/resume", {}),
    ("POST", "/admin/api/subscriptions/outstanding_todos/rebuild", {}),
    ("POST", "/admin/api/streams/account-m2/revert", {"to_version": 2}),
]


def spellings(path: str, port: int) -> dict[str, str]:
    """Other spellings of the admin path `path` (which starts with /admin), by name."""
    rest = path[len("/admin"):]
    second = rest.lstrip("/")
    found = {
        "//admin": "//admin" + rest,
        "///admin": "///admin" + rest,
        "/admin//": "/admin//" + second,
        "absolute": f"http://{LOOPBACK}:{port}/admin{rest}",
        "absolute //admin": f"http://{LOOPBACK}:{port}//admin{rest}",
        "/%61dmin": "/%61dmin" + rest,
        "/./admin": "/./admin" + rest,
        "/x/../admin": "/x/../admin" + rest,
    }
    if second:  # /admin/%61pi/…, /admin/%69ndex.html
        found["/admin/%xx"] = f"/admin/%{ord(second[0]):02x}{second[1:]}"
    return found


def test_admin_path_spellings(servers, figures):
    server = servers("admin", env={"CHRONICLE_ADMIN_TOKEN": TOKEN})
    server.start()
    port = server.port

    # The account m2 at version 3 with 70.00 (the revert to version 2 would make it 100.00).
    for path, body, expected in (("/commands/CreateAccount", {"account_id": "m2"}, 201),
                                 ("/commands/DepositMoney", {"account_id": "m2", "amount": "100"}, 200),
                                 ("/commands/WithdrawMoney", {"account_id": "m2", "amount": "30"}, 200)):
        answer = http(port, "POST", path, body)
        assert answer.status == expected, f"{path}: {answer}"
    # Paused with the credential: the resumes sent without it must leave it paused.
    answer = http(port, "POST", "/admin/api/subscriptions/scheduled_todos/pause", {}, headers=AUTH)
    assert answer.status == 200, f"pausing scheduled_todos with the credential: {answer}"
    wait_until(lambda: by_name(admin_subscriptions(port, AUTH))["scheduled_todos"]["state"] == "paused", 10,
               message="scheduled_todos paused")
    rebuild_before = by_name(admin_subscriptions(port, AUTH))["outstanding_todos"].get("rebuild")

    statuses: Counter = Counter()
    leaks: Counter = Counter()
    examples: dict[str, list[str]] = {}
    attempts = 0
    for method, path, body in ADMIN_ROUTES:
        targets = {"canonical": path, **spellings(path, port)}
        for name, target in targets.items():
            payload = json.dumps(body).encode() if body is not None else None
            for credential in ([], [("Authorization", "Bearer not-the-secret")]) if name == "canonical" else ([],):
                attempts += 1
                result = raw(port, method, target, headers=credential, body=payload)
                shown = f"{method} {target}{' (a wrong token)' if credential else ''}"
                statuses[str(result.status or result.ending)] += 1
                if 200 <= result.status < 400:
                    leaks[name] += 1
                    examples.setdefault(name, []).append(f"{shown} → {result.status}")
                elif result.status >= 500:
                    figures.violation(f"{shown} answered {result.status}: {result.body[:100]!r}")
                elif not result.status and result.ending == "timeout":
                    figures.violation(f"{shown}: no answer within 10 s")
    for name, shown in examples.items():  # one violation per spelling that got through
        figures.violation(f"{len(shown)} admin request(s) spelt {name!r} answered 2xx/3xx without the credential: "
                          + "; ".join(shown[:4]) + (" …" if len(shown) > 4 else ""))
    figures["attempts_without_credential"] = attempts
    figures["statuses_without_credential"] = dict(sorted(statuses.items()))
    figures["leaks_by_spelling"] = dict(sorted(leaks.items()))

    # Nothing changed: the account, the paused and the running subscription, no rebuild.
    stream = http(port, "GET", "/streams/account-m2", headers=AUTH).json["events"]
    if len(stream) != 3 or stream[-1]["version"] != 3:
        figures.violation(f"account-m2 changed without the credential: {[(e['version'], e['type']) for e in stream]}")
    head = head_of(port, AUTH)
    balance = http(port, "GET", f"/bank/accounts/m2?after={head}").json.get("balance")
    figures["balance_after_attempts"] = balance
    if balance != "70.00":
        figures.violation(f"m2's balance is {balance} after the attempts without the credential, not 70.00")
    rows = by_name(admin_subscriptions(port, AUTH))
    if rows["todo_board"]["state"] != "running":
        figures.violation(f"todo_board is {rows['todo_board']['state']} after pauses without the credential")
    if rows["scheduled_todos"]["state"] != "paused":
        figures.violation(f"scheduled_todos is {rows['scheduled_todos']['state']} after resumes without the credential")
    if rows["outstanding_todos"].get("rebuild") != rebuild_before:
        figures.violation(f"outstanding_todos was rebuilt without the credential: {rows['outstanding_todos'].get('rebuild')}")

    # Two Host headers: the second (or the first) names another site.
    host_statuses = {}
    for hosts, target, headers in ((["{own}", "evil.example"], "/health", []),
                                   (["{own}", "evil.example"], "/todos/outstanding", []),
                                   (["{own}", "evil.example:80"], "/admin/api/subscriptions", list(AUTH.items())),
                                   (["evil.example", "{own}"], "/health", [])):
        hosts = [h.format(own=f"{LOOPBACK}:{port}") for h in hosts]
        result = raw(port, "GET", target, headers=headers, hosts=hosts)
        key = f"Host {' + '.join(hosts)} {target}"
        host_statuses[key] = result.status or result.ending
        if 200 <= result.status < 400 or result.status >= 500:
            figures.violation(f"GET {target} with the Host headers {hosts} answered {result.status} (421 or 400 expected)")
    figures["two_host_statuses"] = host_statuses

    # With the credential the canonical paths work: the attempts above were refused for the credential.
    with_credential = {}
    for method, path, body in ADMIN_ROUTES:
        if method != "GET":
            continue
        answer = http(port, "GET", path, headers=AUTH)
        with_credential[path] = answer.status
        good = 200 <= answer.status < (400 if path == "/admin" else 300)  # /admin redirects to /admin/
        if not good:
            figures.violation(f"GET {path} with the credential answered {answer}")
    for path in ("/admin/api/subscriptions/todo_board/pause", "/admin/api/subscriptions/todo_board/resume",
                 "/admin/api/subscriptions/scheduled_todos/resume", "/admin/api/subscriptions/outstanding_todos/rebuild"):
        answer = http(port, "POST", path, {}, headers=AUTH)
        with_credential[path] = answer.status
        if answer.status != 200:
            figures.violation(f"POST {path} with the credential answered {answer}")
        if path.endswith("todo_board/pause"):
            try:
                wait_until(lambda: by_name(admin_subscriptions(port, AUTH))["todo_board"]["state"] == "paused", 10,
                           message="todo_board paused with the credential")
            except TimeoutError as error:
                figures.violation(str(error))
    answer = http(port, "POST", "/admin/api/streams/account-m2/revert", {"to_version": 2}, headers=AUTH)
    with_credential["/admin/api/streams/account-m2/revert"] = answer.status
    if answer.status != 200:
        figures.violation(f"the revert with the credential answered {answer}")
    else:
        try:
            wait_until(lambda: http(port, "GET", f"/bank/accounts/m2?after={head_of(port, AUTH)}").json.get("balance") == "100.00",
                       10, message="m2 reverted to 100.00")
        except TimeoutError as error:
            figures.violation(str(error))
    figures["statuses_with_credential"] = with_credential
    figures["ops_ok"] = sum(1 for s in with_credential.values() if 200 <= s < 400)
    figures["ops_failed"] = attempts
    figures["note"] = (f"{attempts} admin requests without the credential: {dict(statuses)}; leaks by spelling "
                       f"{dict(leaks) or 'none'}; two Host headers: {sorted(set(host_statuses.values()), key=str)}")
    figures.assert_clean()


# ---------------------------------------------------------------- 2. a storm of point-in-time queries


def add_todos(port: int, count: int, clients: int = 4) -> list[tuple[str, int]]:
    """`count` todos added by `clients` threads; answers (todo id, position) of each."""
    added: list[tuple[str, int]] = []
    lock = threading.Lock()
    next_index = iter(range(count))
    errors: list[str] = []

    def run(client: int) -> None:
        rng = random.Random(seed() * 7 + client)
        while True:
            with lock:
                n = next(next_index, None)
            if n is None or len(errors) > 10:
                return
            todo = seeded_uuid(rng)
            answer = http(port, "POST", f"/todo/{todo}", {"title": f"as-of {n}"}, timeout=30)
            with lock:
                if answer.status == 201:
                    added.append((todo, answer.json["position"]))
                else:
                    errors.append(f"adding todo {n}: {answer}")

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:5]
    return added


def test_as_of_storm(servers, figures, workdir):
    events = setting("adversary_asof_events", 3000, 10000)
    clients = setting("adversary_asof_clients", 50)
    hang = setting("adversary_asof_hang_seconds", 30.0)
    tmp = workdir / "server-tmp"
    tmp.mkdir()
    server = servers("asof", env={"TMPDIR": str(tmp)})
    server.start()
    port = server.port
    rng = random.Random(seed() + 303)

    started = time.monotonic()
    added = add_todos(port, events)
    figures["write_seconds"] = round(time.monotonic() - started, 1)
    log = read_log(port)
    head = log[-1]["position"]
    figures["events"] = len(log)
    added_by = {e["position"]: 1 if e["type"] == "TodoAdded" else 0 for e in log}
    running_total, added_through = 0, {0: 0}
    for position in range(1, head + 1):
        running_total += added_by.get(position, 0)
        added_through[position] = running_total

    positions = rng.sample(range(1, head + 1), clients)
    times = [e["recorded_at"] for e in rng.sample([e for e in log if e["position"] not in set(positions)], clients)]
    figures["distinct_positions"] = len(set(positions))

    answers: list[tuple[str, int, float, str]] = []  # (query, status, seconds, problem)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    storm_over = threading.Event()

    def ask(n: int) -> None:
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            return
        for query, expected in ((f"as_of={positions[n]}", added_through[positions[n]]), (f"as_of={times[n]}", None)):
            answer = http(port, "GET", f"/todos/outstanding?{query}", timeout=hang + 5)
            problem = ""
            if answer.seconds > hang:
                problem = f"took {answer.seconds:.1f}s (more than {hang:.0f}s)"
            elif answer.status == 200:
                body = answer.json_or_none()
                if not isinstance(body, list):
                    problem = f"200 without a list: {answer.body[:100]!r}"
                elif expected is not None and len(body) != expected:
                    problem = f"{len(body)} todos, but {expected} were added by position {positions[n]}"
            elif answer.status in (429, 503):
                if not answer.headers.get("retry-after"):
                    problem = f"{answer.status} without Retry-After"
            else:
                problem = f"answered {answer.status or answer.error}: {answer.body[:120]!r}"
            with lock:
                answers.append((query, answer.status, answer.seconds, problem))

    latencies: list[float] = []
    command_problems: list[str] = []

    def commands() -> None:
        crng = random.Random(seed() + 304)
        for n in range(10_000):  # bounded; stops with the storm
            if storm_over.is_set():
                return
            answer = http(port, "POST", f"/todo/{seeded_uuid(crng)}", {"title": f"during the storm {n}"}, timeout=60)
            latencies.append(answer.seconds)
            if answer.status != 201:
                command_problems.append(f"a command during the storm answered {answer.status or answer.error}")
            time.sleep(0.05)

    peak = {"rss_mb": rss_mb(server.pid) or 0.0, "files": 0, "bytes": 0}

    def monitor() -> None:
        for _ in range(100_000):
            if storm_over.is_set():
                return
            rss = rss_mb(server.pid)
            if rss:
                peak["rss_mb"] = max(peak["rss_mb"], rss)
            files, size = scratch(tmp)
            peak["files"], peak["bytes"] = max(peak["files"], files), max(peak["bytes"], size)
            time.sleep(0.1)

    figures["rss_mb_before"] = round(rss_mb(server.pid) or 0, 1)
    askers = [threading.Thread(target=ask, args=(n,), daemon=True) for n in range(clients)]
    others = [threading.Thread(target=commands, daemon=True), threading.Thread(target=monitor, daemon=True)]
    for t in askers + others:
        t.start()
    storm_started = time.monotonic()
    try:
        barrier.wait(timeout=60)
    except threading.BrokenBarrierError:
        figures.violation("the storm's clients did not all start")
    for t in askers:
        t.join(timeout=max(1.0, 2 * (hang + 5) + 10 - (time.monotonic() - storm_started)))
    storm_over.set()
    for t in others:
        t.join(timeout=70)
    figures["storm_seconds"] = round(time.monotonic() - storm_started, 1)

    statuses = Counter(str(status or "none") for _, status, _, _ in answers)
    figures["as_of_statuses"] = dict(sorted(statuses.items()))
    figures["as_of_answers"] = len(answers)
    figures["as_of_max_seconds"] = round(max((s for _, _, s, _ in answers), default=0), 2)
    figures["as_of_p50_seconds"] = round(percentile([s for _, _, s, _ in answers], 0.5), 2)
    problems = Counter(p.split(":")[0] for _, _, _, p in answers if p)
    for (query, status, seconds, problem) in answers:
        if problem:
            figures.violation(f"GET /todos/outstanding?{query}: {problem}")
    if len(answers) < 2 * clients:
        figures.violation(f"only {len(answers)} of {2 * clients} as_of queries were answered before the deadline")
    figures["ops_ok"] = statuses.get("200", 0) + sum(1 for _ in latencies)
    figures["ops_failed"] = statuses.get("503", 0) + statuses.get("429", 0)
    figures["ops_unknown"] = sum(n for s, n in statuses.items() if s not in ("200", "503", "429"))

    figures["commands_during_storm"] = len(latencies)
    p99 = percentile(latencies, 0.99)
    figures["command_p50_seconds"] = round(percentile(latencies, 0.5), 3)
    figures["command_p99_seconds"] = round(p99, 3)
    figures["command_max_seconds"] = round(max(latencies, default=0), 3)
    for problem in command_problems[:5]:
        figures.violation(problem)
    if not latencies:
        figures.violation("no command was answered during the storm")
    elif p99 >= 2.0:
        figures.violation(f"command latency p99 during the storm is {p99:.2f}s (at most 2 s)")
    figures["rss_mb_peak"] = round(peak["rss_mb"], 1)
    if peak["rss_mb"] >= 600:
        figures.violation(f"the server's RSS reached {peak['rss_mb']:.0f} MB during the storm (under 600 MB)")
    figures["scratch_files_peak"] = peak["files"]
    figures["scratch_mb_peak"] = round(peak["bytes"] / 1e6, 1)

    # What the storm left in the server's temporary directory (kept builds are fine, within bounds).
    left = {}

    def bounded() -> bool:
        left["files"], left["bytes"] = scratch(tmp)
        return left["files"] <= 8 and left["bytes"] <= 100e6

    try:
        wait_until(bounded, timeout=15, interval=0.25, message="the scratch files to be bounded")
    except TimeoutError:
        figures.violation(f"after the storm the server's TMPDIR holds {left['files']} files, {left['bytes'] / 1e6:.0f} MB "
                          f"(at most 8 files, 100 MB)")
    figures["scratch_files_after"] = left.get("files")
    figures["scratch_mb_after"] = round(left.get("bytes", 0) / 1e6, 1)
    if not server.healthy(timeout=15):
        figures.violation("GET /health did not answer 200 after the storm")

    # More than six fractional digits: a 200 or a 400, never the end of the server.
    todo, _ = added[0]
    at = next(e["recorded_at"] for e in log if e["stream"] == f"todo-{todo}")  # e.g. 2026-12-02T04:42:57.414Z
    long_fractions = ["2026-11-30T10:00:00.1234567Z", "2026-11-30T10:00:00.123456789Z", at[:-1] + "1234Z"]
    digit_statuses = {}
    deaths = 0
    for value in long_fractions:
        if deaths and value != long_fractions[0]:
            break  # each death costs seconds: the other spellings only once the first is survived
        for path, allowed in ((f"/todos/board?as_of={value}", (200, 400)), (f"/todos/outstanding?as_of={value}", (200, 400)),
                              (f"/todo/{todo}?at={value}", (200, 400, 404))):  # 404: the todo did not exist then
            answer = http(port, "GET", path, timeout=30)
            digit_statuses[path.replace(todo, "{id}")] = answer.status or answer.error
            if answer.status not in allowed:
                figures.violation(f"GET {path} answered {answer.status or answer.error} (200 or 400 expected)")
            if not server.healthy(timeout=10):
                try:
                    server.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    pass
                deaths += 1
                if server.alive():
                    figures.violation(f"GET /health did not answer 200 after GET {path}")
                else:
                    figures.violation(f"the server died on GET {path} (exit status {server.process.returncode}; -4 is SIGILL)")
                    server.start()
    figures["long_fraction_statuses"] = digit_statuses
    figures["note"] = (f"{len(answers)} as_of answers {dict(statuses)} (slowest {figures['as_of_max_seconds']}s), "
                       f"commands p99 {p99:.2f}s, RSS peak {peak['rss_mb']:.0f} MB, scratch peak {peak['files']} files "
                       f"/ {peak['bytes'] / 1e6:.0f} MB, after {left.get('files')} files; problems {dict(problems) or 'none'}")
    figures.assert_clean()


# ---------------------------------------------------------------- 3. one client hogging the live feed


def test_live_feed_hogging(servers, figures):
    hog_size = setting("adversary_live_hog", 70)
    server = servers("live")
    server.start()
    port = server.port
    first = http(port, "POST", f"/todo/{uuid.UUID(int=seed(), version=4)}", {"title": "before the hog"})
    assert first.status == 201, first
    head = first.json["position"]

    hog: list[LiveFeed] = []
    other: LiveFeed | None = None
    statuses: Counter = Counter()
    refusals_without_retry_after = 0
    try:
        for _ in range(hog_size):
            feed = LiveFeed(port, after=head, source="127.0.0.1", timeout=5)
            statuses[str(feed.status or feed.error)] += 1
            if feed.status == 200:
                hog.append(feed)
                continue
            feed.close()
            if feed.status in (429, 503):
                refusals_without_retry_after += 0 if feed.headers.get("retry-after") else 1
            elif feed.error:
                figures.violation(f"a live stream of the hog got no answer: {feed.error}")
            else:
                figures.violation(f"a live stream of the hog answered {feed.status} (200, 429 or 503 expected)")
        accepted = len(hog)
        refused = statuses.get("429", 0) + statuses.get("503", 0)
        figures["hog_statuses"] = dict(statuses)
        figures["hog_accepted"] = accepted
        figures["hog_refused"] = refused
        figures["hog_refusals_without_retry_after"] = refusals_without_retry_after
        if refused < 1:
            figures.violation(f"the hog opened {accepted} live streams from one address and was never refused")
        if accepted > 16:
            figures.violation(f"one client address holds {accepted} live streams (at most 16; the per-client limit is 8)")
        if not server.healthy(timeout=5):
            figures.violation("GET /health did not answer 200 while the hog held its streams")

        # Another client, from another address.
        try:
            other = LiveFeed(port, after=head, source="127.0.0.2", timeout=5)
        except OSError as error:  # binding 127.0.0.2 itself failed
            pytest.fail(f"cannot bind a client socket to 127.0.0.2: {error}")
        figures["other_client_status"] = other.status or other.error
        if other.status != 200:
            figures.violation(f"a client from 127.0.0.2 was answered {other.status or other.error} "
                              f"({other.headers.get('content-length', '?')} bytes) while one address hogged the feed")
        else:
            ack = http(port, "POST", f"/todo/{uuid.UUID(int=seed() + 1, version=4)}", {"title": "seen live"})
            assert ack.status == 201, ack
            sent = time.monotonic()
            event = other.wait_for(lambda e: e.get("position") == ack.json["position"], timeout=5)
            if event is None:
                figures.violation(f"the event at {ack.json['position']} did not reach the client from 127.0.0.2 within 5 s")
            else:
                figures["other_client_event_seconds"] = round(time.monotonic() - sent, 3)
        if not server.healthy(timeout=5):
            figures.violation("GET /health did not answer 200 after the other client")
    finally:
        for feed in hog:
            feed.close()
        if other is not None:
            other.close()
    figures["ops_ok"] = len(hog) + (1 if other is not None and other.status == 200 else 0)
    figures["ops_failed"] = sum(n for s, n in statuses.items() if s != "200")
    figures["note"] = (f"hog from 127.0.0.1: {dict(statuses)}; client from 127.0.0.2: {figures['other_client_status']}"
                       f"{', event after ' + str(figures['other_client_event_seconds']) + 's' if 'other_client_event_seconds' in figures.data else ''}")
    figures.assert_clean()


# ---------------------------------------------------------------- 4. the process manager's ids, pre-empted


class Attacker:
    """Follows the live feed; for every event that makes the transfer process send commands, it computes
    those commands' ids and sends its own `DepositMoney` of 0.01 with each, at once — the debit's and (from
    the debit's predicted event id) the credit's first, before the process manager gets to them."""

    def __init__(self, port: int, after: int, figures):
        self.port = port
        self.figures = figures
        self.position = after
        self.feed = LiveFeed(port, after=after)
        if self.feed.status != 200:
            raise AssertionError(f"the attacker's live feed answered {self.feed.status or self.feed.error}")
        self.jobs: queue.Queue = queue.Queue()
        self.sent: dict[uuid.UUID, tuple[str, int, str]] = {}  # command id -> (account, status, why)
        self.transfers: dict[str, tuple[str, str]] = {}
        self.predicted: dict[str, uuid.UUID] = {}  # transfer id -> the event id its debit was predicted to store
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.reconnects = 0
        self.problems: dict[tuple[str, int], list] = {}
        self.threads = [threading.Thread(target=self._read, daemon=True)]
        self.threads += [threading.Thread(target=self._send_queued, daemon=True) for _ in range(3)]

    def start(self) -> "Attacker":
        for t in self.threads:
            t.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
        self.feed.close()

    def _read(self) -> None:
        for _ in range(1_000_000):  # bounded; ends with stop
            if self.stop.is_set():
                return
            if not self.feed.pump(0.2):
                if self.stop.is_set():
                    return
                self.reconnects += 1
                time.sleep(0.2)
                self.feed = LiveFeed(self.port, after=self.position)
                continue
            for event in self.feed.events():
                self.position = max(self.position, event["position"])
                try:
                    self._react(event)
                except (KeyError, ValueError, TypeError):
                    pass

    def _react(self, event: dict) -> None:
        stream, data, cause = event["stream"], event.get("data") or {}, uuid.UUID(event["id"])
        if event["type"] == "TransferRequested":
            transfer = stream[len("transfer-"):]
            source, target = data["from_account_id"], data["to_account_id"]
            self.transfers[transfer] = (source, target)
            debit = process_command_id(0, cause)
            withdrawn = command_event_id(0, debit)
            self.predicted[transfer] = withdrawn
            self._attack(source, debit, "the debit", now=True)
            self._attack(target, process_command_id(0, withdrawn), "the predicted credit", now=True)
            for index in (1, 2):
                self._attack(target, process_command_id(index, cause), f"index {index} of TransferRequested")
                self._attack(target, process_command_id(index, withdrawn), f"index {index} of the predicted debit")
            return
        if stream.startswith("transfer-"):
            transfer = stream[len("transfer-"):]
        elif isinstance(data, dict) and data.get("transfer_id"):
            transfer = data["transfer_id"]
        else:
            return
        if transfer not in self.transfers:
            return
        target = self.transfers[transfer][1]
        for index in range(3):
            self._attack(target, process_command_id(index, cause), f"index {index} of {event['type']}")

    def _attack(self, account: str, command_id: uuid.UUID, why: str, now: bool = False) -> None:
        with self.lock:
            if command_id in self.sent:
                return
            self.sent[command_id] = (account, -1, why)
        if now:
            self._send(account, command_id, why)
        else:
            self.jobs.put((account, command_id, why))

    def _send_queued(self) -> None:
        for _ in range(1_000_000):
            try:
                account, command_id, why = self.jobs.get(timeout=0.2)
            except queue.Empty:
                if self.stop.is_set():
                    return
                continue
            self._send(account, command_id, why)

    def _send(self, account: str, command_id: uuid.UUID, why: str) -> None:
        answer = http(self.port, "POST", "/commands/DepositMoney",
                      {"account_id": account, "amount": "0.01", "command_id": str(command_id)}, timeout=15)
        with self.lock:
            self.sent[command_id] = (account, answer.status, why)
        if answer.status >= 500 or not answer.status:
            kind = why.split(" of ")[-1] if why.startswith("index") else why
            with self.lock:
                group = self.problems.setdefault((kind, answer.status), [0, f"{answer.status or answer.error}: {answer.body[:120]!r}"])
                group[0] += 1

    def report(self) -> None:
        """One violation per kind of id and answer (a 5xx, or no answer)."""
        for (kind, status), (count, example) in sorted(self.problems.items(), key=lambda kv: str(kv[0])):
            self.figures.violation(f"{count} attacker DepositMoney(s) with the id of {kind} answered {status or 'nothing'}, "
                                   f"e.g. {example}")


def send_until_answered(port: int, path: str, body: dict, deadline: float = 60.0):
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        answer = http(port, "POST", path, body, timeout=15)
        if not answer.error and answer.status and answer.status < 500:
            return answer
        time.sleep(0.1)
    return None


def check_command_id_reuse(port: int, rng: random.Random, figures, honest: dict[str, Decimal]) -> None:
    """A command id names one command: another body under it is a 4xx that stores nothing, the same body
    the first answer, another account a 4xx."""
    for account in ("cid-a", "cid-b"):
        assert http(port, "POST", "/commands/CreateAccount", {"account_id": account}).status == 201
    command = seeded_uuid(rng)
    honest[str(command_event_id(0, uuid.UUID(command)))] = Decimal("1.00")
    first_body = {"account_id": "cid-a", "amount": "1.00", "command_id": command}
    first = http(port, "POST", "/commands/DepositMoney", first_body)
    assert first.status == 200, first
    seen = {"first": first.status}

    other = http(port, "POST", "/commands/DepositMoney", {**first_body, "amount": "2.00"})
    seen["another_body"] = other.status
    if not 400 <= other.status < 500:
        figures.violation(f"the same command_id with another body (DepositMoney 2.00 after 1.00) answered {other.status}: "
                          f"{other.body[:120]!r} (409 or 422 expected)")
    versions = [e["version"] for e in http(port, "GET", "/streams/account-cid-a").json["events"]]
    if versions[-1] != first.json["stream_version"]:
        figures.violation(f"the refused re-use of a command_id stored something: account-cid-a is at version {versions[-1]}")

    again = http(port, "POST", "/commands/DepositMoney", first_body)
    seen["same_body"] = again.status
    if again.status != 200 or again.json_or_none() != first.json:
        figures.violation(f"the same command_id with the same body answered {again} (the first answer {first.json} expected)")

    elsewhere = http(port, "POST", "/commands/DepositMoney", {**first_body, "account_id": "cid-b"})
    seen["another_account"] = elsewhere.status
    if not 400 <= elsewhere.status < 500:
        figures.violation(f"the same command_id on another account answered {elsewhere.status}: {elsewhere.body[:120]!r} "
                          f"(a 4xx expected)")
    if len(http(port, "GET", "/streams/account-cid-b").json["events"]) != 1:
        figures.violation("the same command_id on another account stored something there")
    # Recorded, not judged (the contract above names bodies): another command type under the same id.
    seen["another_type_info"] = http(port, "POST", "/commands/WithdrawMoney", first_body).status
    figures["command_id_reuse_statuses"] = seen


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_preempted_process_manager_ids(backend, servers, figures, request):
    transfers_count = setting("adversary_pm_transfers", 30, 200)
    rng = random.Random(seed() + (404 if backend == "sqlite" else 405))
    if backend == "postgres":
        url = request.getfixturevalue("postgres").new_database("adversary_pm")
        server = servers("bank", postgres_url=url, extra_args=("--transfer-timeout", "3"))
    else:
        server = servers("bank", extra_args=("--transfer-timeout", "1"))
    server.start()
    port = server.port

    accounts = [f"acc-{n}" for n in range(6)]
    honest: dict[str, Decimal] = {}  # event id of every deposit made by honest clients -> its amount
    for account in accounts:
        assert http(port, "POST", "/commands/CreateAccount", {"account_id": account}).status == 201
        command = seeded_uuid(rng)
        answer = http(port, "POST", "/commands/DepositMoney", {"account_id": account, "amount": "1000.00", "command_id": command})
        assert answer.status == 200, answer
        honest[str(command_event_id(0, uuid.UUID(command)))] = Decimal("1000.00")
    check_command_id_reuse(port, rng, figures, honest)
    all_accounts = accounts + ["cid-a", "cid-b"]

    attacker = Attacker(port, after=head_of(port), figures=figures).start()
    plan = []
    for n in range(transfers_count):
        source, target = rng.sample(accounts, 2)
        plan.append({"transfer_id": f"h{n}", "from_account_id": source, "to_account_id": target,
                     "amount": f"{Decimal(rng.randint(100, 5000)) / 100:.2f}", "command_id": seeded_uuid(rng)})
    pending: queue.Queue = queue.Queue()
    for transfer in plan:
        pending.put(transfer)
    answers: dict[str, int] = {}

    def honest_client() -> None:
        while True:
            try:
                transfer = pending.get_nowait()
            except queue.Empty:
                return
            answer = send_until_answered(port, "/commands/TransferMoney", transfer)
            answers[transfer["transfer_id"]] = answer.status if answer else 0
            time.sleep(0.02)

    clients = [threading.Thread(target=honest_client, daemon=True) for _ in range(2)]
    requested_at = time.monotonic()
    for t in clients:
        t.start()
    for t in clients:
        t.join(timeout=180)
    for t in plan:
        if answers.get(t["transfer_id"]) != 200:
            figures.violation(f"TransferMoney {t['transfer_id']} answered {answers.get(t['transfer_id'])}, not 200")

    # Every transfer settles: polled until all are, or nothing has moved for a while (a stuck one never will).
    stall = 15.0 if backend == "sqlite" else 30.0
    deadline = time.monotonic() + (90 if backend == "sqlite" else 180)
    statuses: dict[str, str] = {}
    last_change = time.monotonic()
    while True:
        now = {t["transfer_id"]: (lambda a: a.json["status"] if a.status == 200 else f"HTTP {a.status}")(
            http(port, "GET", f"/bank/transfers/{t['transfer_id']}", timeout=15)) for t in plan}
        if now != statuses:
            statuses, last_change = now, time.monotonic()
        if all(s in SETTLED for s in statuses.values()) or time.monotonic() > deadline or time.monotonic() - last_change > stall:
            break
        time.sleep(0.5)
    figures["settle_seconds"] = round(time.monotonic() - requested_at, 1)
    stuck = {k: v for k, v in statuses.items() if v not in SETTLED}
    if stuck:
        figures.violation(f"{len(stuck)} of {len(plan)} honest transfers never settled: {sorted(stuck.items())[:8]}")
    for status in SETTLED + ("in_progress",):
        figures[f"transfers_{status}"] = sum(1 for s in statuses.values() if s == status)
    attacker.finish()
    attacker.report()

    wait_caught_up(server, figures, timeout=60)
    log = read_log(port)
    figures["events"] = len(log)
    head = log[-1]["position"]
    by_id = {e["id"]: e for e in log}

    # The money of each transfer, from the log.
    by_transfer: dict[str, list[dict]] = {}
    for event in log:
        data = event["data"] if isinstance(event["data"], dict) else {}
        if event["stream"].startswith("transfer-"):
            by_transfer.setdefault(event["stream"][len("transfer-"):], []).append(event)
        elif event["stream"].startswith("account-") and data.get("transfer_id"):
            by_transfer.setdefault(data["transfer_id"], []).append(event)
    for t in plan:
        tid, source, target, amount = t["transfer_id"], t["from_account_id"], t["to_account_id"], Decimal(t["amount"])
        events = by_transfer.get(tid, [])
        terminal = [e["type"] for e in events if e["type"] in ("TransferCompleted", "TransferDeclined", "TransferRefunded")]
        debits = [e for e in events if e["type"] == "MoneyWithdrawn" and e["stream"] == f"account-{source}"]
        credits = [e for e in events if e["type"] == "MoneyDeposited" and e["stream"] == f"account-{target}"]
        refunds = [e for e in events if e["type"] == "MoneyDeposited" and e["stream"] == f"account-{source}"]
        if len(terminal) != 1 and statuses.get(tid) not in SETTLED and not terminal:
            continue  # reported above as never settled
        if len(terminal) != 1:
            figures.violation(f"{tid}: settled {len(terminal)} times in the log ({terminal}); read model: {statuses.get(tid)}")
            continue
        expected = {"TransferCompleted": (1, 1, 0), "TransferDeclined": (0, 0, 0), "TransferRefunded": (1, 0, 1)}[terminal[0]]
        if (len(debits), len(credits), len(refunds)) != expected:
            figures.violation(f"{tid} ({terminal[0]}): debits, credits, refunds = {(len(debits), len(credits), len(refunds))}, "
                              f"expected {expected}")
        for e in debits + credits + refunds:
            if money(e["data"].get("amount")) != amount:
                figures.violation(f"{tid}: {e['type']} of {e['data'].get('amount')} on {e['stream']}, the transfer is of {amount}")
    matched = sum(1 for tid, withdrawn in attacker.predicted.items()
                  if any(e["id"] == str(withdrawn) for e in by_transfer.get(tid, [])))
    figures["debit_ids_predicted"] = matched  # how many debits stored exactly the event id the attacker computed

    # Every other deposit was made by an honest client or applied as the attacker's ordinary deposit.
    attacker_events = {str(command_event_id(0, c)): c for c in attacker.sent}
    balances: dict[str, Decimal] = {}
    honest_total = attacker_total = Decimal(0)
    attacker_applied = 0
    for event in log:
        if not event["stream"].startswith("account-"):
            continue
        account = event["stream"][len("account-"):]
        data = event["data"] if isinstance(event["data"], dict) else {}
        amount = money(data.get("amount")) or Decimal(0)
        if event["type"] == "MoneyDeposited":
            balances[account] = balances.get(account, Decimal(0)) + amount
            if data.get("transfer_id"):
                continue
            if event["id"] in honest:
                honest_total += amount
            elif event["id"] in attacker_events and amount == Decimal("0.01"):
                attacker_total += amount
                attacker_applied += 1
            else:
                figures.violation(f"a deposit nobody made: {event['stream']} v{event['version']} {data}")
        elif event["type"] == "MoneyWithdrawn":
            balances[account] = balances.get(account, Decimal(0)) - amount
            if not data.get("transfer_id"):
                figures.violation(f"a withdrawal nobody made: {event['stream']} v{event['version']} {data}")
    shown = {a["account_id"]: money(a["balance"]) for a in http(port, "GET", f"/bank/accounts?after={head}", timeout=30).json["accounts"]}
    for account in all_accounts:
        if shown.get(account) != balances.get(account, Decimal(0)):
            figures.violation(f"{account}: the balance shown is {shown.get(account)}, its events say {balances.get(account)}")
    total = sum((shown.get(a) or Decimal(0) for a in all_accounts), Decimal(0))
    expected_total = sum(honest.values(), Decimal(0)) + attacker_total
    figures["sum_of_balances"] = str(total)
    figures["honest_deposits"] = str(honest_total)
    figures["attacker_deposits_applied"] = attacker_applied
    if honest_total != sum(honest.values(), Decimal(0)):
        figures.violation(f"the honest deposits in the log sum to {honest_total}, {sum(honest.values(), Decimal(0))} were made")
    if total != expected_total:
        figures.violation(f"money is not conserved: the balances sum to {total}, the deposits to {expected_total} "
                          f"(honest {sum(honest.values(), Decimal(0))} + the attacker's {attacker_total})")

    attack_statuses = Counter(str(status) for _, status, _ in attacker.sent.values())
    figures["attacker_requests"] = len(attacker.sent)
    figures["attacker_statuses"] = dict(sorted(attack_statuses.items()))
    figures["attacker_reconnects"] = attacker.reconnects
    figures["ops_ok"] = sum(n for s, n in attack_statuses.items() if s.startswith("2")) + len(answers)
    figures["ops_failed"] = sum(n for s, n in attack_statuses.items() if s.startswith("4"))
    figures["ops_unknown"] = sum(n for s, n in attack_statuses.items() if not s.startswith(("2", "4")))
    figures["note"] = (f"{len(plan)} transfers: {Counter(statuses.values())}; attacker sent {len(attacker.sent)} "
                       f"({dict(attack_statuses)}), {attacker_applied} applied as deposits; {matched} debits stored the "
                       f"predicted id; command_id re-use {figures['command_id_reuse_statuses']}")
    figures.assert_clean()


# ---------------------------------------------------------------- 5. generated boundary values on every command

AMOUNTS = ["999999999999.99", "1000000000000", "1000000000000.00", "1000000000000.01", "999999999999.999", "0.01",
           "-0.01", "0", "0.00", "-0", "00000000000001", "0000000000000.01", "9" * 13, "9" * 14, "9" * 40, "1" + "0" * 30,
           "1e12", "1E2", "0x10", " 1", "1 ", "+1", ".5", "5.", "1.234", "NaN", "Infinity", "", "١٢", "1,000",
           1e12, 1000000000000.0, 999999999999.99, 0.1, 0.30000000000000004, 1e-2, 1e308, -1, 9007199254740993, 2 ** 63,
           2 ** 64, True, None, [], {}]
IDS = ["a", "Z", "0", "_", "-", ".", "..", "b" * 64, "c" * 65, "d" * 1000, "é", "账户", "😀", "a b", "a/b", "a%2Fb", "",
       " ", "a\u200bb", "A.B-c_9", "x" * 63 + "é", 123, None, True, [], {}]
QUANTITIES = [0, 1, 1000, 1001, 2147483647, 2 ** 31, 2 ** 53, 2 ** 53 + 1, 2 ** 63, 2 ** 64, -1, -(2 ** 63), 1.5, 1e308,
              -0.0, "1", True, None, [1]]
DATES = ["0001-01-01", "0000-01-01", "9999-12-31", "10000-01-01", "-0001-01-01", "1969-12-31", "1970-01-01",
         "1677-09-21", "2262-04-12", "2038-01-19", "2024-02-29", "2023-02-29", "2026-13-01", "2026-00-10", "2026-01-32",
         "99999-01-01", "+2026-01-01", "2026-1-1", ""]
TITLES = ["t", "x" * 64, "x" * 65, "y" * 10_000, "z" * 200_000, "😀" * 1000, "e\u0301" * 500, "\u202eevil", "   x   ",
          "\t\n", "a" * 900_000]
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."


def boundary_plan(rng: random.Random, menu: dict) -> list[tuple[str, str, str, object]]:
    """(label, method, path, body) in order; seeded."""
    plan: list[tuple[str, str, str, object]] = []

    def command(label, type_, body):
        plan.append((label, "POST", f"/commands/{type_}", body))

    # Accounts: ids at the edges, then a few random valid ones.
    ids = list(IDS) + ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 64))) for _ in range(6)]
    for account in ids:
        command("CreateAccount id", "CreateAccount", {"account_id": account})
    command("CreateAccount twice", "CreateAccount", {"account_id": "a"})
    command("CreateAccount no id", "CreateAccount", {})
    valid = [i for i in ids if isinstance(i, str) and 1 <= len(i.encode()) <= 64 and all(c in ALPHABET for c in i)]
    for account in ids:
        command("DepositMoney id", "DepositMoney", {"account_id": account, "amount": "1.00"})
    # Balances pushed past the limit, one step at a time.
    for account, steps in (("over-1", [("DepositMoney", "1000000000000"), ("DepositMoney", "1000000000000")]),
                           ("over-2", [("DepositMoney", "999999999999.99"), ("DepositMoney", "0.01"), ("DepositMoney", "0.01")]),
                           ("over-3", [("DepositMoney", "1000000000000"), ("WithdrawMoney", "1000000000000"),
                                       ("DepositMoney", "1000000000000"), ("WithdrawMoney", "1000000000000.01")]),
                           ("over-4", [("DepositMoney", "500000000000")] * 3)):
        command("CreateAccount", "CreateAccount", {"account_id": account})
        for type_, amount in steps:
            command(f"{type_} past the limit", type_, {"account_id": account, "amount": amount})
    # Every amount into an account of its own, and into one that takes them all (so the sums pass the limit too).
    for n, amount in enumerate(AMOUNTS):
        account = f"amount-{n}"
        command("CreateAccount", "CreateAccount", {"account_id": account})
        command("DepositMoney amount", "DepositMoney", {"account_id": account, "amount": amount})
        command("DepositMoney amount into sink", "DepositMoney", {"account_id": "Z", "amount": amount})
        command("WithdrawMoney amount", "WithdrawMoney", {"account_id": account, "amount": amount})
    # Transfers: onto a full account (its credit would pass the limit), of edge amounts, with edge ids.
    command("TransferMoney onto a full account", "TransferMoney",
            {"transfer_id": "onto-full", "from_account_id": "over-3", "to_account_id": "over-1", "amount": "0.01"})
    command("TransferMoney onto a full account", "TransferMoney",
            {"transfer_id": "onto-full-2", "from_account_id": "over-4", "to_account_id": "over-2", "amount": "1000000000000"})
    for n, amount in enumerate(AMOUNTS):
        source, target = rng.sample(valid + ["over-1", "over-2", "over-3"], 2)
        command("TransferMoney amount", "TransferMoney",
                {"transfer_id": f"amount-{n}", "from_account_id": source, "to_account_id": target, "amount": amount})
    for n, transfer in enumerate(IDS):
        command("TransferMoney id", "TransferMoney",
                {"transfer_id": transfer, "from_account_id": "over-1", "to_account_id": "a", "amount": "1.00"})
        command("TransferMoney account id", "TransferMoney",
                {"transfer_id": f"ids-{n}", "from_account_id": "over-1", "to_account_id": transfer, "amount": "1.00"})
    command("TransferMoney same account", "TransferMoney",
            {"transfer_id": "same", "from_account_id": "a", "to_account_id": "a", "amount": "1.00"})
    command("TransferMoney twice", "TransferMoney",
            {"transfer_id": "amount-0", "from_account_id": "a", "to_account_id": "Z", "amount": "1.00"})

    # The cart: quantities and ids at the edges, on the bus and through its routes.
    for n, quantity in enumerate(QUANTITIES):
        command("AddCartItem quantity", "AddCartItem", {"cart_id": f"cart-{n % 4}", "product_id": f"p{n}", "quantity": quantity})
    for _ in range(5):
        command("AddCartItem 1000 again", "AddCartItem", {"cart_id": "cart-big", "product_id": "p", "quantity": 1000})
    for cart in IDS[:12]:
        command("AddCartItem cart id", "AddCartItem", {"cart_id": cart, "product_id": "p", "quantity": 1})
        command("AddCartItem product id", "AddCartItem", {"cart_id": "cart-ids", "product_id": cart, "quantity": 1})
        command("RemoveCartItem product id", "RemoveCartItem", {"cart_id": "cart-ids", "product_id": cart})
    for cart in ("cart-0", "cart-big", "cart-empty", "c" * 65):
        command("CheckOutCart", "CheckOutCart", {"cart_id": cart})
    command("AddCartItem after checkout", "AddCartItem", {"cart_id": "cart-0", "product_id": "late", "quantity": 1})
    for cart in ("web-1", "c" * 64, "c" * 65, quote("é"), "..", "."):
        for quantity in (1, 1000, 1001, 2 ** 63):
            plan.append(("POST /cart/:id/items", "POST", f"/cart/{cart}/items", {"product_id": "p", "quantity": quantity}))
        plan.append(("DELETE /cart/:id/items/:p", "DELETE", f"/cart/{cart}/items/p", None))
        plan.append(("DELETE /cart/:id/items/:p", "DELETE", f"/cart/{cart}/items/{'q' * 65}", None))
        plan.append(("POST /cart/:id/checkout", "POST", f"/cart/{cart}/checkout", {}))

    # Pizza: the order's fields at their lengths, on the bus and through its route.
    sauce, cheese, main = menu["sauces"][0], menu["cheeses"][0], menu["main_toppings"][0]
    extra = menu["extra_toppings"] or ["x"]
    order = {"customer_id": "ann", "sauce": sauce, "cheese": cheese, "main_topping": main, "extra_toppings": []}
    variants = [{}, {"customer_id": "c" * 64}, {"customer_id": "c" * 65}, {"customer_id": "é"}, {"sauce": "s" * 200},
                {"sauce": "s" * 201}, {"cheese": "😀" * 200}, {"main_topping": ""}, {"extra_toppings": extra * 5},
                {"extra_toppings": [extra[0]] * 100}, {"extra_toppings": [extra[0]] * 101}, {"extra_toppings": ["t" * 200]},
                {"extra_toppings": ["t" * 201]}, {"extra_toppings": [1]}, {"customer_id": 1}]
    for variant in variants:
        body = {**order, **variant}
        command("PlacePizzaOrder", "PlacePizzaOrder", {**body, "order_id": seeded_uuid(rng)})
        plan.append(("POST /pizza/orders", "POST", "/pizza/orders", body))
    for order_id in ("not-a-uuid", "", "00000000-0000-0000-0000-000000000000", seeded_uuid(rng).upper(), 1):
        command("PlacePizzaOrder order id", "PlacePizzaOrder", {**order, "order_id": order_id})

    # Todos: long titles, dates far in the past and the future, for adding, amending, completing, abandoning.
    for title in TITLES:
        plan.append(("POST /todo title", "POST", f"/todo/{seeded_uuid(rng)}", {"title": title}))
    todos = [seeded_uuid(rng) for _ in DATES]
    for todo, date in zip(todos, DATES):
        plan.append(("POST /todo due_date", "POST", f"/todo/{todo}", {"title": f"due {date}", "due_date": date,
                                                                      "stakeholder_email": "someone@example.com"}))
    for todo, date in zip(todos, reversed(DATES)):
        plan.append(("PUT /todo due_date", "PUT", f"/todo/{todo}", {"due_date": date}))
    for n, (todo, date) in enumerate(zip(todos, DATES)):
        if n % 2:
            plan.append(("POST /todo/:id/complete", "POST", f"/todo/{todo}/complete", {"completed_on": date}))
        else:
            plan.append(("POST /todo/:id/abandon", "POST", f"/todo/{todo}/abandon", {"abandoned_on": date}))
    for todo in todos[:6]:
        plan.append(("PUT /todo/:id/moveup", "PUT", f"/todo/{todo}/moveup", {}))
        plan.append(("POST /todo/:id/reopen", "POST", f"/todo/{todo}/reopen", {}))
        plan.append(("POST /todo/:id/clear", "POST", f"/todo/{todo}/clear", {}))
    return plan


QUERIES = ["/todos/outstanding", "/todos/scheduled", "/todos/completed", "/todos/board", "/bank/accounts", "/bank/transfers",
           "/cart/warehouse/orders", "/cart/marketing/removed-items", "/pizza/kitchen", "/log?after=0&limit=1000", "/streams"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_generated_boundary_commands(backend, servers, figures, request):
    rng = random.Random(seed() + (505 if backend == "sqlite" else 506))
    args = ("--transfer-timeout", "1" if backend == "sqlite" else "3", "--pizza-step-ms", "50")
    if backend == "postgres":
        url = request.getfixturevalue("postgres").new_database("adversary_boundary")
        server = servers("boundary", postgres_url=url, extra_args=args)
    else:
        server = servers("boundary", extra_args=args)
    server.start()
    port = server.port
    menu = http(port, "GET", "/pizza/menu").json
    plan = boundary_plan(rng, menu)
    figures["cases"] = len(plan)

    statuses: dict[str, Counter] = {}
    created: list[str] = []
    failures: dict[tuple[str, int], list[str]] = {}
    slowest = 0.0
    for label, method, path, body in plan:
        answer = http(port, method, path, body, timeout=30)
        slowest = max(slowest, answer.seconds)
        statuses.setdefault(label, Counter())[str(answer.status or "none")] += 1
        shown = f"{method} {path[:80]} {json.dumps(body, ensure_ascii=False)[:160] if body is not None else ''}"
        if answer.status >= 500 or not answer.status:
            group = failures.setdefault((label, answer.status), [])
            group.append(f"{shown} → {answer.status or answer.error}: {answer.body[:80]!r}")
            if not server.alive():
                figures.violation(f"the server exited ({server.process.returncode}) after {shown}:\n{server.log_tail(8)}")
                server.start()
        if label in ("CreateAccount id", "CreateAccount") and answer.status == 201:
            created.append(body["account_id"])
    for (label, status), shown in failures.items():  # one violation per command and status
        figures.violation(f"[{label}] {len(shown)} answer(s) {status or 'none'}: " + "; ".join(shown[:3])
                          + (" …" if len(shown) > 3 else ""))
    figures["statuses"] = {label: dict(sorted(c.items())) for label, c in sorted(statuses.items())}
    figures["max_seconds"] = round(slowest, 2)
    every = Counter()
    for c in statuses.values():
        every.update(c)
    figures["answers_5xx"] = sum(n for s, n in every.items() if s.isdigit() and int(s) >= 500)
    figures["ops_ok"] = sum(n for s, n in every.items() if s.startswith("2"))
    figures["ops_failed"] = sum(n for s, n in every.items() if s.startswith("4"))
    figures["ops_unknown"] = sum(n for s, n in every.items() if not s.startswith(("2", "4")))

    # On a quiet server: every subscription at the head, none faulted (a fault is shown with its event).
    faults = {}
    for row in wait_until(lambda: admin_subscriptions(port), 30, message="the subscriptions")["subscriptions"]:
        if row["state"] == "faulted" and row.get("fault"):
            position = row["fault"]["position"]
            page = http(port, "GET", f"/log?after={position - 1}&limit=1").json_or_none() or {}
            event = (page.get("events") or [{}])[0]
            faults[row["name"]] = f"at {position}: {event.get('stream')} {event.get('type')} {event.get('data')}"
    figures["faults"] = faults
    final = wait_caught_up(server, figures, timeout=120)
    head = final["head"]
    figures["events"] = head
    for path in QUERIES:
        answer = http(port, "GET", path, timeout=30)
        if answer.status != 200:
            figures.violation(f"GET {path} after the boundary values answered {answer}")
    # Every account created reads back, and is listed (the read model is at the head by now, unless it
    # faulted: then without ?after=, so that each read answers at once from where it stopped).
    figures["accounts_created"] = len(created)
    unread = []
    for account in created:
        answer = http(port, "GET", f"/bank/accounts/{account}", timeout=15)
        if answer.status != 200:
            unread.append(f"{account[:20]} → {answer.status or answer.error}")
    if unread:
        figures.violation(f"{len(unread)} of {len(created)} accounts created do not read back (GET /bank/accounts/<id>): "
                          + "; ".join(unread[:5]) + (" …" if len(unread) > 5 else ""))
    listed = http(port, "GET", "/bank/accounts", timeout=30)
    if listed.status != 200:
        figures.violation(f"GET /bank/accounts answered {listed}")
    else:
        missing = set(created) - {a["account_id"] for a in listed.json["accounts"]}
        if missing:
            figures.violation(f"GET /bank/accounts lists {len(missing)} created accounts not: {sorted(missing)[:8]}")
    # A new account works normally.
    fresh = f"after-the-storm-{seed()}"
    steps = [("/commands/CreateAccount", {"account_id": fresh}, 201), ("/commands/DepositMoney", {"account_id": fresh, "amount": "10.00"}, 200),
             ("/commands/WithdrawMoney", {"account_id": fresh, "amount": "2.50"}, 200)]
    position = head
    for path, body, expected in steps:
        answer = http(port, "POST", path, body)
        if answer.status != expected:
            figures.violation(f"after the boundary values, {path} {body} answered {answer}")
        else:
            position = answer.json["position"]
    answer = http(port, "GET", f"/bank/accounts/{fresh}?after={position}")
    if answer.status != 200 or answer.json.get("balance") != "7.50":
        figures.violation(f"the new account's balance: {answer} (7.50 expected)")
    # Every read model rebuilds.
    rebuild_every_read_model(port, figures)
    five = {label: dict(c) for label, c in statuses.items() if any(s.isdigit() and int(s) >= 500 or s == "none" for s in c)}
    figures["note"] = (f"{len(plan)} boundary cases: {dict(every)}; {len(created)} accounts created"
                       f"{'; 5xx in ' + str(five) if five else ''}{'; faulted ' + str(faults) if faults else ''}")
    figures.assert_clean()


# ---------------------------------------------------------------- 6. PostgreSQL away for longer than the pool's patience


def test_postgres_outage_is_503_and_readiness_says_so(servers, figures, postgres):
    """PostgreSQL stopped under a running `serve` for longer than the connection pool's circuit breaker
    waits (before: after ~15 s every request answered 500 `internal error`, and the first command took
    20 s to fail). While it is away every command and list read is a 503 with Retry-After within 12 s,
    never a 500; `/health` (liveness) stays 200 and `/health/ready` answers 503; once it is back,
    commands work again and `/health/ready` is 200."""
    down_seconds = setting("adversary_pg_down_seconds", 30.0)
    url = postgres.new_database("adversary_outage")
    server = servers("outage", postgres_url=url)
    server.start()
    port = server.port
    assert http(port, "POST", f"/todo/{uuid.uuid4()}", {"title": "before"}).status == 201
    ready = http(port, "GET", "/health/ready")
    if ready.status != 200:
        figures.violation(f"GET /health/ready answered {ready} while PostgreSQL was up")

    answers: list[tuple[str, str, int, float, bool]] = []  # (phase, what, status, seconds, retry-after)
    lock = threading.Lock()
    phase = {"name": "down"}
    stop = threading.Event()

    def loop(what: str, method: str, path_of, body) -> None:
        for n in range(10_000):  # bounded; ends with stop
            if stop.is_set():
                return
            answer = http(port, method, path_of(n), body, timeout=30)
            with lock:
                answers.append((phase["name"], what, answer.status, answer.seconds, bool(answer.headers.get("retry-after"))))
            time.sleep(0.3)

    loops = [("command", "POST", lambda n: f"/todo/{uuid.uuid4()}", {"title": "while away"}),
             ("list", "GET", lambda n: "/todos/outstanding", None),
             ("bus", "POST", lambda n: "/commands/CreateAccount", None),
             ("health", "GET", lambda n: "/health", None),
             ("ready", "GET", lambda n: "/health/ready", None)]
    postgres.stop("fast")
    threads = []
    try:
        for what, method, path_of, body in loops:
            if what == "bus":
                body = {"account_id": f"outage-{seed()}"}
            threads.append(threading.Thread(target=loop, args=(what, method, path_of, body), daemon=True))
        for t in threads:
            t.start()
        time.sleep(down_seconds)
    finally:
        with lock:
            phase["name"] = "back"
        postgres.start()
        postgres.restarts += 1
    try:
        wait_until(lambda: http(port, "POST", f"/todo/{uuid.uuid4()}", {"title": "after"}).status == 201, 60,
                   interval=0.5, message="a command to succeed after PostgreSQL came back")
        wait_until(lambda: http(port, "GET", "/health/ready").status == 200, 30, interval=0.5,
                   message="/health/ready to answer 200 after PostgreSQL came back")
    except TimeoutError as error:
        figures.violation(str(error))
    stop.set()
    for t in threads:
        t.join(timeout=40)

    down = [a for a in answers if a[0] == "down"]
    by_what = {}
    for _, what, status, _, _ in down:
        by_what.setdefault(what, Counter())[str(status or "none")] += 1
    figures["statuses_while_down"] = {w: dict(c) for w, c in by_what.items()}
    figures["slowest_while_down_seconds"] = round(max((a[3] for a in down if a[1] != "health"), default=0), 2)
    for what in ("command", "list", "bus"):
        seen = [a for a in down if a[1] == what]
        if not seen:
            figures.violation(f"no {what} was answered while PostgreSQL was away")
        bad = [a for a in seen if a[2] != 503 or not a[4]]
        if bad:
            figures.violation(f"{len(bad)} of {len(seen)} {what} requests while PostgreSQL was away were not 503 with "
                              f"Retry-After: {Counter(a[2] for a in bad)}")
        late = [a for a in seen if a[3] > 12]
        if late:
            figures.violation(f"{len(late)} {what} requests took more than 12 s to be refused (slowest {max(a[3] for a in late):.1f}s)")
    if any(a[2] != 200 for a in down if a[1] == "health"):
        figures.violation(f"GET /health was not always 200 while PostgreSQL was away: {by_what.get('health')}")
    readiness = [a for a in down if a[1] == "ready"]
    if not any(a[2] == 503 and a[4] for a in readiness):
        figures.violation(f"GET /health/ready never answered 503 with Retry-After while PostgreSQL was away: {by_what.get('ready')}")
    fives = [a for a in answers if a[2] == 500]
    if fives:
        figures.violation(f"{len(fives)} answers were 500 ({Counter(a[1] for a in fives)})")
    figures["ops_ok"] = sum(1 for a in answers if 200 <= a[2] < 300)
    figures["ops_failed"] = sum(1 for a in answers if a[2] == 503)
    figures["ops_unknown"] = sum(1 for a in answers if a[2] not in (200, 201, 503))
    figures["note"] = (f"PostgreSQL away {down_seconds:.0f}s: {figures['statuses_while_down']}, slowest refusal "
                       f"{figures['slowest_while_down_seconds']}s")
    figures.assert_clean()


# ---------------------------------------------------------------- 7. scratch left by killed builds


def test_scratch_of_killed_builds_is_swept_at_start(servers, figures, workdir):
    """A rebuild killed mid-way leaves its scratch file beside the database; point-in-time builds leave
    files in the temporary directory. The next start removes what no live process owns."""
    tmp = workdir / "server-tmp"
    tmp.mkdir()
    server = servers("sweep", env={"TMPDIR": str(tmp)})
    server.start()
    port = server.port
    add_todos(port, setting("adversary_sweep_events", 10000, 50000), clients=4)
    leftovers = []
    for attempt in range(5):
        assert http(port, "GET", f"/todos/outstanding?as_of={attempt + 1}").status == 200
        answer = http(port, "POST", "/admin/api/subscriptions/outstanding_todos/rebuild", {})
        assert answer.status == 200, answer
        try:
            wait_until(lambda: any(p.name.startswith(server.database.name + ".rebuild-") for p in server.database.parent.iterdir()),
                       10, interval=0.005, message="the rebuild's scratch file")
        except TimeoutError:
            continue  # finished too fast to be killed mid-way: try again
        server.kill9()
        leftovers = [p.name for p in server.database.parent.iterdir() if ".rebuild-" in p.name]
        leftovers += [p.name for p in tmp.iterdir()]
        break
    figures["left_by_the_kill"] = leftovers
    if not any(".rebuild-" in name for name in leftovers):
        pytest.fail("no rebuild could be killed mid-way to leave its scratch file")
    server.start()
    remaining = [p.name for p in server.database.parent.iterdir() if ".rebuild-" in p.name] + [p.name for p in tmp.iterdir()]
    figures["left_after_restart"] = remaining
    if remaining:
        figures.violation(f"after a restart the scratch of the killed process is still there: {remaining}")
    figures["note"] = f"left by the kill: {len(leftovers)} files; after the restart: {len(remaining)}"
    figures.assert_clean()
