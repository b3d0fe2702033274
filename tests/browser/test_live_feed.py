"""Every page follows the live feed through the one script ChronicleHTTP serves, from the head or the
position it has shown: a page load never replays the log, and no public page calls the admin API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from conftest import Server, drain_responses, wait_until


def test_no_page_load_replays_the_log(browser, server: Server):
    for n in range(5):
        server.add_todo(f"already in the log {n}")
    head = server.get_json("/events/head")["position"]
    assert head >= 5
    for path in ["/", "/bank/", "/pizza/", "/cart/", "/admin/"]:
        drain_responses(browser)
        browser.get(server.url + path)
        seen: list[tuple[str, int]] = []

        def live_opened() -> bool:
            seen.extend(drain_responses(browser))
            return any("/events/live" in url for url, _ in seen)

        wait_until(live_opened, timeout=10, message=f"{path} opens the live feed")
        urls = [url for url, _ in seen]
        assert any(url.endswith("/chronicle/live.js") for url in urls), f"{path} loads the shared script: {urls}"
        for url in urls:
            if "/events/live" in url:
                after = parse_qs(urlparse(url).query).get("after", [""])[0]
                assert after == "head" or (after.isdigit() and int(after) >= head), f"{path} replays the log: {url}"
            if path != "/admin/":
                assert "/admin/api/" not in url, f"the public page {path} calls the admin API: {url}"
