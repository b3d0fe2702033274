"""The TodoMVC page, driven in a real (headless) Chromium against a real `chronicle serve`.

Each test gets a fresh server and database; the page must render only what the server's board says,
so most tests check both the page and `GET /todos/board` (or the todo's stream of events).
"""

from __future__ import annotations

import datetime
import subprocess
import time
import uuid

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import TODO_BIN, TodoPage, wait_until


def today() -> str:
    return datetime.date.today().isoformat()


def stream_types(server, todo_id: str) -> list[str]:
    return [e["type"] for e in server.get_json(f"/streams/todo-{todo_id}")["events"]]


def board_by_title(server) -> dict[str, dict]:
    return {t["title"]: t for t in server.board()}


def set_value(driver, element, value: str) -> None:
    """Sets an input's value the way a user's typing would (a date input's text entry is locale-bound)."""
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        element, value)


def double_click(driver, element) -> None:
    ActionChains(driver).double_click(element).perform()


def li_classes(li) -> set[str]:
    return set((li.get_attribute("class") or "").split())


# ---------------------------------------------------------------- markup and adding


def test_markup_follows_todomvc_and_is_labelled(todo_page: TodoPage, server):
    server.add_todo("Write the spec")
    page = todo_page.open()
    d = page.driver
    assert page.find("section.todoapp header.header h1").text == "todos"
    new_todo = page.new_todo
    assert new_todo.get_attribute("placeholder") == "What needs to be done?"
    assert new_todo.get_attribute("autofocus") is not None
    assert d.switch_to.active_element == new_todo, "the new-todo input has focus on load"
    assert page.find("section.main input#toggle-all.toggle-all").get_attribute("type") == "checkbox"
    assert page.find("section.main label[for=toggle-all]")
    li = page.items()[0]
    view = li.find_element(By.CSS_SELECTOR, ":scope > div.view")
    assert view.find_element(By.CSS_SELECTOR, "input.toggle").get_attribute("type") == "checkbox"
    assert [label.text for label in li.find_elements(By.TAG_NAME, "label")] == ["Write the spec"], \
        "exactly one label per item, holding the title"
    assert view.find_element(By.CSS_SELECTOR, "button.destroy")
    assert li.find_element(By.CSS_SELECTOR, "input.edit")
    assert li.find_element(By.CSS_SELECTOR, "button.move-up").accessible_name == "Move up"
    assert page.find("footer.footer span.todo-count strong").text == "1"
    assert [a.get_dom_attribute("href") for a in page.find_all("ul.filters a")] == ["#/", "#/active", "#/completed"]
    # Every visible control has an accessible name and every button is a real <button>.
    for element in page.find_all("input, button, a, textarea"):
        if element.is_displayed():
            assert element.accessible_name.strip(), f"no accessible name: {element.get_attribute('outerHTML')[:120]}"
    for element in page.find_all("[role=button], .destroy, .move-up, .clear-completed, .details-toggle"):
        assert element.tag_name == "button"
    # No external resources: every script, stylesheet and image comes from this server.
    urls = d.execute_script(
        "return [...document.querySelectorAll('[src],[href]')].map(e => e.src || e.href)"
        ".concat(performance.getEntriesByType('resource').map(r => r.name))")
    assert urls and all(u.startswith(server.url) or u.startswith("data:") for u in urls), urls


def test_add_on_enter_trims_and_ignores_empty(todo_page: TodoPage, server):
    page = todo_page.open()
    assert not page.find("section.main").is_displayed(), "no list while the board is empty"
    assert not page.find("footer.footer").is_displayed()
    page.add("   Buy milk   ")
    assert page.titles() == ["Buy milk"]
    assert page.new_todo.get_attribute("value") == "", "the input is cleared after adding"
    assert [t["title"] for t in server.board()] == ["Buy milk"]
    page.new_todo.send_keys("     ", Keys.ENTER)  # blank: ignored
    page.add("<b>not bold</b>")
    assert page.titles() == ["Buy milk", "<b>not bold</b>"], "titles are text, never HTML"
    assert page.find_all("ul.todo-list b") == []
    assert [t["title"] for t in server.board()] == ["Buy milk", "<b>not bold</b>"]
    assert page.find("section.main").is_displayed() and page.find("footer.footer").is_displayed()


