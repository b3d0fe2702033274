"""The checker checks: each check of `verify.py` run on a small synthetic log, clean and then with one
fault planted — a lost event, an event from a refused request, a duplicate, a gap in positions, a torn
or repeated mail, a missing notification, a read model that cut a value. No server needed (< 1 s)."""

from __future__ import annotations

import json
import uuid

import pytest

from harness import Figures
from load import NOTIFIED, Recorder
from verify import (check_acknowledged, check_log_shape, check_side_effects, compare_lists, derived_id)

TODO = "3f2b6c1e-8a4d-4e2f-9c1b-0d5e6f7a8b9c"
STREAM = f"todo-{TODO}"


def event(position: int, version: int, type_: str, data: dict, id_: str | None = None, cause: str | None = None) -> dict:
    return {"id": id_ or str(uuid.UUID(int=position, version=4)), "stream": STREAM, "version": version,
            "position": position, "type": type_, "data": data,
            "metadata": {"causation_id": cause} if cause else {}}


def world():
    """A todo added with a stakeholder and completed: its notification, its mail, its two acknowledged commands."""
    added = event(1, 1, "TodoAdded", {"title": "Buy milk", "stakeholder_email": "ada@example.com"})
    completed = event(2, 2, "TodoCompleted", {"completed_on": "2026-11-30"})
    notified = event(3, 3, NOTIFIED, {"notified_on": "2026-11-30"}, id_=derived_id(completed["id"], 0x4E),
                     cause=completed["id"])
    recorder = Recorder()
    for kind, e, body in (("add", added, added["data"]), ("complete", completed, completed["data"])):
        op = recorder.new(client=0, kind=kind, method="POST", path="/", todo_id=TODO, expected_event=e["type"], body=body)
        op.outcome, op.status, op.version, op.position = "ok", 200, e["version"], e["position"]
    mail = {"mail": {"id": derived_id(completed["id"], 0x6D), "to": "ada@example.com", "subject": "Todo completed",
                     "body": "Your todo item Buy milk has been completed!"}, "delivered_on": "2026-11-30"}
    return [added, completed, notified], recorder, mail


def run_checks(events, recorder, mailbox_lines: list[bytes], tmp_path) -> Figures:
    figures = Figures("verifier-selftest", "none")
    mailbox = tmp_path / "mailbox"
    mailbox.write_bytes(b"".join(mailbox_lines))
    check_log_shape(events, figures)
    check_acknowledged(events, recorder, figures)
    check_side_effects(events, mailbox, figures)
    return figures


def line(mail: dict) -> bytes:
    return json.dumps(mail).encode() + b"\n"


def test_a_clean_world_has_no_violation(tmp_path):
    events, recorder, mail = world()
    figures = run_checks(events, recorder, [line(mail)], tmp_path)
    assert figures.violations == []
    assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["unexplained_events"] == 0


def test_a_lost_acknowledged_event_is_found(tmp_path):
    events, recorder, mail = world()
    events = [events[0]]
    figures = run_checks(events, recorder, [line(mail)], tmp_path)
    assert figures["lost"] == 1


def test_an_event_from_a_refused_request_is_found(tmp_path):
    events, recorder, mail = world()
    op = recorder.new(client=0, kind="invalid:amend-completed", method="PUT", path="/", todo_id=TODO, expected_event=None)
    op.outcome, op.status = "failed", 422
    events.append(event(4, 4, "TodoAmended", {"title": "nope"}))
    figures = run_checks(events, recorder, [line(mail)], tmp_path)
    assert figures["unexplained_events"] == 1


def test_an_unknown_command_may_or_may_not_have_written(tmp_path):
    events, recorder, mail = world()
    op = recorder.new(client=0, kind="reopen", method="POST", path="/", todo_id=TODO, expected_event="TodoReopened")
    op.outcome = "unknown"
    assert run_checks(events, recorder, [line(mail)], tmp_path).violations == []
    events.append(event(4, 4, "TodoReopened", {}))
    assert run_checks(events, recorder, [line(mail)], tmp_path).violations == []


