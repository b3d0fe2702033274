"""SIGTERM of `chronicle serve` under mixed load, on SQLite and on PostgreSQL.

Proves: a graceful stop ends the process within the deadline (15 s) while clients keep sending, and
every write it acknowledged (including those answered during the shutdown) is there after a restart,
once, with read models equal to a rebuild and one mail per completion.
"""

from __future__ import annotations

import pytest

from harness import profile, seed
from load import Load, Recorder
from verify import record_ops, verify_all


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigterm_under_load(backend, servers, figures, request):
    p = profile()
    url = request.getfixturevalue("postgres").new_database("sigterm") if backend == "postgres" else None
    rounds = p[f"sigterm_{backend}_rounds"]
    deadline = p["sigterm_deadline"]
    server = servers("serve", postgres_url=url)
    server.start()
    recorder = Recorder()
    load = Load(lambda: server.port, recorder, seed() + 1, clients=3).start()
    took = []
    try:
        for r in range(rounds):
            if not load.wait_for_acks(10, timeout=60):
                figures.violation(f"no command was acknowledged for 60 s before SIGTERM {r + 1}")
                break
            load.stop_event.wait(p["sigterm_load_seconds"])
            seconds = server.terminate(deadline)
            took.append(seconds)
            if seconds is None:
                figures.violation(f"SIGTERM {r + 1}: the process was still running {deadline:.0f}s later "
                                  f"(killed with SIGKILL)\n{server.log_tail(8)}")
            load.up.clear()
            server.start()
            load.up.set()
    finally:
        load.stop()
    record_ops(recorder, figures)
    assert not load.errors, load.errors
    figures["sigterms"] = len(took)
    figures["sigterm_exit_seconds_max"] = max((t for t in took if t is not None), default=None)
    figures["sigterm_ignored"] = sum(1 for t in took if t is None)
    figures["sigterm_exit_codes"] = sorted(set(server.exit_codes))
    abnormal = [code for code in server.exit_codes if code != 0]
    if abnormal:
        figures.violation(f"SIGTERM ended the process with exit status {abnormal} instead of a graceful exit 0 "
                          f"(negative: killed by that signal)")
    if figures["answers_500"]:
        figures.violation(f"{figures['answers_500']} request(s) answered 500 under load")
    verify_all(server, recorder, figures)
    figures.assert_clean()
