"""The playground page in a real browser: headless Chromium driven by Playwright.

`.ci/run` installs Debian's chromium; off CI the tests skip when it is not
there, on CI (CI=true) they never skip. One server and one browser for the
module: a test loads the page afresh.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(f"no browser at {CHROMIUM} (.ci/run installs it)", allow_module_level=True)

import uvicorn  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from rulec.dsl.sources import read_sources  # noqa: E402
from rulec.engine.vocabulary import DEFAULT_VOCABULARY  # noqa: E402
from rulec.web import Playground, create_app  # noqa: E402

RULES = """\
label Customer_VIP for customer

on order_created when customer has label Customer_VIP then discount 10% "VIP New Order Discount"
"""
SPRING = '\non order_created when order has coupon "SPRING10" then discount 10% "Spring sale"\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules")
    (folder / "shop.rules").write_text(RULES, encoding="utf-8")
    app = create_app(Playground(read_sources([folder]), DEFAULT_VOCABULARY))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):  # ready when it listens: at most 10 s
        if server.started or not thread.is_alive():
            break
        thread.join(0.01)
    assert server.started, "the playground's server did not start"
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    expect(page.locator("#basket-total")).to_be_visible()
    yield page
    context.close()
    assert errors == [], errors


def type_rules(page: Page, text: str) -> None:
    editor = page.locator("#rules")
    editor.fill(text[:-1])
    editor.press("End")
    editor.press_sequentially(text[-1])  # the last key typed, as a person would


class TestDiagnostics:
    def test_a_diagnostic_appears_at_its_line_and_goes_when_fixed(self, page: Page):
        type_rules(page, RULES.replace("then discount", "then discont"))
        problem = page.locator("#diagnostics li.error")
        expect(problem).to_have_count(1)
        expect(problem).to_have_attribute("data-code", "R202")
        expect(problem).to_have_attribute("data-line", "3")
        expect(problem).to_contain_text("3:60 R202 unknown action 'discont'")
        expect(problem).to_contain_text("did you mean 'discount'?")
        line = page.locator('#highlight .line[data-line="3"]')
        expect(line).to_have_class(re.compile(r"\bhas-error\b"))
        expect(line.locator(".sq-error")).to_have_text("discont")
        expect(page.locator("#summary")).to_have_text("1 error, 0 warnings")
        expect(page.locator("#decide-error")).to_contain_text("the rules have 1 error")

        type_rules(page, RULES)
        expect(page.locator("#diagnostics li.error")).to_have_count(0)
        expect(page.locator("#diagnostics li.none")).to_have_text("No problems in this file.")
        expect(page.locator("#highlight .has-error")).to_have_count(0)
        expect(page.locator("#summary")).to_have_text("0 errors, 0 warnings")

    def test_the_rules_have_colours(self, page: Page):
        line = page.locator('#highlight .line[data-line="3"]')
        expect(line.locator(".tk-keyword").first).to_have_text("on")
        expect(line.locator(".tk-event")).to_have_text("order_created")
        expect(line.locator(".tk-verb")).to_have_text("discount")
        expect(line.locator(".tk-string")).to_have_text('"VIP New Order Discount"')


class TestOrder:
    def test_an_order_gets_its_basket_and_every_rules_explanation(self, page: Page):
        page.fill('[name="customer.labels"]', "Customer_VIP")
        page.fill('[name="order.currency"]', "EUR")
        rows = page.locator('tr[data-member="item"]')
        rows.nth(0).locator('[name="item.quantity"]').fill("2")
        rows.nth(0).locator('[name="item.unit_price"]').fill("60.00")
        rows.nth(1).locator('[name="item.unit_price"]').fill("24.50")
        rows.nth(1).locator('[name="item.quantity"]').fill("1")
        expect(page.locator("#basket-subtotal")).to_have_text("144.50 EUR")
        expect(page.locator("#basket-total")).to_have_text("130.05 EUR")
        alert = page.locator("#basket-alert")
        expect(alert).to_have_class(re.compile(r"\balert-success\b"))
        expect(alert).to_have_text("VIP New Order Discount (10%): you save 14.45 EUR")
        discount = page.locator("#basket-figures tr.discount")
        expect(discount).to_have_text(re.compile(r"VIP New Order Discount \(10%\)\s*−14\.45 EUR"))
        expect(page.locator("#basket-figures tr.share")).to_have_count(2)
        expect(page.locator("#basket-figures tr.share").first).to_contain_text("−12.00 EUR")
        rule = page.locator('#explanation li[data-rule="shop.rules:3"]')
        expect(rule).to_have_attribute("data-status", "applied")
        expect(rule).to_contain_text("VIP New Order Discount: 10% off, 14.45 EUR")

        page.fill('[name="customer.labels"]', "Customer_New")
        expect(page.locator("#basket-total")).to_have_text("144.50 EUR")
        expect(page.locator("#basket-alert")).to_have_text("No discount applies to this order.")
        expect(rule).to_have_attribute("data-status", "not applicable")
        expect(rule).to_contain_text(
            "customer has label 'Customer_VIP' was false (customer labels: Customer_New)"
        )

        # a coupon code: typed in any case, told what became of it as a shop's basket tells it
        type_rules(page, RULES + SPRING)
        page.fill('[name="order.coupons"]', "spring10")
        expect(page.locator("#basket-total")).to_have_text("130.05 EUR")
        expect(page.locator("#basket-alert")).to_have_text("Spring sale (10%): you save 14.45 EUR")
        spring = page.locator('#basket-coupons li[data-code="SPRING10"]')
        expect(spring).to_have_attribute("data-reason-code", "applied")
        expect(spring).to_have_text("SPRING10 applied: Spring sale, −14.45 EUR (rule shop.rules:5)")
        page.fill('[name="order.coupons"]', "spring10 NOPE")
        nope = page.locator('#basket-coupons li[data-code="NOPE"]')
        expect(nope).to_have_text(
            "NOPE cannot be used: the code NOPE is not a promotion of this shop unknown"
        )
        expect(nope.locator(".reason-code")).to_have_text("unknown")
        expect(page.locator("#basket-coupons li")).to_have_count(2)
        expect(page.locator("#basket-total")).to_have_text("130.05 EUR")

    def test_the_order_form_has_the_shipping_and_the_basket_its_discount(self, page: Page):
        free = "\non order_created when order subtotal >= 50.00"
        free += ' then free shipping "Free shipping"\n'
        type_rules(page, RULES + free)
        page.fill('[name="customer.labels"]', "Customer_VIP")
        page.fill('[name="order.currency"]', "EUR")
        page.fill('[name="order.shipping"]', "4.95")
        rows = page.locator('tr[data-member="item"]')
        rows.nth(0).locator('[name="item.quantity"]').fill("1")
        rows.nth(0).locator('[name="item.unit_price"]').fill("35.50")  # and 24.50: 60.00
        expect(page.locator("#basket-subtotal")).to_have_text("60.00 EUR")
        expect(page.locator("#basket-shipping")).to_have_text("4.95 EUR")
        shipping = page.locator("#basket-figures tr.shipping-discount")
        expect(shipping).to_have_text(re.compile(r"Free shipping\s*−4\.95 EUR"))
        expect(page.locator("#basket-figures tr.discount")).to_have_count(1)  # the VIP's
        expect(page.locator("#basket-total")).to_have_text("54.00 EUR")
        expect(page.locator("#basket-alert")).to_have_text(
            "VIP New Order Discount + Free shipping: you save 6.00 EUR and 4.95 EUR on shipping"
        )

        rows.nth(0).locator('[name="item.unit_price"]').fill("15.50")  # 40.00: pays shipping
        expect(page.locator("#basket-figures tr.shipping-discount")).to_have_count(0)
        expect(page.locator("#basket-total")).to_have_text("40.95 EUR")

    def test_bad_facts_get_the_doors_error_on_the_page(self, page: Page):
        page.fill('[name="order.currency"]', "EURO")
        error = page.locator("#decide-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text("unknown currency 'EURO' in order.currency")
        page.fill('[name="order.currency"]', "EUR")
        expect(error).to_be_hidden()
