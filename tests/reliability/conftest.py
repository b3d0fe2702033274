"""Fixtures of the reliability suite (see RELIABILITY.md).

- `servers`: a factory of `chronicle serve` processes (SQLite file or PostgreSQL URL) in the test's own
  work directory, and of `chronicle worker` processes (`servers.worker(name, ...)`); every one started
  is stopped at the end of the test, whatever happened.
- `postgres`: one throwaway PostgreSQL 15 cluster for the session on a free loopback port (the tests
  stop and start it); each test takes a fresh, migrated database of its own. Stopped and deleted at
  the end of the session, always.
- `figures`: the test's figures, written to `$RELIABILITY_RESULTS/<test>.json` at the end (pass or
  fail) for `scripts/reliability` to print.
- `workdir`: `$RELIABILITY_RESULTS/<test>/` (server logs and mailboxes are kept for post-mortems).

Environment: CHRONICLE_BIN (default .build/debug/chronicle), RELIABILITY_PROFILE (ci | long),
RELIABILITY_SEED, RELIABILITY_RESULTS (default .build/reliability), CI (a missing PostgreSQL or tmpfs
fails instead of skipping).
"""

from __future__ import annotations

import re
import shutil

import pytest

import harness
from harness import CHRONICLE_BIN, RESULTS_DIR, ChronicleServer, ChronicleWorker, Figures, PostgresCluster


def pytest_report_header(config):
    return [f"reliability: profile={harness.profile_name()} seed={harness.seed()} binary={CHRONICLE_BIN} "
            f"results={RESULTS_DIR}"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def test_key(node) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name.removeprefix("test_")).strip("-")


@pytest.fixture(scope="session")
def _binary():
    if not CHRONICLE_BIN.exists():
        pytest.exit(f"{CHRONICLE_BIN} does not exist: build first (swift build) or set CHRONICLE_BIN", returncode=2)


@pytest.fixture
def workdir(request):
    path = RESULTS_DIR / test_key(request.node)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / ".reliability-workdir").touch()  # scripts/reliability clears only what the suite made
    return path


@pytest.fixture
def figures(request):
    backend = "postgres" if "postgres" in request.node.name else "sqlite"
    f = Figures(test_key(request.node), backend)
    yield f
    setup = getattr(request.node, "rep_setup", None)
    call = getattr(request.node, "rep_call", None)
    report = call if call is not None else setup
    if report is None:
        outcome = "error"
    elif report.skipped:
        outcome = "skipped"
        f["skip_reason"] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    elif call is None:
        outcome = "error"
    else:
        outcome = "passed" if call.passed else "failed"
    f.write(outcome)


@pytest.fixture
def servers(workdir, _binary):
    started: list[ChronicleServer] = []

    def make(name: str = "server", **kwargs) -> ChronicleServer:
        server = ChronicleServer(workdir / name, **kwargs)
        started.append(server)
        return server

    make.worker = lambda name, **kwargs: _worker(name, **kwargs)

    def _worker(name: str, **kwargs) -> ChronicleWorker:
        worker = ChronicleWorker(workdir / "workers", name=name, **kwargs)
        started.append(worker)
        return worker

    yield make
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def _postgres_cluster():
    """The cluster, or why there is none (the skip happens per test, so that its figures say why)."""
    ok, why = harness.postgres_available()
    if not ok:
        yield why
        return
    cluster = PostgresCluster()
    try:
        cluster.init()
    except Exception:
        cluster.destroy()
        raise
    yield cluster
    cluster.destroy()


@pytest.fixture
def postgres(figures, _postgres_cluster):
    """The session's cluster, running (a test that stopped it and failed must not break the next one)."""
    if isinstance(_postgres_cluster, str):
        if harness.IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {_postgres_cluster}")
        pytest.skip(_postgres_cluster)
    if not _postgres_cluster.running():
        _postgres_cluster.start()
    yield _postgres_cluster
    if not _postgres_cluster.running():
        _postgres_cluster.start()
