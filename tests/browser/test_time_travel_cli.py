"""`chronicle projections rebuild` and `chronicle streams revert` against a running server's SQLite file."""

from __future__ import annotations

import subprocess
import threading

from conftest import CHRONICLE_BIN, Server, wait_until


def chronicle(server: Server, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHRONICLE_BIN), *arguments, "--database", str(server.database)],
                          capture_output=True, text=True, timeout=120)


def test_a_rebuild_from_the_cli_swaps_in_while_the_server_answers(server: Server):
    ids = [server.add_todo(f"Task {n}") for n in range(30)]
    for todo in ids[:5]:
        assert server.todo_command(todo, "complete", {"completed_on": "2026-12-01"}).status == 200
    wait_until(lambda: len(server.get_json("/todos/outstanding")) == 25, message="the list before the rebuild")

    # Queries and commands keep coming while the CLI rebuilds the list beside the live one.
    stop = threading.Event()
    problems: list[str] = []

    def load() -> None:
        while not stop.is_set():
            answer = server.request("GET", "/todos/outstanding")
            if answer.status != 200 or len(answer.json) < 25:
                problems.append(f"{answer.status} {len(answer.json) if answer.status == 200 else answer.body[:100]!r}")
            server.add_todo("During the rebuild")

    thread = threading.Thread(target=load)
    thread.start()
    try:
        run = chronicle(server, "projections", "rebuild", "outstanding_todos")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert run.returncode == 0, run.stderr
    # A progress bar (not a terminal: a line per update) ending in the swap.
    bars = [line for line in run.stdout.splitlines() if line.startswith("[")]
    assert bars and bars[-1].startswith("[" + "#" * 30 + "]") and bars[-1].endswith("done"), run.stdout
    assert " events " in bars[-1] and "/s" in bars[-1], bars[-1]
    assert "rebuilt outstanding_todos:" in run.stdout and "swapped in" in run.stdout, run.stdout
    assert not problems, problems[:5]

    # The rebuilt list is the log's: the same as the list built from scratch at the head.
    head = server.get_json("/admin/api/subscriptions")["head"]
    wait_until(lambda: server.get_json("/todos/outstanding") == server.get_json(f"/todos/outstanding?as_of={head}")
               or server.get_json("/admin/api/subscriptions")["head"] != head, message="the rebuilt list to equal a fresh one")
    titles = [t["title"] for t in server.get_json("/todos/outstanding")]
    assert titles[:25] == [f"Task {n}" for n in range(5, 30)], titles[:25]

    # Reactors are never rebuilt; unknown names are usage errors.
    refused = chronicle(server, "projections", "rebuild", "todo_completed_notifier")
    assert refused.returncode == 64 and "not a read model" in refused.stderr, refused.stderr
    unknown = chronicle(server, "projections", "rebuild", "nope")
    assert unknown.returncode == 64 and "outstanding_todos" in unknown.stderr, unknown.stderr


def test_a_revert_from_the_cli_reads_back_as_the_version(server: Server):
    todo = server.add_todo("Buy milk")
    assert server.request("PUT", f"/todo/{todo}", {"title": "Buy oat milk"}).status == 200
    assert server.todo_command(todo, "complete", {"completed_on": "2026-12-01"}).status == 200
    run = chronicle(server, "streams", "revert", f"todo-{todo}", "--to-version", "1")
    assert run.returncode == 0, run.stderr
    assert '"reverted":true' in run.stdout, run.stdout
    now = server.get_json(f"/todo/{todo}")
    then = server.get_json(f"/todo/{todo}?version=1")
    assert {k: now[k] for k in ("title", "status", "due_date")} == {k: then[k] for k in ("title", "status", "due_date")}, (now, then)
    # Moving up cannot be undone: refused, naming it, nothing appended.
    other = server.add_todo("Call Bob")
    assert server.todo_command(other, "moveup", method="PUT").status == 200
    refused = chronicle(server, "streams", "revert", f"todo-{other}", "--to-version", "1")
    assert refused.returncode == 1 and "TodoMovedUp" in refused.stdout, refused.stdout
    assert len(server.get_json(f"/streams/todo-{other}")["events"]) == 2
