"""Process and HTTP plumbing for Chronicle's black-box reliability suite.

Everything here drives the built binaries as OS processes on 127.0.0.1 and nothing else: `chronicle
serve` on SQLite or PostgreSQL, a throwaway PostgreSQL cluster the suite owns, a small tmpfs. Every wait
has a deadline (`wait_until`); every process started is tracked by pid and stopped by the fixture that
started it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"  # the only address the suite ever talks to


def _path_from_env(name: str, default: str) -> Path:
    value = os.environ.get(name) or default
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


CHRONICLE_BIN = _path_from_env("CHRONICLE_BIN", ".build/debug/chronicle")
RESULTS_DIR = _path_from_env("RELIABILITY_RESULTS", ".build/reliability")
PGBIN = Path(os.environ.get("RELIABILITY_PGBIN", "/usr/lib/postgresql/15/bin"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# ---------------------------------------------------------------- profiles

PROFILES: dict[str, dict] = {
    # About 4 minutes on an idle 2-core machine with the debug build (8 at most when it is also building).
    "ci": {
        "pizza_orders": 240,
        "pizza_kills": 8,
        "money_transfers": 1000,
        "money_accounts": 20,
        "money_clients": 4,
        "money_sqlite_kills": 8,
        "money_postgres_kills": 6,
        "kill9_sqlite_kills": 30,
        "kill9_postgres_kills": 15,
        "kill9_postgres_split_kills": 12,
        "kill9_clients": 3,
        "kill9_acks_between_kills": 15,
        "kill9_grouped_kills": 6,
        "kill9_grouped_clients": 64,
        "sigterm_sqlite_rounds": 4,
        "sigterm_postgres_rounds": 3,
        "sigterm_deadline": 15.0,
        "sigterm_load_seconds": 2.0,
        "diskfull_cycles": 2,
        "diskfull_full_seconds": 4.0,
        "diskfull_grown_size": "12m",
        "pgrestart_restarts": 3,
        "pgrestart_down_seconds": 3.0,
        "pgrestart_command_deadline": 15.0,
        "hostile_sqlite_cases": 6000,
        "hostile_postgres_cases": 2500,
        "hostile_time_budget": 150.0,
        "hostile_nesting_cases": 12,
        "hostile_nesting_depths": [200, 300, 500, 1000, 5000],
        "hostile_huge_cases": 12,
        "slow_header_connections": 40,
        "slow_body_connections": 20,
        "slow_close_deadline": 40.0,
        "slow_trickle_interval": 2.0,
    },
    # 30+ minutes: ten times the kills, restarts and cases.
    "long": {
        "pizza_orders": 1000,
        "pizza_kills": 40,
        "money_transfers": 10000,
        "money_accounts": 20,
        "money_clients": 8,
        "money_sqlite_kills": 60,
        "money_postgres_kills": 40,
        "kill9_sqlite_kills": 200,
        "kill9_postgres_kills": 80,
        "kill9_postgres_split_kills": 60,
        "kill9_clients": 4,
        "kill9_acks_between_kills": 10,
        "kill9_grouped_kills": 40,
        "kill9_grouped_clients": 64,
        "sigterm_sqlite_rounds": 15,
        "sigterm_postgres_rounds": 10,
        "sigterm_deadline": 15.0,
        "sigterm_load_seconds": 4.0,
        "diskfull_cycles": 8,
        "diskfull_full_seconds": 8.0,
        "diskfull_grown_size": "12m",
        "pgrestart_restarts": 15,
        "pgrestart_down_seconds": 6.0,
        "pgrestart_command_deadline": 15.0,
        "hostile_sqlite_cases": 60000,
        "hostile_postgres_cases": 25000,
        "hostile_time_budget": 1500.0,
        "hostile_nesting_cases": 40,
        "hostile_nesting_depths": [200, 500, 1000, 5000, 20000, 100000],
        "hostile_huge_cases": 40,
        "slow_header_connections": 300,
        "slow_body_connections": 100,
        "slow_close_deadline": 120.0,
        "slow_trickle_interval": 2.0,
    },
}


def profile_name() -> str:
    name = os.environ.get("RELIABILITY_PROFILE", "ci")
    if name not in PROFILES:
        raise SystemExit(f"RELIABILITY_PROFILE must be one of {sorted(PROFILES)}, not {name!r}")
    return name


def profile() -> dict:
    """The profile's settings; RELIABILITY_OVERRIDES='{"kill9_sqlite_kills": 3}' changes some (for debugging)."""
    settings = dict(PROFILES[profile_name()])
    overrides = os.environ.get("RELIABILITY_OVERRIDES")
    if overrides:
        settings.update(json.loads(overrides))
    return settings


