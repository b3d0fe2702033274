"""Fixtures for Chronicle's real-browser tests.

- `server`: a fresh `chronicle serve` on a free port with its own SQLite file, per test; it can be
  restarted on the same database and port (`server.restart()`).
- `browser`: one headless Chromium for the whole session (each test navigates to its own server);
  `second_browser`: another one, for the two-tabs tests.
- `todo_page` / `admin_page`: small page objects over those.
- `wait_until(cond, timeout)`: polling with a deadline. No test sleeps and hopes.

Every HTTP answer the browsers receive is read from Chrome's performance log after each test; a 5xx
fails that test, and `test_admin.py::test_no_request_answered_5xx` checks the whole session. An
uncaught exception in a page's script fails the test too.

Environment: CHRONICLE_BIN (default .build/debug/chronicle), TODO_BIN (default: `todo` beside it),
CHRONICLE_PUBLIC_DIR (optional: serve the pages from this folder instead of the built-in copy),
CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default /usr/bin/chromedriver).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download a driver.

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else REPO_ROOT / path


CHRONICLE_BIN = _path_from_env("CHRONICLE_BIN", Path(".build/debug/chronicle"))
TODO_BIN = _path_from_env("TODO_BIN", CHRONICLE_BIN.parent / "todo")
PUBLIC_DIR = os.environ.get("CHRONICLE_PUBLIC_DIR")


# ---------------------------------------------------------------- waiting


def wait_until(condition, timeout: float = 5.0, interval: float = 0.05, message: str | None = None):
    """Polls `condition()` until it returns something truthy (and answers that), or fails at the deadline.

    Selenium's "element went away" errors count as "not yet": the page re-renders from the server.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    last_value = None
    while True:
        try:
            last_value = condition()
            if last_value:
                return last_value
        except (StaleElementReferenceException, NoSuchElementException) as error:
            last_error = error
        if time.monotonic() >= deadline:
            detail = message or getattr(condition, "__name__", "condition")
            raise AssertionError(
                f"timed out after {timeout}s waiting for {detail}"
                f" (last value: {last_value!r}{', last error: ' + repr(last_error) if last_error else ''})"
            )
        time.sleep(interval)


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:300]!r}>"


