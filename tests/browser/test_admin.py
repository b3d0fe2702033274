"""The admin console in a real (headless) Chromium, plus the HTTP API under hostile input.

Also holds the session-wide check that no request any page made was answered with a 5xx.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import uuid

import pytest
from selenium.webdriver.common.by import By

from urllib.parse import quote

from conftest import SEEN_RESPONSES, AdminPage, Server, free_port, wait_until

TODO_PROJECTIONS = ["outstanding_todos", "scheduled_todos", "completed_todos", "todo_board"]
PROJECTIONS = TODO_PROJECTIONS + ["bank_balances", "bank_statements", "bank_transfers", "pizza_orders", "cart_warehouse_orders",
                                  "cart_marketing_removed_items"]
REACTOR = "todo_completed_notifier"
PROCESS_MANAGER = "bank_transfers_process"
# Every subscription that is not a projection: the reactors and the process managers.
OTHERS = [REACTOR, "pizza_courier", PROCESS_MANAGER, "pizza_kitchen_process"]


def today() -> str:
    return datetime.date.today().isoformat()


def head(server: Server) -> int:
    return server.get_json("/admin/api/subscriptions")["head"]


def subscription(server: Server, name: str) -> dict:
    return next(s for s in server.get_json("/admin/api/subscriptions")["subscriptions"] if s["name"] == name)


def row(page: AdminPage, name: str):
    return page.find(f'#subscriptions tbody tr[data-name="{name}"]')


def row_state(page: AdminPage, name: str) -> str:
    return row(page, name).find_element(By.CSS_SELECTOR, ".state-badge").text


def cards(page: AdminPage) -> list[dict]:
    """The event cards in the inspector, as {type, position, stream}."""
    return page.driver.execute_script("""
        return [...document.querySelectorAll('#stream-events article.event')].map(a => ({
            type: a.querySelector('.event-type').textContent,
            position: Number(a.dataset.position),
            stream: a.querySelector('.event-stream').textContent,
            id: a.dataset.id}))""")


# ---------------------------------------------------------------- serving


def test_admin_urls_serve_the_console(server: Server):
    answer = server.request("GET", "/admin/")
    assert not (300 <= answer.status < 400 and answer.headers.get("location") == "/admin/"), \
        "/admin/ redirects to itself: a redirect loop (the /admin route also matches /admin/)"
    assert answer.status == 200, answer
    assert "text/html" in answer.headers.get("content-type", "")
    assert b"admin.js" in answer.body
    answer = server.request("GET", "/admin")
    assert answer.status in (200, 301, 302, 303, 307, 308), answer
    if answer.status != 200:
        assert answer.headers["location"] in ("/admin/", f"{server.url}/admin/")
    for asset in ("/admin/admin.js", "/admin/admin.css", "/app.js", "/todomvc.css"):
        assert server.request("GET", asset).status == 200, asset


# ---------------------------------------------------------------- streams and events


def test_a_commands_stream_and_event_show_up(admin_page: AdminPage, server: Server):
    page = admin_page.open()
    todo_id = server.add_todo("Seen by the console")
    stream = f"todo-{todo_id}"
    link = wait_until(lambda: page.find(f'#streams li[data-name="{stream}"] a'),
                      message="the new stream in the streams list")
    assert "v1" in link.text
    link.click()
    wait_until(lambda: page.driver.current_url.endswith(f"#/streams/{stream}"))
    wait_until(lambda: [c["type"] for c in cards(page)] == ["TodoAdded"], message="the stream's event")
    card = page.find("#stream-events article.event")
    assert card.find_element(By.CSS_SELECTOR, ".event-version").text == "v1"
    assert card.find_element(By.CSS_SELECTOR, ".event-position").text == f"#{head(server)}"
    assert json.loads(card.find_element(By.CSS_SELECTOR, "pre.event-data").text) == {"title": "Seen by the console"}
    metadata = json.loads(card.find_element(By.CSS_SELECTOR, "pre.event-metadata").text)
    assert set(metadata) >= {"causation_id", "correlation_id"}
    assert card.find_element(By.CSS_SELECTOR, "time.event-time").get_attribute("datetime")
    assert "selected" in page.find(f'#streams li[data-name="{stream}"]').get_attribute("class")

    # A later event of the same stream is appended to the open view, live.
    server.todo_command(todo_id, "complete", {"completed_on": today()})
    wait_until(lambda: [c["type"] for c in cards(page)] == ["TodoAdded", "TodoCompleted"], timeout=2,
               message="the new event in the stream view")
    wait_until(lambda: "v2" in page.find(f'#streams li[data-name="{stream}"] .stream-version').text, timeout=2)


def test_a_todo_is_found_by_its_title(admin_page: AdminPage, server: Server):
    server.add_todo("Call Bob")
    milk = server.add_todo("Buy milk")
    server.add_todo("Walk the dog")
    assert server.request("PUT", f"/todo/{milk}", {"due_date": "2026-12-24"}).status == 200
    order = server.request("POST", "/pizza/orders", {"customer_id": "ann", "sauce": "tomato", "cheese": "mozzarella",
                                                      "main_topping": "margherita", "extra_toppings": []})
    assert order.status == 202, order
    page = admin_page.open()
    wait_until(lambda: len(page.find_all("#streams li")) == 4, message="four streams listed")
    page.find("#stream-filter").send_keys("MILK")
    wait_until(lambda: [li.get_attribute("data-name") for li in page.find_all("#streams li")] == [f"todo-{milk}"],
               message="the todo found by its title")
    item = page.find(f'#streams li[data-name="todo-{milk}"]')
    # Its title, although its last event (an amendment of the due date) does not carry it.
    assert item.find_element(By.CSS_SELECTOR, ".stream-summary").text == "Buy milk"
    assert item.find_element(By.CSS_SELECTOR, ".stream-meta").text == "todo · TodoAmended"
    item.find_element(By.CSS_SELECTOR, "a").click()
    wait_until(lambda: len(cards(page)) == 2, message="the todo's two events")
    # By category.
    page.find("#stream-filter").clear()
    page.driver.execute_script("""
        const f = document.getElementById('stream-filter'); f.dispatchEvent(new Event('input'));
        const c = document.getElementById('stream-category'); c.value = 'pizza'; c.dispatchEvent(new Event('change'));""")
    wait_until(lambda: [li.get_attribute("data-name").split("-")[0] for li in page.find_all("#streams li")] == ["pizza"],
               message="the pizza stream alone")
    assert page.find("#stream-count").text == "1 of 4 streams"
    api = server.get_json("/admin/api/streams?q=walk")
    assert [s["summary"] for s in api["streams"]] == ["Walk the dog"] and "todo" in api["categories"], api


def test_stream_filter(admin_page: AdminPage, server: Server):
    ids = [server.add_todo(f"Todo {i}") for i in range(4)]
    page = admin_page.open()
    wait_until(lambda: len(page.find_all("#streams li")) == 4)
    needle = ids[2][:13].upper()  # case-insensitive, part of the name
    page.find("#stream-filter").send_keys(needle)
    wait_until(lambda: [li.get_attribute("data-name") for li in page.find_all("#streams li")] == [f"todo-{ids[2]}"])
    assert page.find("#stream-count").text == "1 of 4 streams"
    page.find("#stream-filter").clear()
    page.find("#stream-filter").send_keys("no-such-stream")
    wait_until(lambda: page.find_all("#streams li") == [])
    page.driver.execute_script("const f = document.getElementById('stream-filter'); f.value = '';"
                               "f.dispatchEvent(new Event('input'))")
    wait_until(lambda: len(page.find_all("#streams li")) == 4)
    # Newest first.
    assert page.find("#streams li").get_attribute("data-name") == f"todo-{ids[3]}"


def test_causation_and_correlation_links(admin_page: AdminPage, server: Server):
    """Completing a todo with a stakeholder makes the notifier record a notification, caused by the
    completion and in the same conversation (correlation) as the complete command."""
    todo_id = server.add_todo("Tell Ann", stakeholder_email="ann@example.com")
    server.todo_command(todo_id, "complete", {"completed_on": today()})
    stream = f"todo-{todo_id}"
    events = wait_until(lambda: (e := server.get_json(f"/streams/{stream}")["events"]) and len(e) == 3 and e,
                        message="the notifier's event")
    added, completed, notified = events
    assert notified["metadata"]["causation_id"] == completed["id"]

    page = admin_page.open(f"#/streams/{stream}")
    wait_until(lambda: len(cards(page)) == 3)
    # The notification's cause is a stored event: the completion.
    page.find_all("#stream-events article.event")[2].find_element(By.CSS_SELECTOR, "a.causation").click()
    wait_until(lambda: [c["id"] for c in cards(page)] == [completed["id"]], message="the causing event")
    assert page.find("#inspector-title").text == f"Event {completed['id']}"
    # The completion's cause is the command, which is not stored: the console says so.
    page.find("#stream-events article.event a.causation").click()
    wait_until(lambda: page.find("#inspector-title").text == "Command", message="'Command' for a command id")
    assert completed["metadata"]["causation_id"] in page.find("#stream-events").text
    assert cards(page) == []
    # The conversation of the complete command: the completion and the notification it caused.
    page.driver.back()
    wait_until(lambda: [c["id"] for c in cards(page)] == [completed["id"]])
    page.find("#stream-events article.event a.correlation").click()
    wait_until(lambda: [c["id"] for c in cards(page)] == [completed["id"], notified["id"]],
               message="the conversation's events")
    assert page.find("#inspector-title").text == f"Conversation {completed['metadata']['correlation_id']}"
    assert added["id"] not in [c["id"] for c in cards(page)]


# ---------------------------------------------------------------- the global log


def test_global_log_shows_the_last_page_then_goes_live(admin_page: AdminPage, server: Server):
    for i in range(120):
        server.add_todo(f"Bulk {i}")
    newest = head(server)
    assert newest == 120
    page = admin_page.open()

    def positions():
        return page.driver.execute_script(
            "return [...document.querySelectorAll('#log tbody tr')].map(r => Number(r.dataset.position))")

    wait_until(lambda: positions() and positions()[0] == newest, message="the newest event on top")
    shown = positions()
    assert shown == sorted(shown, reverse=True) and len(shown) == len(set(shown))
    assert min(shown) == newest - 99 and len(shown) == 100, "the last page (100 events), not the first"
    server.add_todo("Live one")
    wait_until(lambda: positions()[0] == newest + 1, timeout=1.0, message="the new event in the log within 1 s")
    top = page.find("#log tbody tr")
    assert "TodoAdded" in top.text
    top.find_element(By.CSS_SELECTOR, "a.log-event").click()
    wait_until(lambda: [c["position"] for c in cards(page)] == [newest + 1])


# ---------------------------------------------------------------- subscriptions


def test_subscriptions_table(admin_page: AdminPage, server: Server):
    server.add_todo("Something to process")
    page = admin_page.open()
    names = [tr.get_attribute("data-name") for tr in page.find_all("#subscriptions tbody tr")]
    assert sorted(names) == sorted(PROJECTIONS + OTHERS)
    for name in PROJECTIONS:
        assert row(page, name).get_attribute("data-kind") == "projection"
        assert row(page, name).find_element(By.CSS_SELECTOR, "button.rebuild").accessible_name == f"Rebuild {name}"
    assert row(page, REACTOR).get_attribute("data-kind") == "reactor"
    assert row(page, REACTOR).find_elements(By.CSS_SELECTOR, "button.rebuild") == [], "reactors are never rebuilt"
    # The third kind: a process manager, never rebuilt, with its open processes.
    assert row(page, PROCESS_MANAGER).get_attribute("data-kind") == "process_manager"
    assert row(page, PROCESS_MANAGER).find_elements(By.CSS_SELECTOR, "button.rebuild") == []
    wait_until(lambda: row(page, PROCESS_MANAGER).find_element(By.CSS_SELECTOR, ".open-instances").text == "0")
    row(page, PROCESS_MANAGER).find_element(By.CSS_SELECTOR, "button.instances").click()
    wait_until(lambda: page.find("#process-instances h3").text == f"{PROCESS_MANAGER}: 0 open", message="the open processes listed")
    for name in PROJECTIONS + OTHERS:
        wait_until(lambda name=name: row_state(page, name) == "running"
                   and row(page, name).find_element(By.CSS_SELECTOR, ".checkpoint").text == "1"
                   and row(page, name).find_element(By.CSS_SELECTOR, ".lag").text == "0",
                   message=f"{name} running at checkpoint 1, lag 0")
    assert page.find("#head").text == "1"
    # Polled every second: a new event moves every checkpoint.
    server.add_todo("Another")
    wait_until(lambda: all(row(page, n).find_element(By.CSS_SELECTOR, ".checkpoint").text == "2"
                           for n in PROJECTIONS + OTHERS), timeout=3)


def test_pause_resume_and_rebuild(admin_page: AdminPage, server: Server):
    server.add_todo("First")
    page = admin_page.open()
    wait_until(lambda: row_state(page, "todo_board") == "running")

    row(page, "todo_board").find_element(By.CSS_SELECTOR, "button.pause").click()
    wait_until(lambda: row_state(page, "todo_board") == "paused", timeout=3, message="paused in the page")
    assert subscription(server, "todo_board")["state"] == "paused"
    assert not row(page, "todo_board").find_element(By.CSS_SELECTOR, "button.pause").is_enabled()
    assert "todo_board" in page.find("#subscription-message").text

    # A paused projection falls behind, visibly.
    server.add_todo("Second")
    wait_until(lambda: row(page, "todo_board").find_element(By.CSS_SELECTOR, ".lag").text == "1", timeout=3)
    wait_until(lambda: row(page, "outstanding_todos").find_element(By.CSS_SELECTOR, ".lag").text == "0", timeout=3)

    row(page, "todo_board").find_element(By.CSS_SELECTOR, "button.resume").click()
    wait_until(lambda: row_state(page, "todo_board") == "running", timeout=3, message="running again")
    wait_until(lambda: row(page, "todo_board").find_element(By.CSS_SELECTOR, ".lag").text == "0", timeout=3)
    assert [t["title"] for t in server.board()] == ["First", "Second"]

    # Rebuild builds the read model again beside the live one, then swaps it in: a progress line, then
    # "swapped in", and the list the same throughout.
    row(page, "outstanding_todos").find_element(By.CSS_SELECTOR, "button.rebuild").click()
    wait_until(lambda: "Rebuild outstanding_todos" in page.find("#subscription-message").text, timeout=3)
    wait_until(lambda: (subscription(server, "outstanding_todos").get("rebuild") or {}).get("phase") == "done", timeout=10,
               message="the rebuild to be swapped in")
    progress = subscription(server, "outstanding_todos")["rebuild"]
    assert progress["done"] == progress["total"] == 2, progress
    wait_until(lambda: "Rebuilt and swapped in: 2 / 2 events"
               in row(page, "outstanding_todos").find_element(By.CSS_SELECTOR, ".rebuild").text, timeout=3)
    assert row_state(page, "outstanding_todos") == "running"
    assert row(page, "outstanding_todos").find_element(By.CSS_SELECTOR, "button.rebuild").is_enabled()
    assert [t["title"] for t in server.get_json("/todos/outstanding")] == ["First", "Second"]


def time_rows(page: AdminPage) -> list[list[str]]:
    """The rows the time-travel panel shows, as lists of cell texts."""
    return page.driver.execute_script("""
        return [...document.querySelectorAll('#time-tables tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))""")


def test_the_time_slider_shows_a_read_model_as_it_was(admin_page: AdminPage, server: Server):
    milk = server.add_todo("Buy milk")
    server.add_todo("Call Bob")
    assert server.todo_command(milk, "complete", {"completed_on": today()}).status == 200
    page = admin_page.open()
    page.driver.execute_script("""
        const select = document.getElementById('time-model');
        select.value = 'outstanding_todos';
        select.dispatchEvent(new Event('change'));""")
    # At the head: both todos, Buy milk completed.
    wait_until(lambda: "ended at position 3" in page.find("#time-note").text, message="the read model at the head")
    rows = time_rows(page)
    assert sorted((r[1], r[5]) for r in rows) == [("Buy milk", "completed"), ("Call Bob", "outstanding")], rows
    # Slid back to position 1: only Buy milk, still outstanding.
    page.driver.execute_script("""
        const slider = document.getElementById('time-slider');
        slider.value = '1';
        slider.dispatchEvent(new Event('input'));""")
    wait_until(lambda: "ended at position 1" in page.find("#time-note").text, message="the read model at position 1")
    assert [(r[1], r[5]) for r in time_rows(page)] == [("Buy milk", "outstanding")]
    assert page.find("#time-position").text == "1"
    # Back to now.
    page.find("#time-now").click()
    wait_until(lambda: "ended at position 3" in page.find("#time-note").text, message="the read model now")
    assert len(time_rows(page)) == 2
    # The live read model was never touched.
    assert [t["title"] for t in server.get_json("/todos/outstanding")] == ["Call Bob"]


def test_a_stream_is_reverted_from_the_console(admin_page: AdminPage, server: Server):
    todo = server.add_todo("Buy milk")
    assert server.request("PUT", f"/todo/{todo}", {"title": "Buy oat milk"}).status == 200
    assert server.todo_command(todo, "complete", {"completed_on": today()}).status == 200
    page = admin_page.open(f"#/streams/todo-{todo}")
    version = wait_until(lambda: page.find_all("form.revert-form input") and page.find("form.revert-form input"),
                         message="the revert control")
    assert version.get_attribute("max") == "2"
    version.clear()
    version.send_keys("1")
    page.find("form.revert-form button.revert").click()
    wait_until(lambda: "Reverted to version 1" in page.find("#revert-message").text, timeout=5, message="the revert's outcome")
    message = page.find("#revert-message").text
    assert "2 events compensated" in message and "version 5" in message, message
    state = server.get_json(f"/todo/{todo}")
    assert state["title"] == "Buy milk" and state["status"] == "outstanding", state
    # History kept: the stream shows all five events, the two new ones caused by those they reverse.
    wait_until(lambda: len(cards(page)) == 5, message="the stream's five events")


def test_a_web_only_server_disables_what_it_cannot_do(browser, tmp_path):
    """`serve --no-workers` runs no subscription: pause and resume are disabled (the API answers 409
    saying so); a rebuild is carried out from here all the same."""
    web = Server(tmp_path, extra_args=["--no-workers"])
    web.start()
    try:
        web.add_todo("Buy milk")
        page = AdminPage(browser, web).open()
        wait_until(lambda: row_state(page, "todo_board") == "standby", message="standing by")
        for action in ("pause", "resume"):
            button = row(page, "todo_board").find_element(By.CSS_SELECTOR, f"button.{action}")
            assert not button.is_enabled() and "does not run it" in button.get_attribute("title")
            answer = web.request("POST", f"/admin/api/subscriptions/todo_board/{action}", {})
            assert answer.status == 409 and "--no-workers" in answer.json["error"], answer
        row(page, "todo_board").find_element(By.CSS_SELECTOR, "button.rebuild").click()
        wait_until(lambda: "Rebuilt and swapped in: 1 / 1 events"
                   in row(page, "todo_board").find_element(By.CSS_SELECTOR, ".rebuild").text, timeout=10)
        assert [t["title"] for t in web.board()] == ["Buy milk"]
    finally:
        web.stop()


def test_refused_action_is_shown(admin_page: AdminPage, server: Server):
    page = admin_page.open()
    # A row for a subscription the server does not have, clicked before the next poll removes it.
    page.driver.execute_script("""
        const tr = document.querySelector('#subscriptions tbody tr').cloneNode(true);
        tr.dataset.name = 'ghost';
        document.querySelector('#subscriptions tbody').append(tr);
        const button = tr.querySelector('button.pause');
        button.disabled = false;
        button.click();""")
    error = wait_until(lambda: page.find("#error").is_displayed() and page.find("#error").text,
                       message="the refusal to be shown")
    assert "ghost" in error and "no subscription" in error, error
    assert page.find("#error").get_attribute("role") == "alert"


def test_a_poison_event_faults_visibly(browser, server: Server):
    """An event the projections cannot decode stops them loudly: state faulted, with its position and
    the error, in red. (Written into the database behind the server's back: no API writes such an event.)"""
    server.add_todo("Fine")
    server.stop()
    with sqlite3.connect(server.database) as db:
        position, recorded_at = db.execute(
            "SELECT MAX(position), MAX(recorded_at) FROM events").fetchone()
        stream = f"todo-{uuid.uuid4()}"
        db.execute("INSERT INTO events (position, event_id, stream_name, category, stream_version, type,"
                   " schema_version, data, metadata, recorded_at) VALUES (?, ?, ?, 'todo', 1, 'TodoAdded', 1, ?, '{}', ?)",
                   (position + 1, str(uuid.uuid4()), stream, '{"title": 42}', recorded_at))
        db.execute("INSERT INTO streams (stream_name, version, last_position, last_written_at) VALUES (?, 1, ?, ?)",
                   (stream, position + 1, recorded_at))
    server.start()
    page = AdminPage(browser, server).open()
    for name in TODO_PROJECTIONS:
        wait_until(lambda name=name: row_state(page, name) == "faulted", timeout=5, message=f"{name} faulted")
        tr = row(page, name)
        assert "faulted" in tr.get_attribute("class").split()
        assert tr.find_element(By.CSS_SELECTOR, ".fault-position").text == f"at position {position + 1}:"
        assert "title" in tr.find_element(By.CSS_SELECTOR, ".fault-error").text
        color = page.driver.execute_script(
            "return getComputedStyle(arguments[0].querySelector('.state-badge')).backgroundColor", tr)
        r, g, b = [int(v) for v in color[color.index("(") + 1:color.index(")")].split(",")[:3]]
        assert r > 150 and g < 100 and b < 100, f"faulted is red, got {color}"
    # The reactor does not read TodoAdded and goes on; so do the bank's subscriptions.
    assert row_state(page, REACTOR) == "running"
    assert row_state(page, "bank_balances") == "running"
    # The poison event itself is browsable (its data shown as stored).
    page.open(f"#/streams/{stream}")
    wait_until(lambda: [c["position"] for c in cards(page)] == [position + 1])


# ---------------------------------------------------------------- the chart


def test_chart_draws_rate_and_lag(admin_page: AdminPage, server: Server):
    page = admin_page.open()
    for i in range(5):
        server.add_todo(f"Rate {i}")
    history = wait_until(lambda: (h := server.get_json("/admin/api/history")) and len(h["samples"]) >= 3
                         and h["samples"][-1]["head"] >= 5 and h, timeout=12, message="three samples")
    assert history["interval_seconds"] > 0

    def drawn():
        return page.driver.execute_script("""
            const svg = document.getElementById('chart');
            const rate = svg.querySelector('polyline.chart-rate');
            return {
              rate: rate ? rate.getAttribute('points').trim().split(/\\s+/).map(p => p.split(',').map(Number)) : [],
              lags: [...svg.querySelectorAll('polyline.chart-lag')].map(l => l.dataset.name),
              box: svg.getBoundingClientRect().height,
            };""")

    chart = wait_until(lambda: (d := drawn()) and len(d["rate"]) >= 2 and d, timeout=6, message="the chart's lines")
    assert sorted(chart["lags"]) == sorted(PROJECTIONS + OTHERS)
    assert chart["box"] > 100, "the chart is visible"
    # Some interval saw the 5 events: its point sits above the baseline (smaller y).
    wait_until(lambda: min(y for _, y in drawn()["rate"]) < max(y for _, y in drawn()["rate"]), timeout=6,
               message="a non-zero event rate drawn")
    assert "events/s" in page.find("#chart-summary").text
    assert page.find("#chart").get_attribute("role") == "img"


# ---------------------------------------------------------------- accessibility


def test_console_controls_are_labelled(admin_page: AdminPage, server: Server):
    server.add_todo("Label me")
    page = admin_page.open()
    wait_until(lambda: len(page.find_all("#streams li")) == 1)
    for element in page.find_all("input, button, a, select, textarea"):
        if element.is_displayed():
            assert element.accessible_name.strip(), element.get_attribute("outerHTML")[:160]
    assert page.find("#stream-filter").accessible_name == "Search streams by name, category, last event type or summary"
    assert page.find("#stream-category").accessible_name == "Streams of one category"


# ---------------------------------------------------------------- hostile input


def hostile_requests(todo_id: str) -> list[tuple[str, str, bytes | None, dict]]:
    json_header = {"Content-Type": "application/json"}
    huge = b'{"title": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    return [
        ("POST", f"/todo/{todo_id}", b"{not json", json_header),
        ("POST", f"/todo/{todo_id}", b"", json_header),
        ("POST", f"/todo/{todo_id}", b"[]", json_header),
        ("POST", f"/todo/{todo_id}", b"null", json_header),
        ("POST", f"/todo/{todo_id}", b'"just a string"', json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": 42}', json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": ["a"]}', json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": "   "}', json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": "x", "due_date": "2024-02-30"}', json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": "\xff\xfe bad utf-8"}', json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": "\xc3\x28"}', json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": "\\ud800"}', json_header),
        ("POST", f"/todo/{todo_id}", huge, json_header),
        ("POST", f"/todo/{todo_id}", b"[" * 100000, json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": "x", "title": 1}', json_header),
        ("POST", f"/todo/{todo_id}", b'{"title": "x"}', {"Content-Type": "text/plain"}),
        ("POST", f"/todo/{todo_id}", b"title=x", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("POST", "/todo/not-a-uuid", b'{"title": "x"}', json_header),
        ("POST", "/todo/%00", b'{"title": "x"}', json_header),
        ("POST", "/todo/" + "9" * 5000, b'{"title": "x"}', json_header),
        ("PUT", f"/todo/{todo_id}", b'{"title": "never added"}', json_header),
        ("PUT", f"/todo/{todo_id}", b'{"due_date": 5}', json_header),
        ("POST", f"/todo/{todo_id}/complete", b'{"completed_on": "yesterday"}', json_header),
        ("POST", f"/todo/{todo_id}/complete", b'{}', json_header),
        ("POST", f"/todo/{todo_id}/abandon", b'{"abandoned_on": 20240101}', json_header),
        ("PUT", f"/todo/{todo_id}/moveup", b"{oops", json_header),
        ("POST", f"/todo/{todo_id}/reopen", b"{}", json_header),
        ("POST", f"/todo/{todo_id}/clear", b"{}", json_header),
        ("DELETE", f"/todo/{todo_id}", None, {}),
        ("GET", "/todos/board?after=-1", None, {}),
        ("GET", "/todos/board?after=abc", None, {}),
        ("GET", "/todos/board?after=99999999999", None, {}),
        ("GET", "/todos/board?after=99999999999999999999999999", None, {}),
        ("GET", "/todos/nothing", None, {}),
        ("GET", "/streams?limit=0", None, {}),
        ("GET", "/streams?limit=-5", None, {}),
        ("GET", "/streams?limit=abc", None, {}),
        ("GET", "/streams?after=%00", None, {}),
        ("GET", "/streams/%00", None, {}),
        ("GET", "/streams/" + "x" * 10000, None, {}),
        ("GET", "/streams/%FF%FE", None, {}),
        ("GET", "/streams/todo-x?from=-3", None, {}),
        ("GET", "/log?after=-1", None, {}),
        ("GET", "/log?limit=1e9", None, {}),
        ("GET", "/log?correlation=not-a-uuid", None, {}),
        ("GET", "/log?correlation=%00", None, {}),
        ("GET", "/events/not-a-uuid", None, {}),
        ("GET", f"/events/{uuid.uuid4()}", None, {}),
        ("GET", "/events/live?after=abc", None, {}),
        ("GET", "/events/live?after=-1", None, {}),
        ("POST", "/admin/api/subscriptions/nope/pause", b"", {}),
        ("POST", "/admin/api/subscriptions/%00/resume", b"", {}),
        ("POST", "/admin/api/subscriptions/todo_board/explode", b"", {}),
        ("POST", "/admin/api/subscriptions/" + "n" * 5000 + "/rebuild", b"", {}),
        ("POST", f"/admin/api/subscriptions/{REACTOR}/rebuild", b"", {}),
        ("GET", "/admin/api/read-models/nope", None, {}),
        ("GET", f"/admin/api/read-models/{REACTOR}", None, {}),
        ("GET", "/admin/api/read-models/outstanding_todos?as_of=abc", None, {}),
        ("GET", "/admin/api/read-models/outstanding_todos?as_of=99999999", None, {}),
        ("GET", "/todos/outstanding?as_of=-1", None, {}),
        ("GET", "/todos/outstanding?as_of=99999999", None, {}),
        ("GET", "/todos/board?as_of=2026-13-45T00:00:00Z", None, {}),
        ("POST", "/admin/api/streams/todo-x/revert", b'{"to_version": "one"}', json_header),
        ("GET", "/admin/api/nothing", None, {}),
        ("GET", "/no/such/route", None, {}),
        ("POST", "/health", b"{}", json_header),
        ("GET", "/%2e%2e/%2e%2e/etc/passwd", None, {}),
    ]


def test_hostile_api_input_gets_4xx_json_errors(server: Server):
    todo_id = str(uuid.uuid4())
    problems = []
    for method, path, body, headers in hostile_requests(todo_id):
        label = f"{method} {path[:70]} {(body or b'')[:40]!r}"
        try:
            answer = server.request(method, path, body, headers=headers, timeout=30)
        except Exception as error:  # a dropped connection is a failure too
            problems.append(f"{label}: no answer ({error!r})")
            continue
        if answer.status >= 500:
            problems.append(f"{label}: {answer.status} {answer.body[:200]!r}")
            continue
        if answer.status < 400:
            problems.append(f"{label}: accepted with {answer.status} {answer.body[:200]!r}")
            continue
        try:
            payload = answer.json
            assert isinstance(payload, dict) and isinstance(payload.get("error"), str) and payload["error"]
        except Exception:
            problems.append(f"{label}: {answer.status} without a JSON error body: {answer.body[:200]!r}")
        assert "json" in answer.headers.get("content-type", ""), f"{label}: {answer.headers}"
    assert not problems, "\n".join(problems)
    # Any name a KurrentDB client may have given a stream is a name: read (bound as a value, nothing
    # written), answered as JSON — a stream nobody wrote has no events.
    for name in ("..%2F..%2Fetc%2Fpasswd", "%F0%9F%92%A5%20%3Cscript%3E"):
        answer = server.request("GET", f"/streams/{name}")
        assert answer.status == 200 and answer.json == {"events": []}, answer
        assert "json" in answer.headers.get("content-type", "")
    # Nothing was written, and the server is healthy.
    assert server.get_json("/health") == {"status": "ok"}
    assert head(server) == 0
    assert server.get_json("/streams")["streams"] == []
    # And it still takes a good command.
    assert server.request("POST", f"/todo/{todo_id}", {"title": "fine"}).status == 201


# ---------------------------------------------------------------- across the session


@pytest.mark.last
def test_no_request_answered_5xx():
    """Every answer the browsers received in this session (read from Chrome's performance log)."""
    assert SEEN_RESPONSES, "no browser traffic was recorded"
    failures = [(url, status) for url, status in SEEN_RESPONSES if status >= 500]
    assert not failures, failures


def test_a_kurrentdb_clients_events_show_in_the_console_bytes_as_bytes(browser, tmp_path):
    """Events a KurrentDB client appends through `--grpc-port` are in the console: JSON as JSON, bytes as
    a hex dump with their content type, custom metadata beside them; the stream's name as the client
    chose it (spaces, `$`)."""
    from kurrentdbclient import KurrentDBClient, NewEvent, StreamState

    grpc_port = free_port()
    served = Server(tmp_path, extra_args=["--grpc-port", str(grpc_port)])
    served.start()
    client = KurrentDBClient(uri=f"kurrentdb://127.0.0.1:{grpc_port}?tls=false")
    try:
        stream = "order 7 $x"
        client.append_to_stream(
            stream, current_version=StreamState.NO_STREAM, timeout=10,
            events=[NewEvent(type="OrderPlaced", data=b'{"total": 12.5}'),
                    NewEvent(type="Receipt", data=bytes([0, 255, 1, 2]), content_type="application/octet-stream",
                             metadata=b"\x07meta")])
        page = AdminPage(browser, served).open(f"#/streams/{quote(stream, safe='')}")
        wait_until(lambda: [c["type"] for c in cards(page)] == ["OrderPlaced", "Receipt"], message="the client's events")
        json_card, bytes_card = page.find_all("#stream-events article.event")
        assert json.loads(json_card.find_element(By.CSS_SELECTOR, "pre.event-data").text) == {"total": 12.5}
        dump = bytes_card.find_element(By.CSS_SELECTOR, "pre.event-bytes.event-data").text
        assert dump.splitlines() == ["application/octet-stream, 4 bytes", "0000  00 ff 01 02"], dump
        custom = bytes_card.find_element(By.CSS_SELECTOR, "pre.event-custom-metadata").text
        assert custom.splitlines() == ["bytes, 5 bytes", "0000  07 6d 65 74 61"], custom
        assert bytes_card.find_element(By.CSS_SELECTOR, ".event-stream").text == stream
    finally:
        client.close()
        served.stop()