def seed() -> int:
    return int(os.environ.get("RELIABILITY_SEED", "20261130"))


# ---------------------------------------------------------------- waiting


def wait_until(condition, timeout: float, interval: float = 0.05, message: str = "condition"):
    """Polls `condition()` until it answers something truthy (returned), or raises at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = condition()
        except (OSError, http.client.HTTPException, ValueError) as error:
            last = error
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {message} (last: {last!r:.300})")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- HTTP


@dataclass
class Answer:
    """What one request got: a status (0 when none came), headers, body; `sent` is False only when the
    connection was refused (so nothing reached the server)."""

    status: int = 0
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    sent: bool = True
    seconds: float = 0.0

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def json_or_none(self):
        try:
            return self.json
        except (ValueError, UnicodeDecodeError):
            return None

    def __repr__(self) -> str:
        return f"<Answer {self.status} {self.error or ''} {self.body[:200]!r} {self.seconds:.2f}s>"


def request(port: int, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 10.0,
            read_stream: bool = False) -> Answer:
    """One request on a fresh connection. `body`: bytes as is, or anything JSON-encodable.

    Never raises for network trouble: the answer carries `error` (and `sent=False` when the connection
    was refused, i.e. the server cannot have seen the request)."""
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    started = time.monotonic()
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    answer = Answer()
    try:
        try:
            connection.connect()
        except OSError as error:
            answer.sent = False
            answer.error = f"connect: {error.__class__.__name__}: {error}"
            return answer
        try:
            connection.request(method, path, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (e.g. 413) and close before a large body is sent
        response = connection.getresponse()
        answer.status = response.status
        answer.headers = {k.lower(): v for k, v in response.getheaders()}
        if "text/event-stream" in answer.headers.get("content-type", "") and not read_stream:
            answer.body = b""
        elif method == "HEAD":
            answer.body = b""
        else:
            answer.body = response.read()
    except (OSError, http.client.HTTPException) as error:
        answer.error = f"{error.__class__.__name__}: {error}"
    finally:
        connection.close()
        answer.seconds = time.monotonic() - started
    return answer


def read_log(port: int) -> list[dict]:
    """The whole log, through `GET /log`, a page of 1,000 at a time."""
    events, after = [], 0
    while True:
        page = request(port, "GET", f"/log?after={after}&limit=1000", timeout=30).json["events"]
        if not page:
            return events
        events += page
        after = page[-1]["position"]


# ---------------------------------------------------------------- chronicle serve


class ProcessError(RuntimeError):
    pass


class ChronicleProcess:
    """What `serve` and `worker` processes share: killing, terminating and stopping them by PID."""

    process: subprocess.Popen | None = None
    kills = 0

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self, count: bool = True) -> None:
        if not self.alive():
            return
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        if count:
            self.kills += 1

    def terminate(self, deadline: float = 15.0) -> float | None:
        """SIGTERM; answers the seconds the process took to exit, or None if it was still running at the
        deadline (it is then killed with SIGKILL, so nothing is left running)."""
        if not self.alive():
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=deadline)
            return time.monotonic() - started
        except subprocess.TimeoutExpired:
            self.kill9(count=False)
            return None

    def stop(self) -> None:
        """For finalizers: make sure the process is gone (SIGTERM, then SIGKILL after 15 s)."""
        self.terminate(15)


class ChronicleServer(ChronicleProcess):
    """One `chronicle serve` (SQLite file or PostgreSQL URL) that can be killed, terminated and started
    again on the same data and port."""

    def __init__(self, workdir: Path, postgres_url: str | None = None, database: Path | None = None,
                 mailbox: Path | None = None, extra_args: tuple = (), env: dict | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.postgres_url = postgres_url
        self.database = Path(database) if database else self.workdir / "chronicle.sqlite"
        self.mailbox = Path(mailbox) if mailbox else self.workdir / "chronicle.mailbox"
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})  # added to (or replacing) this process's environment for the server
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "server.log"
        self.starts = 0
        self.kills = 0
        self.terminations: list[float | None] = []  # seconds each SIGTERM took to end the process (None: it did not)
        self.exit_codes: list[int] = []  # of the processes that SIGTERM ended (0: a graceful shutdown)

    @property
    def backend(self) -> str:
        return "postgres" if self.postgres_url else "sqlite"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        command = [str(CHRONICLE_BIN), "serve", "--host", LOOPBACK, "--port", str(self.port),
                   "--mailbox", str(self.mailbox), "--log-level", "info"]
        command += ["--postgres", self.postgres_url] if self.postgres_url else ["--database", str(self.database)]
        return command + list(self.extra_args)

    def start(self, timeout: float = 60.0) -> float:
        """Starts the process and waits for `GET /health` 200; answers the seconds it took."""
        if not CHRONICLE_BIN.exists():
            raise ProcessError(f"{CHRONICLE_BIN} does not exist: build first or set CHRONICLE_BIN")
        if self.alive():
            raise ProcessError("already running")
        started = time.monotonic()
        deadline = started + timeout
        attempts = 0
        while True:
            attempts += 1
            self.starts += 1
            with open(self.log_path, "ab") as log:
                log.write(f"\n==== start {self.starts} at {time.strftime('%H:%M:%S')}: {' '.join(self.command())}\n".encode())
                log.flush()
                self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                                cwd=self.workdir, stdin=subprocess.DEVNULL,
                                                env={**os.environ, **self.env} if self.env else None)
            while True:
                if self.process.poll() is not None:
                    break
                answer = request(self.port, "GET", "/health", timeout=2)
                if answer.status == 200:
                    return time.monotonic() - started
                if time.monotonic() >= deadline:
                    self.kill9(count=False)
                    raise ProcessError(f"chronicle serve did not answer /health within {timeout:.0f}s:\n{self.log_tail()}")
                time.sleep(0.05)
            # It exited during start-up (e.g. the port was not free yet after a kill): bounded retries.
            if attempts >= 5 or time.monotonic() >= deadline:
                raise ProcessError(f"chronicle serve exited with {self.process.returncode} during start-up:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """For finalizers: like the base class's, without recording a termination."""
        ChronicleProcess.terminate(self, 15)

    def terminate(self, deadline: float = 15.0) -> float | None:
        """SIGTERM, recording how long the process took to exit (None: it did not) and its status."""
        was_alive = self.alive()
        took = super().terminate(deadline)
        if was_alive:
            if took is not None:
                self.exit_codes.append(self.process.returncode)
            self.terminations.append(took)
        return took

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- HTTP shortcuts
    def get(self, path: str, timeout: float = 10.0) -> Answer:
        return request(self.port, "GET", path, timeout=timeout)

    def post_json(self, path: str, body=None, timeout: float = 10.0) -> Answer:
        return request(self.port, "POST", path, body if body is not None else {}, timeout=timeout)

    def healthy(self, timeout: float = 5.0) -> bool:
        return request(self.port, "GET", "/health", timeout=timeout).status == 200