class Server:
    """One `chronicle serve` process on a temp database."""

    def __init__(self, workdir: Path, extra_args: list[str] | None = None):
        self.workdir = workdir
        self.extra_args = extra_args or []
        self.database = workdir / "chronicle.sqlite"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / "server.log"
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        if not CHRONICLE_BIN.exists():
            pytest.fail(f"{CHRONICLE_BIN} does not exist: run `swift build` first or set CHRONICLE_BIN")
        # Pizza steps of 300 ms: an order is seen moving through each status, quickly.
        command = [str(CHRONICLE_BIN), "serve", "--port", str(self.port), "--database", str(self.database), "--pizza-step-ms", "300"]
        if PUBLIC_DIR:
            command += ["--public-dir", PUBLIC_DIR]
        command += self.extra_args
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n==== start {self.starts}: {' '.join(command)}\n".encode())
        log.flush()
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"chronicle serve exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                answer = self.request("GET", "/health", timeout=1)
                if answer.status == 200 and answer.json == {"status": "ok"}:
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if time.monotonic() >= deadline:
                self.stop()
                raise RuntimeError(f"chronicle serve did not answer /health within {timeout}s:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful stop: SIGTERM, then wait (SIGKILL only if it hangs, and then fail loudly)."""
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"chronicle serve ignored SIGTERM for {timeout}s:\n{self.log_tail()}")

    def restart(self) -> None:
        """Stops and starts again on the same database and port (so open pages can reconnect)."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- HTTP

    def request(self, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 10) -> Response:
        """One request; `body` may be bytes (sent as is) or anything JSON-encodable."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            try:
                connection.request(method, path, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (e.g. 413) and close before a huge body is fully sent.
                pass
            response = connection.getresponse()
            headers = {k.lower(): v for k, v in response.getheaders()}
            # A live feed never ends: take its status and headers only.
            body = b"" if "text/event-stream" in headers.get("content-type", "") else response.read()
            return Response(response.status, headers, body)
        finally:
            connection.close()

    def get_json(self, path: str):
        answer = self.request("GET", path)
        assert answer.status == 200, f"GET {path} -> {answer}"
        return answer.json

    # -- the Todo API, for arranging state behind the page's back

    def add_todo(self, title: str, **fields) -> str:
        todo_id = str(uuid.uuid4())
        answer = self.request("POST", f"/todo/{todo_id}", {"title": title, **fields})
        assert answer.status == 201, answer
        return todo_id

    def todo_command(self, todo_id: str, action: str, body=None, method: str = "POST") -> Response:
        return self.request(method, f"/todo/{todo_id}/{action}", body if body is not None else {})

    def board(self) -> list[dict]:
        return self.get_json("/todos/board")


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    s.start()
    yield s
    s.stop()


# ---------------------------------------------------------------- browsers

# Every (url, status) the browsers were answered, across the session.
SEEN_RESPONSES: list[tuple[str, int]] = []


def make_driver() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        # Timers of a page that is not in front must not be slowed down (live-update tests time them).
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


def drain_responses(driver) -> list[tuple[str, int]]:
    """The HTTP answers recorded since the last call (Network.responseReceived in the performance log)."""
    seen = []
    try:
        entries = driver.get_log("performance")
    except WebDriverException:
        return seen
    for entry in entries:
        try:
            message = json.loads(entry["message"])["message"]
        except (KeyError, ValueError):
            continue
        if message.get("method") == "Network.responseReceived":
            response = message["params"]["response"]
            if response.get("url", "").startswith("http"):
                seen.append((response["url"], int(response["status"])))
    SEEN_RESPONSES.extend(seen)
    return seen


def assert_no_5xx(seen: list[tuple[str, int]]) -> None:
    failures = [(url, status) for url, status in seen if status >= 500]
    assert not failures, f"the server answered 5xx: {failures}"


def assert_no_script_errors(driver) -> None:
    """Uncaught exceptions in the pages' scripts (refused requests are logged too, as network entries: ignored)."""
    try:
        entries = driver.get_log("browser")
    except WebDriverException:
        return
    errors = [e["message"] for e in entries if e.get("level") == "SEVERE" and e.get("source") == "javascript"]
    assert not errors, f"script errors in the page: {errors}"


@pytest.fixture(scope="session")
def _session_browser():
    driver = make_driver()
    yield driver
    drain_responses(driver)
    driver.quit()


@pytest.fixture
def browser(_session_browser):
    """The session's browser, on a blank page, with the 5xx check around the test."""
    driver = _session_browser
    drain_responses(driver)  # forget the previous test's traffic
    try:
        driver.get_log("browser")
    except WebDriverException:
        pass
    yield driver
    assert_no_script_errors(driver)
    # Leave the page so its live connection closes before the test's server stops.
    try:
        driver.get("about:blank")
    except WebDriverException:
        pass
    assert_no_5xx(drain_responses(driver))


@pytest.fixture
def second_browser():
    driver = make_driver()
    yield driver
    seen = drain_responses(driver)
    try:
        assert_no_script_errors(driver)
    finally:
        driver.quit()
    assert_no_5xx(seen)


# ---------------------------------------------------------------- page objects


class TodoPage:
    """The TodoMVC page in one browser."""

    def __init__(self, driver, server: Server):
        self.driver = driver
        self.server = server

    def open(self, route: str = "") -> "TodoPage":
        self.driver.get(self.server.url + "/" + route)
        # The page marks <body data-ready="true"> once its first board read is rendered.
        wait_until(lambda: self.driver.execute_script("return document.body.dataset.ready === 'true'"),
                   message="the page's first render")
        return self

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    @property
    def new_todo(self):
        return self.find("input.new-todo")

    def add(self, title: str, wait: bool = True) -> None:
        before = len(self.server.board())
        self.new_todo.send_keys(title, Keys.ENTER)
        if wait:
            wait_until(lambda: len(self.server.board()) > before, message=f"{title!r} to be added")
            wait_until(lambda: title.strip() in self.titles(), message=f"{title!r} to show")

    def items(self):
        return self.find_all("ul.todo-list > li")

    def titles(self) -> list[str]:
        """The titles in the list, in order (read from the DOM: a label being edited is hidden)."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll('ul.todo-list > li label')].map(l => l.textContent)")

    def item(self, title: str):
        for li in self.items():
            if li.find_element(By.CSS_SELECTOR, "label").get_attribute("textContent") == title:
                return li
        raise NoSuchElementException(f"no todo titled {title!r}")

    def wait_titles(self, expected: list[str], timeout: float = 5.0) -> None:
        wait_until(lambda: self.titles() == expected, timeout, message=f"titles {expected!r} (have {self.titles()!r})")

    def count_text(self) -> str:
        return self.find("footer.footer .todo-count").text

    def error_text(self) -> str:
        error = self.find("div.error")
        return error.text if error.is_displayed() else ""


# The console's file, so that the behaviour tests do not depend on URL routing; the URLs people type
# (/admin and /admin/) are checked on their own by test_admin.py::test_admin_urls_serve_the_console.
ADMIN_PATH = "/admin/index.html"


class AdminPage:
    """The admin console in one browser."""

    def __init__(self, driver, server: Server):
        self.driver = driver
        self.server = server

    def open(self, route: str = "") -> "AdminPage":
        self.driver.get(self.server.url + ADMIN_PATH + route)
        wait_until(lambda: self.driver.execute_script("return document.body.dataset.ready === 'true'"),
                   message="the admin console to load")
        return self

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)


@pytest.fixture
def todo_page(browser, server) -> TodoPage:
    return TodoPage(browser, server)


@pytest.fixture
def admin_page(browser, server) -> AdminPage:
    return AdminPage(browser, server)


# ---------------------------------------------------------------- ordering


def pytest_collection_modifyitems(session, config, items):
    """Tests marked `last` (the session-wide 5xx check) run after everything else."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run after every other test")
