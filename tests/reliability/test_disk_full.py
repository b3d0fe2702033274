"""A full disk under load (SQLite): the database and the mailbox on a 3 MB tmpfs, as an operator
would meet it — the database fills the disk on its own — then the disk is grown (`mount -o remount`),
then filled to the last byte again and again (a filler file) while clients write, and given back.

Proves: while the disk is full a command is refused with 503 and a reason (never 500, never an
acknowledged write that is then missing); once there is space again, writes resume without a restart
and no subscription stays faulted; the mailbox never holds a torn line, even across a restart; and the
usual invariants hold (acknowledged events once, nothing from refused requests, read models equal to
a rebuild, exactly one mail per completion).

Needs root (mount). Without root the test is skipped, saying so (CI runs as root and fails instead).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

import harness
from harness import Tmpfs, profile, request, seed, wait_until
from load import Load, Recorder
from verify import NOTIFIER, record_ops, verify_all


@pytest.fixture
def tmpfs(figures):
    if os.geteuid() != 0:
        reason = "the full-disk test mounts a 3 MB tmpfs and needs root (CI runs it as root)"
        if harness.IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        fs = Tmpfs("3m")
    except (OSError, subprocess.CalledProcessError) as error:
        reason = f"cannot mount a tmpfs here: {getattr(error, 'stderr', b'') or error}"
        if harness.IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    yield fs
    fs.release()
    fs.unmount()


def test_disk_full_under_load(figures, tmpfs, servers, workdir):
    p = profile()
    server = servers("serve", database=tmpfs.path / "chronicle.sqlite", mailbox=tmpfs.path / "chronicle.mailbox")
    try:
        server.start()
        recorder = Recorder()
        load = Load(lambda: server.port, recorder, seed() + 2, clients=3, stakeholder_ratio=1.0, complete_bias=0.25,
                    read_ratio=0.1).start()
        try:
            # 1. The database fills the 3 MB disk by itself (its WAL); the filler takes whatever is left.
            recorder.phase = "filling"
            try:
                wait_until(lambda: tmpfs.free_bytes() < 64 * 1024 or any(op.status >= 500 for op in recorder.ops[-50:]),
                           timeout=60, message="the database to fill the 3 MB disk")
            except TimeoutError:
                figures["note"] = "the load did not fill 3 MB within 60 s"
            recorder.phase = "disk full"
            figures.add("bytes_filled", tmpfs.fill())
            figures.add("disk_full_cycles")
            load.stop_event.wait(p["diskfull_full_seconds"])
            # 2. The operator grows the disk: writes must resume, without a restart.
            recorder.phase = "space back"
            tmpfs.release()
            tmpfs.resize(p["diskfull_grown_size"])
            if not load.wait_for_acks(5, timeout=30):
                figures.violation("writes did not resume within 30 s once the disk had been grown")
            # 3. Filled to the last byte under load, then given back, again and again.
            #    Before each fill the notifier is paused while todos get completed, and resumed once the
            #    disk is full: it then mails (several KB of mailbox lines) onto a full disk.
            for cycle in range(p["diskfull_cycles"]):
                recorder.phase = "space"
                if not load.wait_for_acks(15, timeout=60):
                    figures.violation(f"cycle {cycle + 1}: no command acknowledged for 60 s before filling the disk")
                    break
                paused = request(server.port, "POST", f"/admin/api/subscriptions/{NOTIFIER}/pause", {}).status == 200
                completed = _completions(recorder)
                try:
                    wait_until(lambda: _completions(recorder) >= completed + 25, timeout=60,
                               message="25 completions while the notifier is paused")
                except TimeoutError:
                    figures["note"] = f"cycle {cycle + 1}: fewer than 25 completions to mail onto the full disk"
                recorder.phase = "disk full"
                figures.add("bytes_filled", tmpfs.fill())
                figures.add("disk_full_cycles")
                if paused:
                    request(server.port, "POST", f"/admin/api/subscriptions/{NOTIFIER}/resume", {})
                load.stop_event.wait(p["diskfull_full_seconds"])
                recorder.phase = "space back"
                tmpfs.release()
                if not load.wait_for_acks(5, timeout=30):
                    figures.violation(f"cycle {cycle + 1}: writes did not resume within 30 s once space was back")
            # 4. A graceful restart on the same files, then more completions (the notifier reads the mailbox).
            recorder.phase = "restart"
            load.up.clear()
            if server.terminate(15) is None:
                figures.violation("SIGTERM: the process was still running 15 s later")
            server.start()
            load.up.set()
            recorder.phase = "after restart"
            if not load.wait_for_acks(20, timeout=60):
                figures.violation("after the restart no command was acknowledged within 60 s")
        finally:
            load.stop()
            if server.alive():
                request(server.port, "POST", f"/admin/api/subscriptions/{NOTIFIER}/resume", {})
        record_ops(recorder, figures)
        assert not load.errors, load.errors
        full_ops = [op for op in recorder.commands() if op.phase == "disk full"]
        figures["commands_while_full"] = len(full_ops)
        figures["refused_503_while_full"] = sum(1 for op in full_ops if op.status == 503)
        answered_500 = [op for op in recorder.ops if op.status == 500]
        if answered_500:
            figures.violation(f"{len(answered_500)} request(s) answered 500 (a full disk must be 503 with a reason); "
                              f"e.g. {answered_500[0].method} {answered_500[0].path} during '{answered_500[0].phase}'")
        without_reason = [op for op in recorder.ops if op.status == 503 and not _has_reason(op.reply)]
        if without_reason:
            figures.violation(f"{len(without_reason)} 503(s) without a JSON reason, e.g. {without_reason[0].reply[:120]!r}")
        verify_all(server, recorder, figures)
        figures["mailbox_bytes"] = os.path.getsize(server.mailbox) if server.mailbox.exists() else 0
    finally:
        server.stop()
        try:
            shutil.copy(tmpfs.path / "chronicle.mailbox", workdir / "chronicle.mailbox")
        except OSError:
            pass
    figures.assert_clean()


def _has_reason(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body.decode("utf-8")).get("error"), str)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return False


def _completions(recorder) -> int:
    return sum(1 for op in recorder.commands() if op.kind == "complete" and op.outcome == "ok")