class ChronicleWorker(ChronicleProcess):
    """One `chronicle worker` (PostgreSQL): runs the projections and the notifier it comes to own."""

    def __init__(self, workdir: Path, postgres_url: str, mailbox: Path, name: str = "worker", extra_args: tuple = ()):
        self.extra_args = tuple(extra_args)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.postgres_url = postgres_url
        self.mailbox = Path(mailbox)
        self.log_path = self.workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def _started_lines(self) -> int:
        try:
            return self.log_path.read_text(errors="replace").count("worker started")
        except OSError:
            return 0

    def start(self, timeout: float = 60.0) -> None:
        """Starts the process and waits for its "worker started" log line."""
        before = self._started_lines()
        command = [str(CHRONICLE_BIN), "worker", "--postgres", self.postgres_url, "--mailbox", str(self.mailbox),
                   "--log-level", "info", *self.extra_args]
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== start at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                                            stdin=subprocess.DEVNULL)
        try:
            wait_until(lambda: self._started_lines() > before or not self.alive(), timeout, message="the worker to start")
        except TimeoutError:
            self.kill9(count=False)
            raise
        if not self.alive():
            raise ProcessError(f"chronicle worker exited with {self.process.returncode}")


# ---------------------------------------------------------------- PostgreSQL


def postgres_available() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "the PostgreSQL tests start their own cluster with runuser: they need root"
    if not (PGBIN / "pg_ctl").exists() or not (PGBIN / "initdb").exists():
        return False, f"PostgreSQL 15 is not installed ({PGBIN}/pg_ctl missing; apt-get install postgresql-15)"
    try:
        subprocess.run(["id", "-u", "postgres"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False, "there is no postgres user"
    return True, ""


class PostgresCluster:
    """A throwaway PostgreSQL 15 cluster on a free loopback port, owned (and restarted) by the suite."""

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chronicle-rel-pg."))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.restarts = 0
        self.databases = 0

    def _as_postgres(self, *args: str, timeout: float = 90.0) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                              timeout=timeout, check=True, stdin=subprocess.DEVNULL)

    def init(self) -> None:
        self._as_postgres(str(PGBIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                          "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses={LOOPBACK} -c max_connections=200"
        self._as_postgres(str(PGBIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                          "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        result = subprocess.run(["runuser", "-u", "postgres", "--", str(PGBIN / "pg_ctl"), "-D", str(self.data), "status"],
                                capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
        return result.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@{LOOPBACK}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", LOOPBACK, "-p",
                                 str(self.port), "-U", "postgres", "-d", database, "-c", sql],
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise ProcessError(f"psql failed: {result.stderr}")
        return result.stdout

    def new_database(self, prefix: str) -> str:
        """A fresh database, migrated with `chronicle migrate`; answers its URL."""
        self.databases += 1
        name = f"{prefix}_{self.databases}_{os.getpid()}"
        self.psql(f'CREATE DATABASE "{name}"')
        url = self.url(name)
        result = subprocess.run([str(CHRONICLE_BIN), "migrate", "--postgres", url], capture_output=True, text=True,
                                timeout=120, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise ProcessError(f"chronicle migrate failed ({result.returncode}): {result.stdout}{result.stderr}")
        return url

    def destroy(self) -> None:
        """Always: stop (immediate if fast does not work) and delete the cluster."""
        if self.data.exists():
            for mode in ("fast", "immediate"):
                try:
                    self.stop(mode)
                    break
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                    continue
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------- tmpfs


class Tmpfs:
    """A small tmpfs mounted at a fresh directory (root only); `fill()` takes every free byte."""

    def __init__(self, size: str = "3m"):
        self.path = Path(tempfile.mkdtemp(prefix="chronicle-rel-tmpfs."))
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.path)], check=True,
                       capture_output=True, timeout=30)
        self.mounted = True
        self.filler = self.path / "filler"

    def resize(self, size: str) -> None:
        """Grows (or shrinks) the filesystem in place, as an operator giving a full disk more room would."""
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True, capture_output=True,
                       timeout=30)

    def free_bytes(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self) -> int:
        """Writes a filler file until ENOSPC (big chunks, then smaller); answers the bytes written."""
        written = 0
        with open(self.filler, "ab", buffering=0) as f:
            for chunk in (1 << 20, 1 << 16, 4096, 512, 64, 8, 1):
                block = b"\0" * chunk
                for _ in range(10_000):  # bounded
                    try:
                        n = f.write(block)
                    except OSError:
                        break
                    written += n or 0
                    if not n or n < chunk:
                        break
        return written

    def release(self) -> None:
        try:
            self.filler.unlink()
        except FileNotFoundError:
            pass

    def unmount(self) -> None:
        if self.mounted:
            result = subprocess.run(["umount", str(self.path)], capture_output=True, timeout=30)
            if result.returncode != 0:
                subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)
            self.mounted = False
        try:
            self.path.rmdir()
        except OSError:
            pass


