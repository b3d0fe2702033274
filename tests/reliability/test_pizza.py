"""The pizza pipeline under kill -9: every order still reaches `delivered` exactly once, and the courier
is never told twice.

Orders (a few of them off the menu, so rejected) are placed by 3 clients while `serve` is killed at
random moments and started again; each kitchen step takes 100 ms, so kills land in every step: while a
command is being sent, between sending it and the process manager's commit, while the courier reactor
writes its message. Afterwards, from the log and the courier's file:
- every acknowledged order exists; every order stored (also those whose answer the kill swallowed) is
  settled: validated orders delivered exactly once, through each step once and in order; off-menu ones
  rejected once, and never cooked;
- the courier got exactly one message per order that went out for delivery, none for any other.
"""

from __future__ import annotations

import json
import random
import threading
import time

from harness import profile, read_log, request, seed, wait_until

STEPS = ["OrderRequested", "OrderValidated", "OrderAssemblyStarted", "OrderBakingStarted", "OrderOutForDelivery", "OrderDelivered"]


def read_courier(path) -> list[dict]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_every_pizza_is_delivered_once_under_kill9(servers, figures):
    p = profile()
    rng = random.Random(seed() + 303)
    server = servers("pizza", extra_args=("--pizza-step-ms", "100"))
    courier = server.database.with_suffix(".courier")
    server.start()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    plan = []
    for n in range(p["pizza_orders"]):
        off_menu = rng.random() < 0.1
        plan.append({"customer_id": f"cust-{n % 7}", "sauce": "ketchup" if off_menu else "tomato", "cheese": "mozzarella",
                     "main_topping": rng.choice(["margherita", "pepperoni", "mushroom"]), "extra_toppings": ["basil"]})
    todo = list(reversed(plan))

    def client():
        while not stop.is_set():
            with lock:
                if not todo:
                    return
                body = todo.pop()
            while not stop.is_set():
                answer = request(server.port, "POST", "/pizza/orders", body, timeout=15)
                if answer.status == 202:
                    with lock:
                        acknowledged.append(answer.json["order_id"])
                    # Paced, so that orders keep arriving while the kills land.
                    time.sleep(0.05)
                    break
                if answer.status and answer.status < 500 and not answer.error:
                    figures.violation(f"an order was answered {answer.status}: {answer.body[:200]!r}")
                    break
                # No answer (the server died): the order may or may not be stored; place it again.
                time.sleep(0.05)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    kills = 0
    try:
        while kills < p["pizza_kills"]:
            time.sleep(rng.uniform(0.3, 1.2))
            server.kill9()
            server.start()
            kills += 1
        for thread in threads:
            thread.join(timeout=120)
    finally:
        stop.set()
    figures["kills"] = kills
    figures["orders_acknowledged"] = len(acknowledged)

    def streams() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for event in read_log(server.port):
            if event["stream"].startswith("pizza-"):
                found.setdefault(event["stream"][len("pizza-"):], []).append(event["type"])
        return found

    def settled():
        found = streams()
        return all(types[-1] in ("OrderDelivered", "OrderRejected") for types in found.values()) and found

    try:
        orders = wait_until(settled, timeout=120, interval=0.5, message="every order delivered or rejected")
    except TimeoutError:
        orders = streams()
        stuck = {k: v[-1] for k, v in orders.items() if v[-1] not in ("OrderDelivered", "OrderRejected")}
        figures.violation(f"{len(stuck)} order(s) never settled: {list(stuck.items())[:5]}")
    figures["orders_stored"] = len(orders)
    figures["events"] = sum(len(v) for v in orders.values())
    for order_id in acknowledged:
        if order_id not in orders:
            figures.violation(f"acknowledged order {order_id} is not in the log")
    delivered = 0
    for order_id, types in orders.items():
        if types == STEPS:
            delivered += 1
        elif types != ["OrderRequested", "OrderRejected"]:
            figures.violation(f"order {order_id} went {types}")
    figures["orders_delivered"] = delivered
    messages = read_courier(courier)
    figures["courier_messages"] = len(messages)
    subjects = [m["mail"]["subject"] for m in messages]
    if len(set(subjects)) != len(subjects):
        figures.violation(f"the courier was told twice: {len(subjects) - len(set(subjects))} repeated message(s)")
    expected = {f"Deliver pizza order {k}" for k, v in orders.items() if "OrderOutForDelivery" in v}
    if set(subjects) != expected:
        figures.violation(f"courier messages for {len(set(subjects))} orders, {len(expected)} went out for delivery")
    figures.assert_clean()
