"""kill -9 of `chronicle serve` under mixed load, on SQLite and on PostgreSQL.

Proves: a process killed at any moment (mid-request, mid-batch, between mailing and checkpointing)
loses no acknowledged event, writes nothing twice, leaves positions 1..N, read models equal to a
rebuild, and exactly one mail per completion; it starts again on the same data every time.
"""

from __future__ import annotations

import random

import pytest

from harness import profile, seed
from load import Load, Recorder
from verify import record_ops, verify_all


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "sqlite-64"])
def test_kill9_under_mixed_load(backend, servers, figures, request):
    """`sqlite-64`: 64 connections at once, so that appends share commits (group commit) and read
    models are written without an fsync of their own while the process dies."""
    p = profile()
    url = request.getfixturevalue("postgres").new_database("kill9") if backend == "postgres" else None
    kills = p["kill9_grouped_kills"] if backend == "sqlite-64" else p[f"kill9_{backend}_kills"]
    clients = p["kill9_grouped_clients"] if backend == "sqlite-64" else p["kill9_clients"]
    server = servers("serve", postgres_url=url)
    server.start()
    recorder = Recorder()
    load = Load(lambda: server.port, recorder, seed(), clients=clients).start()
    jitter = random.Random(seed())
    restart_seconds = []
    try:
        for k in range(kills):
            if not load.wait_for_acks(p["kill9_acks_between_kills"], timeout=60):
                figures.violation(f"no command was acknowledged for 60 s before kill {k + 1}")
                break
            # Strike at a seeded random moment of the next 0–250 ms, with requests in flight.
            load.stop_event.wait(jitter.uniform(0, 0.25))
            server.kill9()
            load.up.clear()
            restart_seconds.append(server.start())
            load.up.set()
            figures["kills"] = server.kills
    finally:
        load.stop()
    record_ops(recorder, figures)
    assert not load.errors, load.errors
    figures["kills"] = server.kills
    figures["restart_seconds_max"] = round(max(restart_seconds, default=0), 2)
    if figures["answers_500"]:
        figures.violation(f"{figures['answers_500']} request(s) answered 500 under load")
    verify_all(server, recorder, figures)
    assert server.kills >= kills or figures.violations, f"only {server.kills} kills"
    figures.assert_clean()


def test_kill9_of_web_and_workers_on_postgres(figures, postgres, servers):
    """`serve --no-workers` plus two `chronicle worker`s sharing the mailbox (the README's PostgreSQL
    layout); each kill -9 strikes one of the three at random. A surviving worker takes each subscription
    over from the checkpoint the dead one committed: nothing applied twice, each mail once."""
    p = profile()
    url = postgres.new_database("kill9split")
    kills = p["kill9_postgres_split_kills"]
    web = servers("serve", postgres_url=url, extra_args=("--no-workers",))
    workers = [servers.worker(f"worker{i}", postgres_url=url, mailbox=web.mailbox) for i in range(2)]
    web.start()
    for w in workers:
        w.start()
    recorder = Recorder()
    load = Load(lambda: web.port, recorder, seed() + 11, clients=p["kill9_clients"]).start()
    pick = random.Random(seed() + 11)
    struck = {"serve": 0, "worker": 0}
    try:
        for k in range(kills):
            if not load.wait_for_acks(p["kill9_acks_between_kills"], timeout=60):
                figures.violation(f"no command was acknowledged for 60 s before kill {k + 1}")
                break
            load.stop_event.wait(pick.uniform(0, 0.25))
            target = pick.choice([web] + workers)
            if target is web:
                web.kill9()
                load.up.clear()
                web.start()
                load.up.set()
                struck["serve"] += 1
            else:
                target.kill9()
                target.start()
                struck["worker"] += 1
            figures["kills"] = sum(struck.values())
    finally:
        load.stop()
    record_ops(recorder, figures)
    assert not load.errors, load.errors
    figures["kills_of_serve"], figures["kills_of_workers"] = struck["serve"], struck["worker"]
    if figures["answers_500"]:
        figures.violation(f"{figures['answers_500']} request(s) answered 500 under load")
    # The checks need a console that runs the subscriptions: stop the split layout, start a plain serve.
    for w in workers:
        if w.terminate(15) is None:
            figures.violation("a worker ignored SIGTERM for 15 s")
    if web.terminate(15) is None:
        figures.violation("serve --no-workers ignored SIGTERM for 15 s")
    checker = servers("checker", postgres_url=url, mailbox=web.mailbox)
    checker.start()
    verify_all(checker, recorder, figures)
    figures.assert_clean()