# ---------------------------------------------------------------- figures


class Figures:
    """The figures of one test, written as JSON into the results directory (the driver prints them)."""

    def __init__(self, test: str, backend: str):
        self.data: dict = {"test": test, "backend": backend, "profile": profile_name(), "seed": seed(),
                           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "kills": 0, "ops_ok": 0, "ops_failed": 0, "ops_unknown": 0, "lost": 0, "duplicated": 0,
                           "violations": []}
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    def __setitem__(self, key, value):
        with self._lock:
            self.data[key] = value

    def __getitem__(self, key):
        return self.data[key]

    def add(self, key, amount=1):
        with self._lock:
            self.data[key] = self.data.get(key, 0) + amount

    def violation(self, message: str) -> None:
        with self._lock:
            self.data["violations"].append(message)

    @property
    def violations(self) -> list[str]:
        return self.data["violations"]

    def write(self, outcome: str) -> Path:
        self.data["seconds"] = round(time.monotonic() - self._t0, 1)
        self.data["outcome"] = outcome
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.data['test']}.json"
        path.write_text(json.dumps(self.data, indent=2, sort_keys=True, default=str))
        return path

    def assert_clean(self) -> None:
        if self.violations:
            shown = self.violations[:40]
            more = len(self.violations) - len(shown)
            raise AssertionError(f"{len(self.violations)} violation(s):\n  - " + "\n  - ".join(shown)
                                 + (f"\n  … and {more} more (see {RESULTS_DIR}/{self.data['test']}.json)" if more else ""))