# ---------------------------------------------------------------- editing


def test_double_click_edit_enter_saves(todo_page: TodoPage, server):
    todo_id = server.add_todo("Draft")
    page = todo_page.open()
    double_click(page.driver, page.item("Draft").find_element(By.TAG_NAME, "label"))
    li = page.item("Draft")
    assert "editing" in li_classes(li)
    edit = li.find_element(By.CSS_SELECTOR, "input.edit")
    assert edit.is_displayed() and page.driver.switch_to.active_element == edit
    assert edit.get_attribute("value") == "Draft"
    edit.send_keys(Keys.CONTROL, "a")
    edit.send_keys("  Final version ", Keys.ENTER)
    page.wait_titles(["Final version"])
    assert "editing" not in li_classes(page.items()[0])
    wait_until(lambda: board_by_title(server).get("Final version"))
    assert stream_types(server, todo_id) == ["TodoAdded", "TodoAmended"], "one amend, not two (Enter then blur)"


def test_edit_blur_saves(todo_page: TodoPage, server):
    server.add_todo("Before")
    page = todo_page.open()
    double_click(page.driver, page.item("Before").find_element(By.TAG_NAME, "label"))
    edit = page.item("Before").find_element(By.CSS_SELECTOR, "input.edit")
    edit.send_keys(" and after")
    page.new_todo.click()  # focus elsewhere
    page.wait_titles(["Before and after"])
    wait_until(lambda: [t["title"] for t in server.board()] == ["Before and after"])
    assert page.driver.switch_to.active_element == page.new_todo, "saving on blur leaves focus where the user put it"


def test_edit_escape_cancels(todo_page: TodoPage, server):
    todo_id = server.add_todo("Keep me")
    page = todo_page.open()
    double_click(page.driver, page.item("Keep me").find_element(By.TAG_NAME, "label"))
    edit = page.item("Keep me").find_element(By.CSS_SELECTOR, "input.edit")
    edit.send_keys(" CHANGED")
    edit.send_keys(Keys.ESCAPE)
    wait_until(lambda: "editing" not in li_classes(page.items()[0]))
    assert page.titles() == ["Keep me"]
    # Nothing was sent: a command with the same title would show up as a later board read.
    page.add("Marker")
    assert [t["title"] for t in server.board()] == ["Keep me", "Marker"]
    assert stream_types(server, todo_id) == ["TodoAdded"]


def test_edit_to_empty_abandons(todo_page: TodoPage, server):
    todo_id = server.add_todo("Doomed")
    server.add_todo("Survivor")
    page = todo_page.open()
    double_click(page.driver, page.item("Doomed").find_element(By.TAG_NAME, "label"))
    edit = page.item("Doomed").find_element(By.CSS_SELECTOR, "input.edit")
    edit.send_keys(Keys.CONTROL, "a")
    edit.send_keys(Keys.BACKSPACE, "   ", Keys.ENTER)
    page.wait_titles(["Survivor"])
    assert [t["title"] for t in server.board()] == ["Survivor"]
    assert stream_types(server, todo_id) == ["TodoAdded", "TodoAbandoned"]
    assert server.get_json(f"/streams/todo-{todo_id}")["events"][-1]["data"]["abandoned_on"] == today()


# ---------------------------------------------------------------- completing


