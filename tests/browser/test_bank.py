"""The bank page in a real (headless) Chromium, and `chronicle send` against a running server's file."""

from __future__ import annotations

import json
import subprocess
import uuid

from selenium.webdriver.common.by import By

from conftest import CHRONICLE_BIN, Server, wait_until


def open_bank(browser, server: Server):
    browser.get(server.url + "/bank/")
    wait_until(lambda: browser.execute_script("return document.body.dataset.ready === 'true'"), message="the bank page's first read")


def submit(browser, form: str, button: str | None = None, **fields) -> None:
    for name, value in fields.items():
        field = browser.find_element(By.CSS_SELECTOR, f'#{form} input[name="{name}"]')
        field.clear()
        field.send_keys(value)
    selector = f'#{form} button[value="{button}"]' if button else f"#{form} button"
    browser.find_element(By.CSS_SELECTOR, selector).click()


def balances(browser) -> dict[str, str]:
    return {tr.find_elements(By.TAG_NAME, "td")[0].text: tr.find_elements(By.TAG_NAME, "td")[1].text
            for tr in browser.find_elements(By.CSS_SELECTOR, "#accounts tbody tr")}


def transfer_statuses(browser) -> list[str]:
    return [tr.find_elements(By.TAG_NAME, "td")[4].text for tr in browser.find_elements(By.CSS_SELECTOR, "#transfers tbody tr")]


def test_accounts_and_transfers_update_live(browser, server: Server):
    open_bank(browser, server)
    submit(browser, "create-form", account_id="alice")
    wait_until(lambda: balances(browser) == {"alice": "0.00"}, message="alice listed")
    submit(browser, "create-form", account_id="bob")
    submit(browser, "money-form", "DepositMoney", account_id="alice", amount="100")
    wait_until(lambda: balances(browser) == {"alice": "100.00", "bob": "0.00"}, message="the deposit shows")
    submit(browser, "transfer-form", from_account_id="alice", to_account_id="bob", amount="30.25")
    wait_until(lambda: transfer_statuses(browser) == ["completed"], message="the transfer completes")
    wait_until(lambda: balances(browser) == {"alice": "69.75", "bob": "30.25"}, message="the balances after the transfer")
    # A rule broken is said in words, and nothing changes.
    submit(browser, "create-form", account_id="alice")
    wait_until(lambda: "exists already" in browser.find_element(By.ID, "outcome").text)
    # Commands sent by someone else show up without a reload (the live feed).
    server.request("POST", "/commands/WithdrawMoney", {"account_id": "bob", "amount": "0.25"})
    wait_until(lambda: balances(browser).get("bob") == "30.00", message="another client's withdrawal shows live")
    server.request("POST", "/commands/TransferMoney",
                   {"transfer_id": "to-nowhere", "from_account_id": "alice", "to_account_id": "nobody", "amount": "1"})
    wait_until(lambda: "refunded" in " ".join(transfer_statuses(browser)), message="the refused transfer is refunded")
    assert balances(browser)["alice"] == "69.75"


def send(server: Server, type_: str, body: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHRONICLE_BIN), "send", type_, json.dumps(body), "--database", str(server.database)],
                          capture_output=True, text=True, timeout=60)


def test_chronicle_send_is_the_engines_repl(server: Server):
    """The engine's REPL session, through `chronicle send`, into the file a running server serves."""
    opened = send(server, "CreateAccount", {"account_id": "jsdf"})
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["events"] == ["AccountOpened"]
    for amount in (260, "40", 30):
        deposited = send(server, "DepositMoney", {"account_id": "jsdf", "amount": amount})
        assert deposited.returncode == 0 and json.loads(deposited.stdout)["events"] == ["MoneyDeposited"], deposited
    position = json.loads(deposited.stdout)["position"]
    assert server.get_json(f"/bank/accounts/jsdf?after={position}")["balance"] == "330.00"
    # Rejected: exit 1 and the rule.
    again = send(server, "CreateAccount", {"account_id": "jsdf"})
    assert again.returncode == 1 and json.loads(again.stdout)["error"] == "the account exists already"
    # A declined payment is accepted.
    declined = send(server, "WithdrawMoney", {"account_id": "jsdf", "amount": "1000"})
    assert declined.returncode == 0 and json.loads(declined.stdout)["events"] == ["PaymentDeclined"]
    # One command id, applied once.
    body = {"account_id": "jsdf", "amount": "0.50", "command_id": str(uuid.uuid4())}
    first, second = send(server, "DepositMoney", body), send(server, "DepositMoney", body)
    assert first.returncode == second.returncode == 0 and json.loads(first.stdout) == json.loads(second.stdout)
    # Not a command at all: a usage error, nothing stored.
    assert send(server, "OpenSesame", {}).returncode == 64
    assert send(server, "DebitAccount", {"account_id": "jsdf", "amount": 1, "transfer_id": "t"}).returncode == 64
    bad = subprocess.run([str(CHRONICLE_BIN), "send", "DepositMoney", "{not json", "--database", str(server.database)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 64 and "JSON object" in bad.stderr
    # A transfer sent from the command line is settled by the running server's process manager.
    send(server, "CreateAccount", {"account_id": "other"})
    sent = send(server, "TransferMoney", {"transfer_id": "cli-1", "from_account_id": "jsdf", "to_account_id": "other", "amount": "30"})
    assert sent.returncode == 0, sent.stderr
    wait_until(lambda: (a := server.request("GET", "/bank/transfers/cli-1")).status == 200 and a.json["status"] == "completed",
               timeout=10, message="the transfer sent from the command line completes")
    wait_until(lambda: server.get_json("/bank/accounts/other")["balance"] == "30.00", timeout=10)
    assert server.get_json("/bank/accounts/jsdf")["balance"] == "300.50"
