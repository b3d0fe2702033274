"""Mixed client load on the Todo API, with every operation recorded as ok / failed / unknown.

Each client thread owns its todos (no two clients touch one todo), keeps a model of each and sends
commands in order: mostly valid ones (add, amend, complete, abandon, move up, reopen, clear; most todos
with a stakeholder, so completions mail), some that must be refused (400/422), and reads with `?after=`.

Outcomes:
- ok: a 2xx answer (for a command: its `{todo_id, stream_version, position}` is the acknowledgement);
- failed: a non-2xx answer that is a decision (4xx, 503), or a connection refused (nothing was sent);
- unknown: anything else (no answer, an answer cut short, connection reset or timeout, 500): the
  command may or may not have been written. After an unknown command the client re-reads the todo's stream before going on.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from harness import Answer, request

COMMAND_EVENT = {
    "add": "TodoAdded", "amend": "TodoAmended", "complete": "TodoCompleted", "abandon": "TodoAbandoned",
    "moveup": "TodoMovedUp", "reopen": "TodoReopened", "clear": "TodoCleared",
}
NOTIFIED = "StakeholderNotifiedOfTodoCompletion"


class TodoState:
    """A todo as its events make it (the decider's `evolve`, in Python)."""

    def __init__(self):
        self.status = "unknown"  # outstanding | completed | abandoned
        self.cleared = False
        self.fields = {"title": None, "description": None, "due_date": None, "stakeholder_email": None}
        self.completed_on = None

    def apply(self, event_type: str, data: dict) -> None:
        if event_type == "TodoAdded":
            self.status = "outstanding"
            for key in self.fields:
                self.fields[key] = data.get(key)
        elif event_type == "TodoAmended":
            for key in self.fields:
                if key in data:
                    self.fields[key] = data[key]
        elif event_type == "TodoCompleted":
            self.status = "completed"
            self.completed_on = data.get("completed_on")
        elif event_type == "TodoAbandoned":
            self.status = "abandoned"
        elif event_type == "TodoReopened":
            self.status = "outstanding"
            self.completed_on = None
        elif event_type == "TodoCleared":
            self.cleared = True

    @classmethod
    def fold(cls, events: list[dict]) -> "TodoState":
        state = cls()
        for e in events:
            state.apply(e["type"], e.get("data") or {})
        return state


@dataclass
class Op:
    id: int
    client: int
    kind: str  # a command name, "invalid:<what>", or "read"
    method: str
    path: str
    todo_id: str | None
    expected_event: str | None  # the event type an accepted command writes (None: must be refused / a read)
    started: float
    outcome: str = "pending"  # ok | failed | unknown
    status: int = 0
    seconds: float = 0.0
    error: str | None = None
    version: int | None = None  # acknowledged stream version
    position: int | None = None  # acknowledged position
    body: object = None
    phase: str = ""  # what the test was doing (e.g. "disk full")
    reply: bytes = b""  # the start of a non-2xx answer's body


class Recorder:
    """Every operation of every client, thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self.ops: list[Op] = []
        self.phase = ""

    def new(self, **kwargs) -> Op:
        with self._lock:
            op = Op(id=len(self.ops) + 1, started=time.monotonic(), phase=self.phase, **kwargs)
            self.ops.append(op)
            return op

    def commands(self) -> list[Op]:
        with self._lock:
            return [op for op in self.ops if op.kind != "read"]

    def count(self, outcome: str, kind: str | None = None) -> int:
        with self._lock:
            return sum(1 for op in self.ops if op.outcome == outcome and (kind is None or (op.kind == "read") == (kind == "read")))

    def acked_commands(self) -> int:
        with self._lock:
            return sum(1 for op in self.ops if op.outcome == "ok" and op.expected_event)

    def figures(self) -> dict:
        with self._lock:
            ops = list(self.ops)
        out = {"ops_ok": 0, "ops_failed": 0, "ops_unknown": 0, "commands_ok": 0, "commands_failed": 0,
               "commands_unknown": 0, "reads_ok": 0, "reads_failed": 0, "reads_unknown": 0, "answers_5xx": 0,
               "answers_500": 0, "refused_connections": 0, "max_command_seconds": 0.0}
        for op in ops:
            if op.outcome == "pending":
                continue
            out[f"ops_{op.outcome}"] += 1
            if op.outcome == "failed" and not op.status:
                out["refused_connections"] += 1
            out[("reads_" if op.kind == "read" else "commands_") + op.outcome] += 1
            if op.status >= 500:
                out["answers_5xx"] += 1
            if op.status == 500:
                out["answers_500"] += 1
            if op.kind != "read" and op.status:
                out["max_command_seconds"] = max(out["max_command_seconds"], round(op.seconds, 2))
        return out


def classify(answer: Answer) -> str:
    if not answer.sent:
        return "failed"  # refused: the server never saw it
    if answer.error:
        return "unknown"  # cut short (e.g. a 201 whose body never came): it may or may not have been written
    if 200 <= answer.status < 300:
        return "ok"
    if 400 <= answer.status < 500 or answer.status == 503:
        return "failed"
    return "unknown"  # no answer, or 500 (it may have been written before failing)


@dataclass
class ClientTodo:
    id: str
    state: TodoState = field(default_factory=TodoState)
    uncertain: bool = False
    retired: bool = False


class Load:
    """`clients` threads sending mixed commands and reads to the server at `port_of()` until stopped.

    `up` (threading.Event) is cleared by a test while the server is down: a client whose connection is
    refused waits for it (bounded) instead of spinning."""

    def __init__(self, port_of, recorder: Recorder, seed: int, clients: int = 3, stakeholder_ratio: float = 0.8,
                 invalid_ratio: float = 0.12, read_ratio: float = 0.15, timeout: float = 10.0, max_todos: int = 6,
                 max_ops: int = 1_000_000, complete_bias: float = 0.0):
        self.port_of = port_of
        self.recorder = recorder
        self.seed = seed
        self.clients = clients
        self.stakeholder_ratio = stakeholder_ratio
        self.invalid_ratio = invalid_ratio
        self.read_ratio = read_ratio
        self.timeout = timeout
        self.max_todos = max_todos
        self.max_ops = max_ops
        self.complete_bias = complete_bias
        self.stop_event = threading.Event()
        self.up = threading.Event()
        self.up.set()
        self.threads: list[threading.Thread] = []
        self.todos: dict[str, ClientTodo] = {}  # every todo id any client used (including refused adds)
        self._lock = threading.Lock()
        self.errors: list[str] = []

    # -- running
    def start(self) -> "Load":
        for i in range(self.clients):
            t = threading.Thread(target=self._run, args=(i,), name=f"load-{i}", daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self.stop_event.set()
        self.up.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        stuck = [t.name for t in self.threads if t.is_alive()]
        if stuck:
            raise RuntimeError(f"load threads did not stop within {timeout}s: {stuck}")

    def wait_for_acks(self, count: int, timeout: float) -> bool:
        """Waits until `count` more commands have been acknowledged (answers False at the deadline)."""
        target = self.recorder.acked_commands() + count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.recorder.acked_commands() >= target:
                return True
            time.sleep(0.02)
        return False

    # -- one client
    def _run(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        mine: list[ClientTodo] = []
        last_position = 0
        ops = 0
        try:
            while not self.stop_event.is_set() and ops < self.max_ops:
                ops += 1
                if not self.up.is_set():
                    self.up.wait(1.0)
                    continue
                if rng.random() < self.read_ratio:
                    if not self._read(index, rng, last_position).sent:
                        self.stop_event.wait(0.05)
                    continue
                mine = [t for t in mine if not t.retired]
                todo = None
                candidates = [t for t in mine]
                rng.shuffle(candidates)
                for t in candidates:
                    if t.uncertain and not self._resync(t):
                        continue
                    if not t.retired:
                        todo = t
                        break
                if todo is None or (len(mine) < self.max_todos and rng.random() < 0.3):
                    todo = ClientTodo(id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
                    with self._lock:
                        self.todos[todo.id] = todo
                    mine.append(todo)
                op, answer = self._command(index, rng, todo)
                if op.outcome == "ok" and op.position:
                    last_position = max(last_position, op.position)
                if answer.status == 503:
                    self.stop_event.wait(0.05)  # the server said "not now": back off a little
                if not answer.sent:
                    # The server is down: wait (bounded) until the test says it is up again, polling
                    # every 50 ms until the test has noticed.
                    if self.up.is_set():
                        self.stop_event.wait(0.05)
                    else:
                        self.up.wait(1.0)
        except Exception as error:  # a bug in the harness must not pass silently
            with self._lock:
                self.errors.append(f"client {index}: {error.__class__.__name__}: {error}")
            raise

    def _resync(self, todo: ClientTodo) -> bool:
        """After an unknown outcome: the todo as its stream says. False if the server cannot say now."""
        answer = request(self.port_of(), "GET", f"/streams/todo-{todo.id}?limit=1000", timeout=self.timeout)
        if answer.status != 200 or answer.error:
            return False
        try:
            events = answer.json["events"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return False
        todo.state = TodoState.fold(events)
        todo.uncertain = False
        self._maybe_retire(todo)
        return True

    def _maybe_retire(self, todo: ClientTodo) -> None:
        s = todo.state
        if s.status == "abandoned" or (s.status == "completed" and s.cleared):
            todo.retired = True

    def _read(self, index: int, rng: random.Random, after: int) -> Answer:
        path = rng.choice([f"/todos/board?after={after}", f"/todos/outstanding?after={after}",
                           "/todos/completed", "/todos/scheduled", f"/log?after={max(0, after - 5)}&limit=10"])
        op = self.recorder.new(client=index, kind="read", method="GET", path=path, todo_id=None, expected_event=None)
        answer = request(self.port_of(), "GET", path, timeout=self.timeout)
        self._finish(op, answer)
        return answer

    def _command(self, index: int, rng: random.Random, todo: ClientTodo) -> tuple[Op, Answer]:
        kind, method, path, body = self._choose(rng, todo)
        expected = COMMAND_EVENT.get(kind)
        op = self.recorder.new(client=index, kind=kind, method=method, path=path, todo_id=todo.id,
                               expected_event=expected, body=body)
        answer = request(self.port_of(), method, path, body, timeout=self.timeout)
        self._finish(op, answer)
        if op.outcome == "ok":
            if expected:
                todo.state.apply(expected, body if kind in ("add", "amend") else
                                 ({"completed_on": body.get("completed_on")} if kind == "complete" else {}))
                self._maybe_retire(todo)
            else:
                todo.uncertain = True  # an invalid command was accepted: re-read the truth
        elif op.outcome == "unknown":
            todo.uncertain = True
        return op, answer

    def _finish(self, op: Op, answer: Answer) -> None:
        op.status = answer.status
        op.seconds = answer.seconds
        op.error = answer.error
        op.outcome = classify(answer)
        if not 200 <= answer.status < 300:
            op.reply = answer.body[:300]
        if op.outcome == "ok" and op.kind != "read":
            try:
                ack = answer.json
                op.version = int(ack["stream_version"])
                op.position = int(ack["position"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                op.error = f"2xx without an acknowledgement: {answer.body[:200]!r} ({answer.error})"

    def _choose(self, rng: random.Random, todo: ClientTodo) -> tuple[str, str, str, dict]:
        s = todo.state
        base = f"/todo/{todo.id}"
        n = rng.randrange(1_000_000)
        invalid = rng.random() < self.invalid_ratio
        if s.status == "unknown":
            if invalid:
                return rng.choice([
                    ("invalid:blank-title", "POST", base, {"title": "   "}),
                    ("invalid:title-type", "POST", base, {"title": 42}),
                    ("invalid:due-date", "POST", base, {"title": f"t{n}", "due_date": "2026-02-30"}),
                    ("invalid:complete-missing", "POST", base + "/complete", {"completed_on": "2026-11-30"}),
                ])
            body = {"title": rng.choice([f"Buy milk {n}", f"Écrire « {n} » ☕", f"Call \"Ada\" {n}", f"t{n} <b>x</b>"])}
            if rng.random() < 0.5:
                body["description"] = f"desc {n}"
            if rng.random() < 0.4:
                body["due_date"] = f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if rng.random() < self.stakeholder_ratio:
                body["stakeholder_email"] = f"s{n}@example.com"
            return "add", "POST", base, body
        if s.status == "outstanding":
            if invalid:
                return rng.choice([
                    ("invalid:re-add", "POST", base, {"title": f"again {n}"}),
                    ("invalid:reopen-outstanding", "POST", base + "/reopen", {}),
                    ("invalid:clear-outstanding", "POST", base + "/clear", {}),
                    ("invalid:amend-date", "PUT", base, {"due_date": "2026-13-01"}),
                    ("invalid:complete-blank", "POST", base + "/complete", {"completed_on": " "}),
                ])
            roll = rng.random() - self.complete_bias
            if roll < 0.25:
                amendment = rng.choice([{"title": f"amended {n}"}, {"description": None}, {"description": f"d{n}"},
                                        {"due_date": f"2027-01-{rng.randint(1, 28):02d}"}, {"due_date": None},
                                        {"stakeholder_email": f"new{n}@example.com"}])
                return "amend", "PUT", base, amendment
            if roll < 0.40:
                return "moveup", "PUT", base + "/moveup", {}
            if roll < 0.50:
                return "abandon", "POST", base + "/abandon", {"abandoned_on": "2026-11-30"}
            return "complete", "POST", base + "/complete", {"completed_on": f"2026-11-{rng.randint(1, 30):02d}"}
        if s.status == "completed":
            if invalid:
                return rng.choice([
                    ("invalid:complete-again", "POST", base + "/complete", {"completed_on": "2026-11-30"}),
                    ("invalid:amend-completed", "PUT", base, {"title": "nope"}),
                    ("invalid:moveup-completed", "PUT", base + "/moveup", {}),
                    ("invalid:abandon-completed", "POST", base + "/abandon", {"abandoned_on": "2026-11-30"}),
                ])
            if rng.random() < 0.5:
                return "reopen", "POST", base + "/reopen", {}
            return "clear", "POST", base + "/clear", {}
        # abandoned (retired normally)
        return "invalid:complete-abandoned", "POST", base + "/complete", {"completed_on": "2026-11-30"}