def test_toggle_completes_and_reopens(todo_page: TodoPage, server):
    todo_id = server.add_todo("Ship it")
    page = todo_page.open()
    page.item("Ship it").find_element(By.CSS_SELECTOR, "input.toggle").click()
    wait_until(lambda: "completed" in li_classes(page.item("Ship it")))
    assert page.item("Ship it").find_element(By.CSS_SELECTOR, "input.toggle").is_selected()
    todo = server.board()[0]
    assert todo["completed"] is True and todo["completed_on"] == today()
    assert page.count_text() == "0 items left"
    page.item("Ship it").find_element(By.CSS_SELECTOR, "input.toggle").click()
    wait_until(lambda: "completed" not in li_classes(page.item("Ship it")))
    assert server.board()[0]["completed"] is False
    assert stream_types(server, todo_id) == ["TodoAdded", "TodoCompleted", "TodoReopened"]
    assert page.count_text() == "1 item left"


def test_toggle_all(todo_page: TodoPage, server):
    for title in ("One", "Two", "Three"):
        server.add_todo(title)
    server.todo_command(server.board()[1]["todo_id"], "complete", {"completed_on": today()})
    page = todo_page.open()
    wait_until(lambda: len(page.find_all("li.completed")) == 1)
    toggle_all = page.find("#toggle-all")
    assert not toggle_all.is_selected()
    page.find("label[for=toggle-all]").click()
    wait_until(lambda: len(page.find_all("li.completed")) == 3)
    wait_until(lambda: all(t["completed"] for t in server.board()))
    assert page.find("#toggle-all").is_selected()
    assert page.count_text() == "0 items left"
    page.find("label[for=toggle-all]").click()
    wait_until(lambda: len(page.find_all("li.completed")) == 0)
    wait_until(lambda: not any(t["completed"] for t in server.board()))
    assert not page.find("#toggle-all").is_selected()
    assert page.count_text() == "3 items left"


def test_destroy_abandons_outstanding_and_clears_completed(todo_page: TodoPage, server):
    open_id = server.add_todo("Outstanding")
    done_id = server.add_todo("Done")
    server.add_todo("Stays")
    server.todo_command(done_id, "complete", {"completed_on": today()})
    page = todo_page.open()
    wait_until(lambda: "completed" in li_classes(page.item("Done")))
    page.item("Outstanding").find_element(By.CSS_SELECTOR, "button.destroy").click()
    page.wait_titles(["Done", "Stays"])
    page.item("Done").find_element(By.CSS_SELECTOR, "button.destroy").click()
    page.wait_titles(["Stays"])
    assert [t["title"] for t in server.board()] == ["Stays"]
    assert stream_types(server, open_id)[-1] == "TodoAbandoned"
    assert stream_types(server, done_id)[-1] == "TodoCleared"
    # A cleared todo is still a completed one; an abandoned todo is in no list.
    assert [t["title"] for t in server.get_json("/todos/completed")] == ["Done"]


def test_clear_completed(todo_page: TodoPage, server):
    ids = [server.add_todo(t) for t in ("A", "B", "C")]
    page = todo_page.open()
    clear = page.find("button.clear-completed")
    assert not clear.is_displayed(), "hidden while nothing is completed"
    for title in ("A", "C"):
        page.item(title).find_element(By.CSS_SELECTOR, "input.toggle").click()
        wait_until(lambda title=title: "completed" in li_classes(page.item(title)))
    wait_until(lambda: page.find("button.clear-completed").is_displayed())
    page.find("button.clear-completed").click()
    page.wait_titles(["B"])
    assert not page.find("button.clear-completed").is_displayed()
    assert [t["title"] for t in server.board()] == ["B"]
    assert stream_types(server, ids[0])[-1] == "TodoCleared" and stream_types(server, ids[2])[-1] == "TodoCleared"


def test_counter_text(todo_page: TodoPage, server):
    page = todo_page.open()
    page.add("First")
    assert page.count_text() == "1 item left"
    wait_until(lambda: page.find(".todo-count strong").text == "1")
    page.add("Second")
    wait_until(lambda: page.count_text() == "2 items left")
    page.item("First").find_element(By.CSS_SELECTOR, "input.toggle").click()
    wait_until(lambda: page.count_text() == "1 item left")
    page.item("Second").find_element(By.CSS_SELECTOR, "input.toggle").click()
    wait_until(lambda: page.count_text() == "0 items left")


