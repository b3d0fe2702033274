"""The checks every reliability test runs afterwards, on a quiet server.

- every subscription reaches the head and none is faulted;
- the log: positions exactly 1..N, event ids unique, each stream's versions 1..k;
- every acknowledged command's event is in the log exactly once, at the acknowledged version and
  position, with the right type; no event that no accepted-or-unknown command explains (so none from a
  refused request), no duplicate;
- the notifier: exactly one `StakeholderNotifiedOfTodoCompletion` (caused by it) and exactly one mail
  (unique mail id, whole JSON line) per `TodoCompleted` of a todo with a stakeholder email, none else;
- the read models: each list equals what the log says (Python fold) and equals itself after a rebuild
  of every projection.

Violations are collected (not raised one by one) so that one run reports everything that is wrong.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

from harness import ChronicleServer, Figures, request
from load import NOTIFIED, Recorder, TodoState

LISTS = ("outstanding", "scheduled", "completed", "board")
PROJECTIONS = {"outstanding": "outstanding_todos", "scheduled": "scheduled_todos", "completed": "completed_todos",
               "board": "todo_board"}
NOTIFIER = "todo_completed_notifier"


def derived_id(event_id: str, salt: int) -> str:
    """TodoCompletedNotifier.derivedId: each byte XOR (salt + index)."""
    raw = uuid.UUID(event_id).bytes
    return str(uuid.UUID(bytes=bytes(b ^ ((salt + i) & 0xFF) for i, b in enumerate(raw))))


def read_log(server: ChronicleServer, max_pages: int = 100_000) -> list[dict]:
    events: list[dict] = []
    after = 0
    for _ in range(max_pages):
        answer = request(server.port, "GET", f"/log?after={after}&limit=1000", timeout=30)
        if answer.status != 200:
            raise AssertionError(f"GET /log?after={after}&limit=1000 answered {answer}")
        page = answer.json["events"]
        if not page:
            return events
        events.extend(page)
        after = page[-1]["position"]
    raise AssertionError(f"the log has more than {max_pages} pages")


def subscriptions(server: ChronicleServer) -> dict:
    answer = request(server.port, "GET", "/admin/api/subscriptions", timeout=15)
    if answer.status != 200:
        raise AssertionError(f"GET /admin/api/subscriptions answered {answer}")
    return answer.json


def wait_caught_up(server: ChronicleServer, figures: Figures, timeout: float = 120.0, resume_faulted: bool = True) -> dict:
    """Waits until every subscription runs at the head. A faulted one is a violation; it is then resumed
    once (so that the remaining checks can run) and waited for again."""
    deadline = time.monotonic() + timeout
    reported: dict[str, float] = {}  # name -> when it was found faulted (and resumed)
    last = None
    while True:
        last = subscriptions(server)
        head = last["head"]
        subs = last["subscriptions"]
        for s in subs:
            if s["state"] == "faulted" and s["name"] not in reported:
                reported[s["name"]] = time.monotonic()
                fault = s.get("fault") or {}
                figures.violation(f"subscription {s['name']} is faulted at position {fault.get('position')}: "
                                  f"{str(fault.get('error'))[:300]}")
                if resume_faulted:
                    request(server.port, "POST", f"/admin/api/subscriptions/{s['name']}/resume", {}, timeout=10)
        behind = [s for s in subs if s["checkpoint"] != head or s["state"] != "running"]
        if behind and all(s["state"] == "faulted" and time.monotonic() - reported.get(s["name"], 1e18) > 10
                          for s in behind):
            figures.violation(f"still faulted 10 s after a resume: {[s['name'] for s in behind]}")
            return last
        if all(s["checkpoint"] == head and s["state"] == "running" for s in subs):
            # The notifier may have just appended: confirm on a second read that nothing moved.
            again = subscriptions(server)
            if again["head"] == head and all(s["checkpoint"] == head and s["state"] == "running" for s in again["subscriptions"]):
                return again
        if time.monotonic() >= deadline:
            states = ", ".join(f"{s['name']}={s['state']}@{s['checkpoint']}" for s in subs)
            figures.violation(f"subscriptions did not all reach the head {head} within {timeout:.0f}s: {states}")
            return last
        time.sleep(0.1)


def check_log_shape(events: list[dict], figures: Figures) -> None:
    positions = [e["position"] for e in events]
    if positions != list(range(1, len(events) + 1)):
        gaps = [(a, b) for a, b in zip([0] + positions, positions) if b != a + 1][:10]
        figures.violation(f"positions are not exactly 1..{len(events)}: first breaks {gaps}")
    ids = Counter(e["id"] for e in events)
    repeated = [i for i, n in ids.items() if n > 1]
    if repeated:
        figures.add("duplicated", len(repeated))
        figures.violation(f"{len(repeated)} event id(s) appear more than once in the log, e.g. {repeated[:3]}")
    versions = defaultdict(list)
    for e in events:
        versions[e["stream"]].append(e["version"])
    for stream, vs in versions.items():
        if vs != list(range(1, len(vs) + 1)):
            figures.violation(f"stream {stream} has versions {vs[:20]} instead of 1..{len(vs)}")


def check_acknowledged(events: list[dict], recorder: Recorder, figures: Figures, extra_streams_ok=()) -> None:
    """Every acknowledged command's event present exactly once; every other event explained."""
    by_stream: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        by_stream[e["stream"]].append(e)
    ops_by_todo: dict[str, list] = defaultdict(list)
    for op in recorder.commands():
        if op.todo_id:
            ops_by_todo[op.todo_id].append(op)
    lost = duplicated = unexplained = acked = claimed_unknown = invalid_accepted = 0
    examples: list[str] = []

    def note(message: str):
        if len(examples) < 25:
            examples.append(message)

    for todo_id, ops in ops_by_todo.items():
        stream = f"todo-{todo_id}"
        stream_events = [e for e in by_stream.get(stream, []) if e["type"] != NOTIFIED]
        by_version = {e["version"]: e for e in stream_events}
        claimed: set[int] = set()
        pending_unknown = []
        ok_events: list[dict] = []

        def claim_between(lo: int, hi: int):
            """Events of versions in (lo, hi) not yet claimed: explained only by pending unknown commands, in order."""
            nonlocal unexplained, duplicated, claimed_unknown
            for e in stream_events:
                if lo < e["version"] < hi and e["version"] not in claimed:
                    while pending_unknown and pending_unknown[0].expected_event != e["type"]:
                        pending_unknown.pop(0)
                    if pending_unknown:
                        pending_unknown.pop(0)
                        claimed.add(e["version"])
                        claimed_unknown += 1
                    else:
                        claimed.add(e["version"])
                        if any(o["type"] == e["type"] and o.get("data") == e.get("data") for o in ok_events):
                            duplicated += 1
                            note(f"{stream} v{e['version']} {e['type']} repeats an acknowledged event")
                        else:
                            unexplained += 1
                            note(f"{stream} v{e['version']} {e['type']} (position {e['position']}) comes from no accepted "
                                 f"or unknown command (a refused request wrote it?)")

        last_version = 0
        for op in ops:
            if op.outcome == "unknown":
                pending_unknown.append(op)
            elif op.outcome == "ok":
                if not op.expected_event:
                    invalid_accepted += 1
                    if invalid_accepted <= 3:
                        figures.violation(f"a command that must be refused was accepted: {op.kind} {op.method} "
                                          f"{op.path} {str(op.body)[:120]} -> {op.status}")
                    if op.version is not None and op.version in by_version:
                        claim_between(last_version, op.version)
                        pending_unknown.clear()
                        claimed.add(op.version)  # explained (and reported above)
                        last_version = max(last_version, op.version)
                    continue
                if op.version is None:
                    figures.violation(f"{op.kind} {op.path} answered {op.status} without an acknowledgement: {op.error}")
                    continue
                acked += 1
                e = by_version.get(op.version)
                if e is None or e["type"] != op.expected_event:
                    lost += 1
                    note(f"acknowledged {op.kind} of {stream} (version {op.version}, position {op.position}) is not in "
                         f"the log (found {e['type'] if e else 'nothing'} there)")
                    continue
                if e["position"] != op.position:
                    figures.violation(f"{stream} v{op.version} acknowledged at position {op.position} but the log has "
                                      f"it at {e['position']}")
                claim_between(last_version, op.version)
                pending_unknown.clear()  # an unknown command before an acknowledged one either wrote before it or not at all
                claimed.add(op.version)
                ok_events.append(e)
                last_version = max(last_version, op.version)
        claim_between(last_version, 1 << 62)
        by_stream.pop(stream, None)

    for stream, rest in by_stream.items():
        if stream in extra_streams_ok:
            continue
        for e in rest:
            if e["type"] == NOTIFIED:
                continue
            unexplained += 1
            note(f"{stream} v{e['version']} {e['type']}: a stream no client wrote to")

    figures["acknowledged_events"] = acked
    if invalid_accepted > 3:
        figures.violation(f"… {invalid_accepted} commands that must be refused were accepted in all")
    figures["unknown_commands_written"] = claimed_unknown
    figures.add("lost", lost)
    figures.add("duplicated", duplicated)
    figures["unexplained_events"] = unexplained
    if lost:
        figures.violation(f"{lost} acknowledged event(s) lost")
    if duplicated:
        figures.violation(f"{duplicated} event(s) written twice")
    if unexplained:
        figures.violation(f"{unexplained} event(s) in the log from no accepted command (refused requests must write nothing)")
    for message in examples:
        figures.violation("  " + message)


