"""The pizza page and the cart page in a real (headless) Chromium."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import Server, wait_until


def ready(browser, path: str, server: Server) -> None:
    browser.get(server.url + path)
    wait_until(lambda: browser.execute_script("return document.body.dataset.ready === 'true'"), message=f"{path} read")


def statuses(browser) -> list[str]:
    return [li.find_element(By.CSS_SELECTOR, ".status").text for li in browser.find_elements(By.CSS_SELECTOR, "#orders li")]


def test_a_pizza_moves_through_its_statuses_live(browser, server: Server):
    ready(browser, "/pizza/", server)
    customer = browser.find_element(By.ID, "customer-id").text
    assert customer
    wait_until(lambda: len(Select(browser.find_element(By.ID, "sauce")).options) > 1, message="the menu")
    Select(browser.find_element(By.ID, "sauce")).select_by_value("pesto")
    browser.find_element(By.CSS_SELECTOR, '#extra_toppings input[value="olives"]').click()
    browser.find_element(By.CSS_SELECTOR, "#order-form button").click()
    seen: set[str] = set()

    def delivered() -> bool:
        current = statuses(browser)
        seen.update(current)
        return current == ["delivered"]

    wait_until(delivered, timeout=15, interval=0.05, message="the order delivered")
    assert {"baking", "out for delivery"} & seen, f"the page showed the order moving: {seen}"
    text = browser.find_element(By.CSS_SELECTOR, "#orders li").text
    assert "pesto" in text and "olives" in text
    # Another customer's orders are not shown; this customer's are (via the API, with the page's id).
    orders = server.get_json(f"/pizza/customers/{customer}/orders")
    assert len(orders) == 1 and orders[0]["status"] == "delivered"
    assert server.get_json("/pizza/customers/someone-else/orders") == []
    # An order off the menu is taken (stored first), then rejected with the reasons.
    server.request("POST", "/pizza/orders", {"customer_id": customer, "sauce": "ketchup", "cheese": "", "main_topping": "",
                                             "extra_toppings": []})
    wait_until(lambda: statuses(browser)[:1] == ["rejected"], message="the rejected order shows live")
    assert "unknown sauce: ketchup" in browser.find_element(By.CSS_SELECTOR, "#orders li .reasons").text


def lists(browser, selector: str) -> list[str]:
    return [li.text for li in browser.find_elements(By.CSS_SELECTOR, f"{selector} li")]


def test_the_cart_page_shows_both_departments(browser, server: Server):
    ready(browser, "/cart/", server)
    cart = browser.find_element(By.ID, "cart-id")
    cart.clear()
    cart.send_keys("c1")

    def act(product: str, action: str) -> None:
        field = browser.find_element(By.ID, "product-id")
        field.clear()
        field.send_keys(product)
        browser.find_element(By.CSS_SELECTOR, f'#cart-form button[value="{action}"]').click()

    def events() -> int:
        answer = server.request("GET", "/streams/cart-c1")
        return len(answer.json["events"]) if answer.status == 200 else 0

    act("socks", "add")
    wait_until(lambda: events() == 1, message="socks added")
    act("hat", "add")
    wait_until(lambda: events() == 2, message="hat added")
    act("socks", "remove")
    wait_until(lambda: lists(browser, "#marketing") == ["socks: removed 1 time"], message="marketing sees the removal")
    act("", "checkout")
    wait_until(lambda: lists(browser, "#warehouse") == ["c1: 1 × hat"], message="the warehouse sees the order")
    # A refusal is said in words.
    act("gloves", "add")
    wait_until(lambda: "checked out" in browser.find_element(By.ID, "outcome").text)
    # Another shopper's removal shows without a reload.
    server.request("POST", "/cart/c2/items", {"product_id": "socks", "quantity": 1})
    server.request("DELETE", "/cart/c2/items/socks")
    wait_until(lambda: lists(browser, "#marketing") == ["socks: removed 2 times"], message="live")