def test_filters_routes_and_selected(todo_page: TodoPage, server):
    server.add_todo("Open one")
    done = server.add_todo("Closed one")
    server.todo_command(done, "complete", {"completed_on": today()})
    page = todo_page.open()
    wait_until(lambda: len(page.find_all("li.completed")) == 1)

    def selected():
        return [a.text for a in page.find_all("ul.filters a.selected")]

    assert selected() == ["All"] and page.titles() == ["Open one", "Closed one"]
    page.driver.find_element(By.LINK_TEXT, "Active").click()
    wait_until(lambda: page.driver.current_url.endswith("#/active"))
    page.wait_titles(["Open one"])
    assert selected() == ["Active"]
    page.driver.find_element(By.LINK_TEXT, "Completed").click()
    wait_until(lambda: page.driver.current_url.endswith("#/completed"))
    page.wait_titles(["Closed one"])
    assert selected() == ["Completed"]
    # The route survives a reload, and the back button goes to the previous filter.
    page.driver.refresh()
    page.wait_titles(["Closed one"])
    assert selected() == ["Completed"]
    page.driver.back()
    page.wait_titles(["Open one"])
    assert selected() == ["Active"]
    page.driver.find_element(By.LINK_TEXT, "All").click()
    wait_until(lambda: page.driver.current_url.endswith("#/"))
    page.wait_titles(["Open one", "Closed one"])
    assert selected() == ["All"]
    # Completing under a filter moves the item out of it.
    page.driver.find_element(By.LINK_TEXT, "Active").click()
    page.wait_titles(["Open one"])
    page.item("Open one").find_element(By.CSS_SELECTOR, "input.toggle").click()
    page.wait_titles([])


# ---------------------------------------------------------------- the extra fields


def test_extra_fields_on_add_and_by_amend(todo_page: TodoPage, server):
    page = todo_page.open()
    d = page.driver
    page.find("button.more-toggle").click()
    wait_until(lambda: page.find("#new-description").is_displayed())
    assert page.find("button.more-toggle").get_attribute("aria-expanded") == "true"
    page.find("#new-description").send_keys("Two litres, semi-skimmed")
    set_value(d, page.find("#new-due-date"), "2031-05-17")
    page.find("#new-stakeholder-email").send_keys("ann@example.com")
    page.add("Milk")
    li = page.item("Milk")
    assert li.find_element(By.CSS_SELECTOR, ".meta .description").text == "Two litres, semi-skimmed"
    assert li.find_element(By.CSS_SELECTOR, ".meta .due-date").text == "Due 2031-05-17"
    assert li.find_element(By.CSS_SELECTOR, ".meta .stakeholder-email").text == "For ann@example.com"
    assert page.find("#new-description").get_attribute("value") == "", "the optional fields are cleared too"
    todo = server.board()[0]
    assert (todo["description"], todo["due_date"], todo["stakeholder_email"]) == \
        ("Two litres, semi-skimmed", "2031-05-17", "ann@example.com")

    # Amend through the details form: change the due date and email, clear the description.
    li.find_element(By.CSS_SELECTOR, "button.details-toggle").click()
    form = wait_until(lambda: page.item("Milk").find_element(By.CSS_SELECTOR, "form.details"))
    wait_until(form.is_displayed)
    assert page.item("Milk").find_element(By.CSS_SELECTOR, "button.details-toggle").get_attribute("aria-expanded") == "true"
    assert form.find_element(By.CSS_SELECTOR, ".details-due-date").get_attribute("value") == "2031-05-17"
    form.find_element(By.CSS_SELECTOR, ".details-description").clear()
    set_value(d, form.find_element(By.CSS_SELECTOR, ".details-due-date"), "2032-01-02")
    email = form.find_element(By.CSS_SELECTOR, ".details-stakeholder-email")
    email.clear()
    email.send_keys("bob@example.com")
    form.find_element(By.CSS_SELECTOR, "button.details-save").click()
    wait_until(lambda: server.board()[0]["due_date"] == "2032-01-02")
    todo = server.board()[0]
    assert todo["description"] is None, "an emptied field is cleared (null), not set to ''"
    assert todo["stakeholder_email"] == "bob@example.com"
    assert todo["title"] == "Milk"
    wait_until(lambda: not page.item("Milk").find_element(By.CSS_SELECTOR, "form.details").is_displayed())
    amend = server.get_json(f"/streams/todo-{todo['todo_id']}")["events"][-1]
    assert amend["type"] == "TodoAmended"
    assert "title" not in amend["data"] or amend["data"]["title"] is None, "only changed fields are sent"

    # Still there after a reload.
    d.refresh()
    page.wait_titles(["Milk"])
    li = page.item("Milk")
    assert li.find_element(By.CSS_SELECTOR, ".meta .due-date").text == "Due 2032-01-02"
    assert li.find_element(By.CSS_SELECTOR, ".meta .stakeholder-email").text == "For bob@example.com"
    assert li.find_elements(By.CSS_SELECTOR, ".meta .description") == []


