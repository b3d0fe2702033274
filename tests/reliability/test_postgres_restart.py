"""PostgreSQL restarted under load (`pg_ctl -m fast stop`, a few seconds down, `pg_ctl start`) on a
cluster the suite owns, with `chronicle serve --postgres` (workers in-process) serving throughout.

Proves: while the database is away every command gets an answer within a deadline (a refusal, not a
hang; never 500); traffic recovers by itself once it is back; afterwards SIGTERM still ends the process
within 15 s; and nothing acknowledged is lost or doubled, read models equal a rebuild, one mail per
completion, no subscription faulted.
"""

from __future__ import annotations

from harness import profile, seed
from load import Load, Recorder
from verify import record_ops, verify_all


def test_postgres_restarted_under_load(figures, postgres, servers):
    p = profile()
    url = postgres.new_database("pgrestart")
    deadline = p["pgrestart_command_deadline"]
    server = servers("serve", postgres_url=url)
    server.start()
    recorder = Recorder()
    load = Load(lambda: server.port, recorder, seed() + 3, clients=3, timeout=deadline + 10).start()
    try:
        for r in range(p["pgrestart_restarts"]):
            recorder.phase = "up"
            if not load.wait_for_acks(10, timeout=60):
                figures.violation(f"restart {r + 1}: no command acknowledged for 60 s before stopping PostgreSQL")
                break
            recorder.phase = "down"
            postgres.stop("fast")
            try:
                load.stop_event.wait(p["pgrestart_down_seconds"])
            finally:
                postgres.start()
                postgres.restarts += 1
            recorder.phase = "back"
            if not load.wait_for_acks(3, timeout=60):
                figures.violation(f"restart {r + 1}: no command acknowledged within 60 s after PostgreSQL came back")
        recorder.phase = "up"
        load.wait_for_acks(10, timeout=60)
    finally:
        load.stop()
    record_ops(recorder, figures)
    assert not load.errors, load.errors
    figures["postgres_restarts"] = postgres.restarts
    commands = recorder.commands()
    slow = [op for op in commands if op.outcome == "unknown" and not op.status]
    if slow:
        examples = "; ".join(f"{op.method} {op.path} sent while PostgreSQL was {op.phase}: {op.error}" for op in slow[:3])
        figures.violation(f"{len(slow)} command(s) got no answer within {deadline + 10:.0f}s (a command needs a "
                          f"deadline and a clear 503): {examples}")
    late = [op for op in commands if op.status and op.seconds > deadline]
    if late:
        figures.violation(f"{len(late)} command(s) answered only after more than {deadline:.0f}s "
                          f"(slowest {max(op.seconds for op in late):.1f}s)")
    answered_500 = [op for op in recorder.ops if op.status == 500]
    if answered_500:
        figures.violation(f"{len(answered_500)} request(s) answered 500 (expected 503 while PostgreSQL is away)")
    figures["commands_while_down"] = sum(1 for op in commands if op.phase == "down")

    # A graceful stop must still work after the database came back.
    took = server.terminate(p["sigterm_deadline"])
    figures["sigterm_exit_seconds"] = took
    if took is None:
        figures.violation(f"after PostgreSQL restarted, SIGTERM did not end `serve --postgres` within "
                          f"{p['sigterm_deadline']:.0f}s (killed with SIGKILL)")
    server.start()
    verify_all(server, recorder, figures)
    figures.assert_clean()
