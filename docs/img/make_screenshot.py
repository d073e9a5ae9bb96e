"""Take docs/img/playground.png: the playground page over the shipped rules, in headless Chromium.

    .venv/bin/python docs/img/make_screenshot.py [--chromium /usr/bin/chromium]

The page shows a VIP's order of two lines and, in vip.rules, a rule whose
conditions contradict each other (R307), so the picture has a diagnostic,
the green basket and the explanation.
"""

from __future__ import annotations

import argparse
import socket
import threading
from pathlib import Path

import uvicorn
from playwright.sync_api import expect, sync_playwright

import rulec
from rulec.dsl.sources import read_sources
from rulec.engine.vocabulary import DEFAULT_VOCABULARY
from rulec.web import Playground, create_app

OUT = Path(__file__).with_name("playground.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    app = create_app(Playground(read_sources([rulec.shipped_rules()]), DEFAULT_VOCABULARY))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.01)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            expect(page.locator("#basket-total")).to_be_visible()
            # a second rule the checker warns about, to show a diagnostic in the text
            editor = page.locator("#rules")
            text = editor.input_value().replace(
                "\ntest ",
                "\non order_created when order subtotal >= 500.00 and order subtotal < 100.00"
                ' then discount 5% "Big order"\n\ntest ',
                1,
            )
            page.fill('[name="order.created_at"]', "2026-12-01T09:12:00+01:00")
            editor.fill(text)
            expect(page.locator("#diagnostics li.warning")).to_have_count(1)
            expect(page.locator("#basket-total")).to_have_text("130.05 EUR")
            expect(page.locator('#explanation li[data-rule="vip.rules:9"]')).to_be_visible()
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