def test_move_up_changes_order(todo_page: TodoPage, server):
    for title in ("A", "B", "C"):
        server.add_todo(title)
    page = todo_page.open()
    page.wait_titles(["A", "B", "C"])
    assert not page.item("A").find_element(By.CSS_SELECTOR, "button.move-up").is_enabled(), \
        "the first item has nowhere to go"
    page.item("C").find_element(By.CSS_SELECTOR, "button.move-up").click()
    page.wait_titles(["A", "C", "B"])
    assert [t["title"] for t in server.board()] == ["A", "C", "B"]
    page.item("C").find_element(By.CSS_SELECTOR, "button.move-up").click()
    page.wait_titles(["C", "A", "B"])
    assert [t["title"] for t in server.board()] == ["C", "A", "B"]
    # Completed todos offer no move-up.
    page.item("B").find_element(By.CSS_SELECTOR, "input.toggle").click()
    wait_until(lambda: not page.item("B").find_element(By.CSS_SELECTOR, "button.move-up").is_displayed())


# ---------------------------------------------------------------- rejections


def test_rejected_amend_is_shown(todo_page: TodoPage, server):
    """The details form is open with a draft when someone else completes the todo: Save is refused."""
    todo_id = server.add_todo("Report")
    page = todo_page.open()
    page.item("Report").find_element(By.CSS_SELECTOR, "button.details-toggle").click()
    form = page.item("Report").find_element(By.CSS_SELECTOR, "form.details")
    wait_until(form.is_displayed)
    form.find_element(By.CSS_SELECTOR, ".details-description").send_keys("Quarterly numbers")
    assert server.todo_command(todo_id, "complete", {"completed_on": today()}).status == 200
    page.item("Report").find_element(By.CSS_SELECTOR, "button.details-save").click()
    error = wait_until(lambda: page.error_text(), message="the rejection to be shown")
    assert "is complete" in error and "Report" in error, error
    assert page.find("div.error").get_attribute("role") == "alert"
    # The board was re-read: the page now shows the todo as completed, and nothing was amended.
    wait_until(lambda: "completed" in li_classes(page.item("Report")))
    assert server.board()[0]["description"] is None
    # Dismissing hides it.
    page.find("button.error-dismiss").click()
    wait_until(lambda: page.error_text() == "")


def test_rejected_inline_edit_is_shown(todo_page: TodoPage, server):
    todo_id = server.add_todo("Stale")
    page = todo_page.open()
    double_click(page.driver, page.item("Stale").find_element(By.TAG_NAME, "label"))
    edit = page.item("Stale").find_element(By.CSS_SELECTOR, "input.edit")
    server.todo_command(todo_id, "abandon", {"abandoned_on": today()})
    edit.send_keys(" but renamed", Keys.ENTER)
    error = wait_until(lambda: page.error_text(), message="the rejection to be shown")
    assert "abandoned" in error, error
    page.wait_titles([])