def todo_states(events: list[dict]) -> dict[str, TodoState]:
    states: dict[str, TodoState] = {}
    for e in events:
        if e["stream"].startswith("todo-"):
            states.setdefault(e["stream"][5:], TodoState()).apply(e["type"], e.get("data") or {})
    return states


def read_mailbox(path: Path, figures: Figures) -> list[dict]:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    mails = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line:
            continue
        try:
            mails.append(json.loads(line.decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            figures.add("mailbox_torn_lines")
            figures.violation(f"mailbox line {number} is not a whole JSON line: {line[:160]!r}")
    if data and not data.endswith(b"\n"):
        figures.violation(f"the mailbox ends in a partial line: {data[-120:]!r}")
    return mails


def check_side_effects(events: list[dict], mailbox: Path, figures: Figures) -> None:
    """Exactly one notification event and one mail per completion of a todo with a stakeholder email."""
    streams: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        streams[e["stream"]].append(e)
    expected: dict[str, dict] = {}  # mail id -> {to, title, completed event}
    for stream, es in streams.items():
        if not stream.startswith("todo-"):
            continue
        state = TodoState()
        for e in es:
            state.apply(e["type"], e.get("data") or {})
            if e["type"] == "TodoCompleted":
                email = state.fields.get("stakeholder_email")
                if email:
                    expected[derived_id(e["id"], 0x6D)] = {"to": email, "title": state.fields.get("title") or "",
                                                           "event": e}
    notified = [e for e in events if e["type"] == NOTIFIED]
    by_cause = Counter((e.get("metadata") or {}).get("causation_id") for e in notified)
    completions = {m["event"]["id"]: m for m in expected.values()}
    problems = 0
    for event_id, m in completions.items():
        n = by_cause.get(event_id, 0)
        if n != 1:
            problems += 1
            if problems <= 10:
                figures.violation(f"completion {event_id} of {m['event']['stream']} has {n} "
                                  f"StakeholderNotifiedOfTodoCompletion event(s) instead of 1")
    for cause, n in by_cause.items():
        if cause not in completions:
            problems += 1
            if problems <= 10:
                figures.violation(f"{n} StakeholderNotifiedOfTodoCompletion caused by {cause}, which is no completion "
                                  f"of a todo with a stakeholder")
    for e in notified:
        cause = (e.get("metadata") or {}).get("causation_id")
        if cause and e["id"] != derived_id(cause, 0x4E):
            figures.violation(f"notification {e['id']} does not carry the id derived from its cause {cause}")
            break

    mails = read_mailbox(mailbox, figures)
    ids = Counter(str((m.get("mail") or {}).get("id", "")).lower() for m in mails)
    repeated = [i for i, n in ids.items() if n > 1]
    if repeated:
        figures.add("duplicated", len(repeated))
        figures.violation(f"{len(repeated)} mail id(s) delivered more than once, e.g. {repeated[:3]}")
    for mail_id, m in expected.items():
        got = [x for x in mails if str((x.get("mail") or {}).get("id", "")).lower() == mail_id]
        if len(got) != 1:
            problems += 1
            if problems <= 20:
                figures.violation(f"completion {m['event']['id']} ({m['to']}) has {len(got)} mail(s) instead of 1")
            continue
        mail = got[0]["mail"]
        if mail.get("to") != m["to"] or mail.get("body") != f"Your todo item {m['title']} has been completed!":
            figures.violation(f"mail {mail_id} differs from its completion: {mail!r:.200}")
    for mail_id in ids:
        if mail_id not in expected:
            problems += 1
            if problems <= 20:
                figures.violation(f"mail {mail_id} corresponds to no completion of a todo with a stakeholder")
    figures["completions_with_stakeholder"] = len(expected)
    figures["notifications"] = len(notified)
    figures["mails"] = len(mails)
    figures["side_effect_problems"] = problems


def snapshot_lists(server: ChronicleServer) -> dict[str, list]:
    out = {}
    for name in LISTS:
        answer = request(server.port, "GET", f"/todos/{name}", timeout=30)
        if answer.status != 200:
            raise AssertionError(f"GET /todos/{name} answered {answer}")
        out[name] = answer.json
    return out


def expected_lists(events: list[dict]) -> dict[str, dict[str, dict]]:
    """What each list must hold according to the log (membership and fields; order is checked apart)."""
    states = todo_states(events)
    lists = {name: {} for name in LISTS}
    for todo_id, s in states.items():
        row = {"todo_id": todo_id, **s.fields}
        if s.status == "outstanding":
            lists["outstanding"][todo_id] = dict(row)
            if s.fields.get("due_date") is not None:
                lists["scheduled"][todo_id] = dict(row)
            lists["board"][todo_id] = {**row, "completed": False, "completed_on": None}
        elif s.status == "completed":
            lists["completed"][todo_id] = {**row, "completed_on": s.completed_on}
            if not s.cleared:
                lists["board"][todo_id] = {**row, "completed": True, "completed_on": s.completed_on}
    return lists


def compare_lists(before: dict[str, list], events: list[dict], figures: Figures) -> None:
    """The lists as served against the lists the log implies."""
    want = expected_lists(events)
    for name in LISTS:
        have = {row.get("todo_id"): row for row in before[name]}
        if len(have) != len(before[name]):
            figures.violation(f"/todos/{name} lists a todo twice")
        missing = sorted(set(want[name]) - set(have))
        extra = sorted(set(have) - set(want[name]))
        differing = [t for t in set(want[name]) & set(have)
                     if any(have[t].get(k) != v for k, v in want[name][t].items())]
        if missing or extra or differing:
            detail = ""
            if differing:
                t = differing[0]
                detail = "; e.g. " + "; ".join(f"{k}: read model {have[t].get(k)!r:.80} vs log {v!r:.80}"
                                              for k, v in want[name][t].items() if have[t].get(k) != v)
            figures.violation(f"/todos/{name} differs from the log: {len(missing)} missing, {len(extra)} extra, "
                              f"{len(differing)} with other values{detail}")
    for name, key in (("scheduled", "due_date"), ("completed", "completed_on")):
        values = [row.get(key) or "" for row in before[name]]
        if values != sorted(values):
            figures.violation(f"/todos/{name} is not ordered by {key}")
    figures["read_model_rows"] = sum(len(v) for v in before.values())


def check_read_models(server: ChronicleServer, events: list[dict], figures: Figures, rebuild: bool = True,
                      timeout: float = 180.0) -> None:
    before = snapshot_lists(server)
    compare_lists(before, events, figures)
    if not rebuild:
        return
    # Rebuild every projection (beside the live read model, then swapped in) and wait until each is
    # swapped in and caught up. A rebuild requested is `building` at once, so "done" is this one's.
    for name in PROJECTIONS.values():
        answer = request(server.port, "POST", f"/admin/api/subscriptions/{name}/rebuild", {}, timeout=15)
        if answer.status != 200:
            figures.violation(f"rebuild of {name} answered {answer}")
            return
    deadline = time.monotonic() + timeout
    while True:
        status = subscriptions(server)
        rows = {s["name"]: s for s in status["subscriptions"]}
        phases = {n: (rows[n].get("rebuild") or {}).get("phase") for n in PROJECTIONS.values()}
        done = all(phases[n] == "done" and rows[n]["checkpoint"] == status["head"] and rows[n]["state"] == "running"
                   for n in PROJECTIONS.values())
        failed = [(n, rows[n]["rebuild"].get("error")) for n in PROJECTIONS.values() if phases[n] == "failed"]
        faulted = [n for n in PROJECTIONS.values() if rows[n]["state"] == "faulted"]
        if faulted or failed:
            figures.violation(f"rebuild failed {failed!r:.400} / faulted {faulted}: {[rows[n].get('fault') for n in faulted]!r:.400}")
            return
        if done:
            break
        if time.monotonic() >= deadline:
            figures.violation(f"the rebuild did not finish within {timeout:.0f}s: "
                              f"{[(n, phases[n], rows[n]['state'], rows[n]['checkpoint']) for n in PROJECTIONS.values()]}")
            return
        time.sleep(0.1)
    after = snapshot_lists(server)
    for name in LISTS:
        if after[name] != before[name]:
            a = {r.get("todo_id"): r for r in before[name]}
            b = {r.get("todo_id"): r for r in after[name]}
            figures.violation(f"/todos/{name} differs from its rebuild: {len(set(a) ^ set(b))} todos in one only, "
                              f"{sum(1 for t in set(a) & set(b) if a[t] != b[t])} with other values, "
                              f"order {'same' if [r.get('todo_id') for r in before[name]] == [r.get('todo_id') for r in after[name]] else 'differs'}")


def check_metrics_500(server: ChronicleServer, answered_500: int, figures: Figures) -> None:
    """`/metrics` must count as 500 only the 500s clients were given by this process."""
    answer = request(server.port, "GET", "/metrics", timeout=15)
    if answer.status != 200:
        figures.violation(f"GET /metrics answered {answer}")
        return
    lines = [line for line in answer.body.decode("utf-8", "replace").splitlines()
             if not line.startswith("#") and 'http_response_status_code="500"' in line]
    # The request counter (hb_requests); failing that, the duration histogram's count.
    counters = [line for line in lines if line.startswith("hb_requests{")] or \
        [line for line in lines if line.split("{", 1)[0].endswith("_count")]
    counted = 0.0
    for line in counters:
        try:
            counted += float(line.rsplit(" ", 1)[1])
        except ValueError:
            pass
    figures["metrics_500"] = counted
    if counted > answered_500:
        figures.violation(f"/metrics counts {counted:.0f} answers as status 500, but clients were answered 500 only "
                          f"{answered_500} time(s) (4xx counted as 500?)")


def verify_all(server: ChronicleServer, recorder: Recorder, figures: Figures, rebuild: bool = True,
               extra_streams_ok=()) -> list[dict]:
    """Runs every check on a quiet, running server; answers the log."""
    wait_caught_up(server, figures)
    events = read_log(server)
    figures["events"] = len(events)
    check_log_shape(events, figures)
    check_acknowledged(events, recorder, figures, extra_streams_ok)
    check_side_effects(events, server.mailbox, figures)
    check_read_models(server, events, figures, rebuild=rebuild)
    wait_caught_up(server, figures, timeout=60, resume_faulted=False)
    return events


def record_ops(recorder: Recorder, figures: Figures) -> None:
    for key, value in recorder.figures().items():
        figures[key] = value