def test_an_event_written_twice_is_found(tmp_path):
    events, recorder, mail = world()
    events.append(event(4, 4, "TodoCompleted", {"completed_on": "2026-11-30"}))
    figures = run_checks(events, recorder, [line(mail)], tmp_path)
    assert figures["duplicated"] >= 1


def test_a_gap_in_positions_is_found(tmp_path):
    events, recorder, mail = world()
    events[2] = dict(events[2], position=5)
    figures = run_checks(events, recorder, [line(mail)], tmp_path)
    assert any("positions are not exactly" in v for v in figures.violations)


@pytest.mark.parametrize("mailbox", ["torn", "twice", "none"])
def test_a_mail_torn_repeated_or_missing_is_found(tmp_path, mailbox):
    events, recorder, mail = world()
    lines = {"torn": [line(mail)[:40], line(mail)], "twice": [line(mail), line(mail)], "none": []}[mailbox]
    assert run_checks(events, recorder, lines, tmp_path).violations


def test_a_missing_notification_is_found(tmp_path):
    events, recorder, mail = world()
    figures = run_checks(events[:2], recorder, [line(mail)], tmp_path)
    assert any("StakeholderNotifiedOfTodoCompletion" in v for v in figures.violations)


def test_a_read_model_that_cut_a_value_is_found():
    events, _, _ = world()
    events[0]["data"]["title"] = "abc\u0000def"
    row = {"todo_id": TODO, "title": "abc", "description": None, "due_date": None, "stakeholder_email": "ada@example.com"}
    served = {"outstanding": [], "scheduled": [], "completed": [{**row, "completed_on": "2026-11-30"}],
              "board": [{**row, "completed": True, "completed_on": "2026-11-30"}]}
    figures = Figures("verifier-selftest", "none")
    compare_lists(served, events, figures)
    assert any("/todos/completed differs from the log" in v for v in figures.violations)
    served["completed"][0]["title"] = served["board"][0]["title"] = "abc\u0000def"
    figures = Figures("verifier-selftest", "none")
    compare_lists(served, events, figures)
    assert figures.violations == []


# ---------------------------------------------------------------- the hostile-input judge

import hostile  # noqa: E402


def judged(case: hostile.Case, status: int, body: bytes = b'{"error":"x"}', seconds: float = 0.01,
           ending: str = "answered") -> list[str]:
    stats = {"statuses": {}, "empty_4xx": 0, "empty_4xx_by": {}, "closed_without_answer": 0, "max_seconds": 0.0}
    return hostile.judge(case, hostile.Result(status=status, body=body, ending=ending, seconds=seconds),
                         Figures("verifier-selftest", "none"), stats)


def test_the_judge_refuses_what_the_server_must_refuse():
    nul = hostile.Case(1, "nul", "POST", "/todo/x", body=b'{"title":"a\\u0000b"}', expect="reject", allowed=(400,))
    assert judged(nul, 400) == []
    assert any("U+0000" in p for p in judged(nul, 201, b'{"position":1}'))
    deep = hostile.Case(2, "deep-nesting", "POST", "/todo/x", body=b"[" * 300 + b"]" * 300, expect="reject",
                        allowed=(400, 413), max_seconds=1.5)
    assert judged(deep, 400) == []
    assert any("took" in p for p in judged(deep, 400, seconds=2.5))
    method = hostile.Case(3, "wrong-method", "DELETE", "/todo/x", expect="reject", allowed=(405,))
    assert any("expected 405" in p for p in judged(method, 415))
    assert any("answered 500" in p for p in judged(method, 500))
    assert any("not {" in p for p in judged(method, 405, b"<html>"))
    assert judged(method, 405, b"") == []  # an empty 4xx body is recorded, not failed
    hang = hostile.Case(4, "oversized", "POST", "/todo/x", expect="reject", allowed=(413,), timeout=3.0)
    assert any("no answer" in p for p in judged(hang, 0, b"", ending="timeout"))
