#!/usr/bin/env python
"""The coverage page in a browser: time until the map has loaded and bytes transferred.

    .venv/bin/python bench/coverage_page.py http://127.0.0.1:8000 USER PASSWORD AREA [AREA ...]

Against a running server (``make run`` or gunicorn on the city database): signs in, opens
``/coverage/?area=AREA`` for each area in Debian's Chromium (headless), waits until the map
says ``data-loaded="true"``, and prints the time to the first byte of the page, the time until
loaded, the bytes of every response (bodies as sent) and the number of uncovered-household
markers drawn. Nothing is asserted: the figures are for the note.
"""

from __future__ import annotations

import sys
import time

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 600_000


def measure(base: str, username: str, password: str, areas: list[str]) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click(".gm-login-card button[type=submit]")
        page.wait_for_load_state()
        sizes: list[int] = []
        page.on(
            "requestfinished",
            lambda request: sizes.append(request.sizes()["responseBodySize"]),
        )
        for area in areas:
            sizes.clear()
            t0 = time.perf_counter()
            response = page.goto(f"/coverage/?area={area}", wait_until="commit")
            first_byte = time.perf_counter() - t0
            page.wait_for_selector("#coverage-map[data-loaded=true]", state="attached")
            loaded = time.perf_counter() - t0
            # The clusters' layer may land a little after the page says it has loaded.
            markers = None
            for _ in range(40):
                markers = page.get_attribute("#coverage-map", "data-cluster-markers")
                if markers is not None:
                    break
                page.wait_for_timeout(250)
            clusters = time.perf_counter() - t0
            errors = page.get_attribute("#coverage-map", "data-errors")
            heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0")
            print(
                f"coverage page {area}: status {response.status if response else '?'}, "
                f"first byte {first_byte:.2f} s, loaded {loaded:.2f} s, "
                f"{sum(sizes) / 1e6:.2f} MB in {len(sizes)} responses, "
                f"{markers} cluster markers (drawn at {clusters:.2f} s), {errors} layer errors, "
                f"JS heap {heap / 1e6:.1f} MB"
            )
        browser.close()


if __name__ == "__main__":
    if len(sys.argv) < 5:
        print(__doc__)
        raise SystemExit(2)
    measure(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
