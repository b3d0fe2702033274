"""Slow clients (slowloris): many connections that send their headers or their body a byte at a time,
declare a body longer than they send, or send nothing at all, while ordinary clients keep working.

Proves: the server keeps serving everyone else promptly (every ordinary command answered, none slower
than a few seconds) and closes the slow connections itself within a deadline (header and body read
timeouts, idle timeout), and afterwards the usual invariants hold.
"""

from __future__ import annotations

import select
import socket
import time
import uuid

from harness import LOOPBACK, profile, seed
from load import Load, Recorder
from verify import record_ops, verify_all


class SlowConnection:
    def __init__(self, port: int, kind: str, n: int):
        self.kind = kind
        self.opened = time.monotonic()
        self.closed_at: float | None = None
        self.answer = b""
        self.sock = socket.create_connection((LOOPBACK, port), timeout=5)
        self.sock.setblocking(False)
        todo = uuid.UUID(int=n + 1, version=4)
        if kind == "headers":  # slowloris: the header section never ends
            self._send(f"POST /todo/{todo} HTTP/1.1\r\nHost: {LOOPBACK}\r\nX-Slow: ".encode())
        elif kind == "body":  # the body trickles in and never completes
            self._send(f"POST /todo/{todo} HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
                       f"Content-Length: 4000\r\n\r\n{{\"title\":\"".encode())
        elif kind == "short-body":  # declares more than it sends, then goes quiet
            self._send(f"POST /todo/{todo} HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
                       f"Content-Length: 100\r\n\r\n{{\"ti".encode())
        # "idle": connects and says nothing

    def _send(self, data: bytes) -> None:
        try:
            self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.mark_closed()

    def trickle(self) -> None:
        if self.closed_at is None and self.kind in ("headers", "body"):
            self._send(b"a")

    def poll(self) -> None:
        """Notices (without blocking) that the server answered or closed."""
        if self.closed_at is not None:
            return
        try:
            data = self.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.mark_closed()
            return
        if not data:
            self.mark_closed()
        else:
            self.answer += data

    def mark_closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def test_slow_clients(servers, figures):
    p = profile()
    server = servers("serve")
    server.start()
    recorder = Recorder()
    load = Load(lambda: server.port, recorder, seed() + 5, clients=2, read_ratio=0.3).start()
    slow: list[SlowConnection] = []
    try:
        load.wait_for_acks(5, timeout=30)
        kinds = (["headers"] * p["slow_header_connections"] + ["body"] * p["slow_body_connections"]
                 + ["short-body"] * (p["slow_body_connections"] // 2) + ["idle"] * (p["slow_body_connections"] // 2))
        for n, kind in enumerate(kinds):
            slow.append(SlowConnection(server.port, kind, n))
        figures["slow_connections"] = len(slow)
        started = time.monotonic()
        deadline = started + p["slow_close_deadline"]
        next_trickle = started
        while time.monotonic() < deadline:
            for c in slow:
                c.poll()
            if all(c.closed_at is not None for c in slow):
                break
            if time.monotonic() >= next_trickle:
                for c in slow:
                    c.trickle()
                next_trickle += p["slow_trickle_interval"]
            socks = [c.sock for c in slow if c.closed_at is None]
            select.select(socks, [], [], 0.2)
        for c in slow:
            c.poll()
    finally:
        load.stop()
        for c in slow:
            c.close()
    record_ops(recorder, figures)
    assert not load.errors, load.errors
    open_left = {}
    for c in slow:
        if c.closed_at is None:
            open_left[c.kind] = open_left.get(c.kind, 0) + 1
    figures["slow_closed_by_server"] = sum(1 for c in slow if c.closed_at is not None)
    figures["slow_still_open"] = open_left
    figures["slow_close_seconds_max"] = round(max((c.closed_at - c.opened for c in slow if c.closed_at), default=0), 1)
    answered_5xx = [c.answer[:60] for c in slow if c.answer[9:10] == b"5"]
    if answered_5xx:
        figures.violation(f"{len(answered_5xx)} slow connection(s) answered 5xx, e.g. {answered_5xx[0]!r}")
    if open_left:
        figures.violation(f"after {p['slow_close_deadline']:.0f}s the server still held slow connections open: "
                          f"{open_left} (no header / body / idle read timeout)")
    commands = [op for op in recorder.ops if op.kind != "read"]
    bad = [op for op in recorder.ops if op.outcome == "unknown" or op.status >= 500]
    if bad:
        figures.violation(f"{len(bad)} ordinary request(s) went unanswered or got 5xx while slow clients were "
                          f"connected, e.g. {bad[0].method} {bad[0].path}: {bad[0].status} {bad[0].error}")
    slowest = max((op.seconds for op in recorder.ops), default=0)
    figures["ordinary_max_seconds"] = round(slowest, 2)
    if slowest > 5:
        figures.violation(f"an ordinary request took {slowest:.1f}s while slow clients were connected")
    if len(commands) < 10:
        figures.violation(f"only {len(commands)} ordinary commands were served during the test")
    assert server.healthy(), "GET /health failed after the slow clients"
    verify_all(server, recorder, figures)
    figures.assert_clean()