def test_invalid_due_date_is_rejected_visibly(todo_page: TodoPage, server):
    page = todo_page.open()
    page.find("button.more-toggle").click()
    # A date input only holds valid dates, so make it a text input as an old browser would have it.
    d = page.driver
    due = page.find("#new-due-date")
    d.execute_script("arguments[0].type = 'text'", due)
    due.send_keys("2031-02-30")
    page.new_todo.send_keys("Impossible", Keys.ENTER)
    error = wait_until(lambda: page.error_text(), message="the rejection to be shown")
    assert "due_date" in error, error
    assert server.board() == []
    assert page.new_todo.get_attribute("value") == "Impossible", "a refused add keeps what was typed"


# ---------------------------------------------------------------- keyboard


def test_keyboard_only(todo_page: TodoPage, server):
    page = todo_page.open()
    d = page.driver
    page.add("By keyboard")
    # Tab from the new-todo input to the item's checkbox, then Space completes it.
    for _ in range(12):
        ActionChains(d).send_keys(Keys.TAB).perform()
        if "toggle" in (d.switch_to.active_element.get_attribute("class") or "").split():
            break
    else:
        pytest.fail("the item's checkbox is not reachable with Tab")
    ActionChains(d).send_keys(Keys.SPACE).perform()
    wait_until(lambda: "completed" in li_classes(page.item("By keyboard")))
    # Focus is visible on a keyboard-focused button.
    ActionChains(d).send_keys(Keys.TAB).perform()
    focused = d.switch_to.active_element
    assert focused.tag_name == "button"
    outline = d.execute_script("return getComputedStyle(arguments[0]).outlineStyle", focused)
    assert outline not in ("none", ""), outline


# ---------------------------------------------------------------- persistence


def test_persists_across_reload_and_server_restart(todo_page: TodoPage, server):
    page = todo_page.open()
    page.add("Survives")
    page.add("Also done")
    page.item("Also done").find_element(By.CSS_SELECTOR, "input.toggle").click()
    wait_until(lambda: "completed" in li_classes(page.item("Also done")))
    page.driver.refresh()
    page.wait_titles(["Survives", "Also done"])
    assert "completed" in li_classes(page.item("Also done"))

    server.restart()
    page.open()
    page.wait_titles(["Survives", "Also done"])
    assert "completed" in li_classes(page.item("Also done"))
    assert not ("completed" in li_classes(page.item("Survives")))
    assert page.count_text() == "1 item left"
    # And the restarted server takes commands from the page.
    page.add("After restart")
    assert [t["title"] for t in server.board()] == ["Survives", "Also done", "After restart"]


# ---------------------------------------------------------------- live updates


def test_change_in_another_tab_shows_within_a_second(todo_page: TodoPage, server, second_browser):
    first = todo_page.open()
    second = TodoPage(second_browser, server).open()
    first.add("From tab one", wait=False)
    started = time.monotonic()
    second.wait_titles(["From tab one"], timeout=1.0)
    wait_until(lambda: first.titles() == ["From tab one"])

    second.item("From tab one").find_element(By.CSS_SELECTOR, "input.toggle").click()
    wait_until(lambda: "completed" in li_classes(first.item("From tab one")), timeout=1.0,
               message="the completion made in tab two to show in tab one")
    assert time.monotonic() - started < 10


def test_change_from_the_cli_shows_within_a_second(todo_page: TodoPage, server):
    page = todo_page.open()
    todo_id = str(uuid.uuid4())
    result = subprocess.run(
        [str(TODO_BIN), "add", "--url", server.url, "-i", todo_id, "-t", "From CLI"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    page.wait_titles(["From CLI"], timeout=1.0)


def test_live_updates_resume_after_a_server_restart(todo_page: TodoPage, server):
    page = todo_page.open()
    server.add_todo("Before restart")
    page.wait_titles(["Before restart"], timeout=1.0)
    server.restart()
    server.add_todo("After restart")
    # EventSource reconnects on its own (after its retry delay), then catches up.
    page.wait_titles(["Before restart", "After restart"], timeout=10)
