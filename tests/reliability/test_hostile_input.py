"""Hostile input across every route, from a seeded generator (thousands of cases per run), on SQLite
and on PostgreSQL.

Malformed JSON, wrong types, non-objects, duplicate keys, U+0000 in strings, invalid UTF-8, deep
nesting, huge strings and oversized bodies, hostile ids and stream names, wrong and unknown methods,
odd content types, bad query parameters, path traversal, admin actions that do not exist, and raw
protocol garbage (bad chunked bodies, request smuggling shapes, huge headers).

Proves: no 5xx and no hang for anything a client sends; the right 4xx with `{"error": …}` where the
status is known; deep nesting refused fast; the server healthy throughout; `/metrics` counts no
client error as a 500; and the log holds exactly the writes that were acknowledged (nothing from a
refused request), with read models equal to the log and to a rebuild and no subscription faulted.

Reproduce a run with RELIABILITY_SEED=<seed> (printed in the header and in the figures).
"""

from __future__ import annotations

import uuid

import pytest

import hostile
from harness import profile, request, seed
from load import Recorder
from verify import check_metrics_500, record_ops, verify_all


def arrange(server, recorder: Recorder, count: int, completed: int) -> list[str]:
    """Outstanding todos (the hostile cases' targets) and a few completed ones, recorded as operations."""
    outstanding = []
    for n in range(count + completed):
        todo = str(uuid.UUID(int=(seed() << 20) + n, version=4))
        body = {"title": f"target {n}", "stakeholder_email": f"t{n}@example.com", "due_date": "2027-02-0" + str(1 + n % 9)}
        op = recorder.new(client=0, kind="add", method="POST", path=f"/todo/{todo}", todo_id=todo,
                          expected_event="TodoAdded", body=body)
        answer = request(server.port, "POST", f"/todo/{todo}", body)
        assert answer.status == 201, answer
        op.outcome, op.status, op.version, op.position = "ok", 201, answer.json["stream_version"], answer.json["position"]
        if n >= count:
            body = {"completed_on": "2026-11-30"}
            op = recorder.new(client=0, kind="complete", method="POST", path=f"/todo/{todo}/complete", todo_id=todo,
                              expected_event="TodoCompleted", body=body)
            answer = request(server.port, "POST", f"/todo/{todo}/complete", body)
            assert answer.status == 200, answer
            op.outcome, op.status, op.version, op.position = "ok", 200, answer.json["stream_version"], answer.json["position"]
        else:
            outstanding.append(todo)
    return outstanding


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_hostile_input_on_every_route(backend, servers, figures, request):
    p = profile()
    url = request.getfixturevalue("postgres").new_database("hostile") if backend == "postgres" else None
    server = servers("serve", postgres_url=url)
    server.start()
    recorder = Recorder()
    existing = arrange(server, recorder, count=10, completed=3)
    run_seed = seed() + (0 if backend == "sqlite" else 7)
    count = p[f"hostile_{backend}_cases"]
    depths = p["hostile_nesting_depths"]
    cases = hostile.plan(run_seed, count, existing, nesting=p["hostile_nesting_cases"], nesting_depths=depths,
                         huge=p["hostile_huge_cases"], huge_sizes=[100_000, 400_000, 900_000, 2_000_000])
    figures["seed"] = run_seed
    budget = p["hostile_time_budget"] * (1.0 if backend == "sqlite" else 0.6)
    stats = hostile.run(server, cases, recorder, figures, time_budget=budget)
    for key in ("cases", "empty_4xx", "closed_without_answer", "max_seconds", "violating_cases", "server_restarts"):
        figures[key] = stats[key]
    figures["statuses"] = dict(sorted(stats["statuses"].items()))
    figures["by_category"] = dict(sorted(stats["by_category"].items()))
    figures["empty_4xx_by"] = stats["empty_4xx_by"]
    record_ops(recorder, figures)
    answered_500 = stats["statuses"].get("500", 0)
    figures["answers_5xx"] = sum(n for s, n in stats["statuses"].items() if s.isdigit() and int(s) >= 500)
    if not stats["server_restarts"]:
        check_metrics_500(server, answered_500, figures)
    verify_all(server, recorder, figures)
    assert stats["cases"] >= min(count, 1000) or figures.violations, f"only {stats['cases']} cases ran"
    figures.assert_clean()

