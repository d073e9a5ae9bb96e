"""The playground's JSON API over HTTP: what the page asks and what it is told."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import rulec
from rulec.dsl.parser import MAX_FILE_BYTES
from rulec.dsl.sources import read_sources
from rulec.engine.vocabulary import DEFAULT_VOCABULARY
from rulec.web import Playground, create_app
from rulec.web.app import MAX_BODY

SHIPPED = rulec.shipped_rules()
VIP_PATH = str(Path(SHIPPED) / "vip.rules")
VIP_TEXT = (SHIPPED / "vip.rules").read_text(encoding="utf-8")

ORDER = {
    "customer": {"labels": ["Customer_VIP"], "order_count": 3},
    "order": {"currency": "EUR", "created_at": "2026-12-01T09:12:00+01:00"},
    "item": [
        {"name": "Photo book", "unit_price": "60.00", "quantity": 2},
        {"name": "Wedding album", "unit_price": "24.50", "quantity": 1},
    ],
}


@pytest.fixture(scope="module")
def client():
    playground = Playground(read_sources([SHIPPED]), DEFAULT_VOCABULARY)
    with TestClient(create_app(playground), base_url="http://127.0.0.1") as c:
        yield c


def decide(client, order=ORDER, text=VIP_TEXT, event="order_created"):
    return client.post(
        "/api/decide", json={"path": VIP_PATH, "text": text, "event": event, "order": order}
    )


class TestSetup:
    def test_the_files_and_the_order_events_with_their_fields(self, client):
        got = client.get("/api/setup").json()
        assert {f["name"] for f in got["files"]} == {p.name for p in SHIPPED.glob("*.rules")}
        assert [e["name"] for e in got["events"]] == ["order_created", "order_updated"]
        entities = {e["name"]: e for e in got["events"][0]["entities"]}
        assert entities["item"]["many"] and entities["customer"]["optional"]
        subtotal = next(f for f in entities["order"]["fields"] if f["name"] == "subtotal")
        assert subtotal == {
            "name": "subtotal",
            "type": "money",
            "description": "the order's undiscounted subtotal",
            "values": [],
            "derived": "the lines' totals, when there are lines",
        }
        assert got["stored"] is None and got["max_bytes"] == MAX_FILE_BYTES
        # the form asks for codes where the vocabulary says an entity carries them
        assert {n: e["coupons"] for n, e in entities.items()} == {
            "order": True,
            "customer": False,
            "agent": False,
            "item": False,
        }

    def test_the_page_and_its_files_are_served(self, client):
        page = client.get("/")
        assert page.status_code == 200 and "rulec playground" in page.text
        for name in ("playground.js", "playground.css"):
            assert client.get(f"/static/{name}").status_code == 200


class TestCheck:
    def test_a_misspelt_action_is_the_checkers_diagnostic(self, client):
        text = VIP_TEXT.replace("then discount", "then discont")
        got = client.post("/api/check", json={"path": VIP_PATH, "text": text}).json()
        assert got["diagnostics"] == [
            {
                "path": VIP_PATH,
                "line": 7,
                "column": 60,
                "end_line": 7,
                "end_column": 67,
                "code": "R202",
                "severity": "error",
                "message": "unknown action 'discont'",
                "suggestion": "did you mean 'discount'?",
            }
        ]
        assert (got["errors"], got["summary"]) == (1, "1 error, 0 warnings")
        assert [(d["code"], d["line"], d["column"]) for d in got["diagnostics"]] == [
            d.check_tuple() for d in rulec.check_paths([SHIPPED]) + rulec.check_text(text)
        ]

    def test_labels_declared_in_another_file_resolve(self, client):
        orders = str(Path(SHIPPED) / "orders.rules")
        text = (SHIPPED / "orders.rules").read_text(encoding="utf-8")
        got = client.post("/api/check", json={"path": orders, "text": text}).json()
        assert got["errors"] == 0, got

    def test_the_file_on_the_page_is_checked_in_place_of_the_saved_one(self, client):
        text = VIP_TEXT.replace("label Customer_VIP for customer", "")
        got = client.post("/api/check", json={"path": VIP_PATH, "text": text}).json()
        assert ("R210", 7) in {(d["code"], d["line"]) for d in got["diagnostics"]}

    def test_rule_text_over_the_checkers_limit_gets_the_checkers_message(self, client):
        text = "#" * (MAX_FILE_BYTES + 1)
        got = client.post("/api/check", json={"path": VIP_PATH, "text": text}).json()
        [d] = got["diagnostics"]
        assert (d["code"], d["line"], d["column"]) == ("R110", 1, 1)
        assert d["message"] == (
            f"file has {MAX_FILE_BYTES + 1:,} characters, over the limit of {MAX_FILE_BYTES:,}"
        )
        assert d["suggestion"] == "split the rules into several files"

    def test_a_body_over_the_limit_is_refused_before_it_is_read(self, client):
        body = b'{"path": "x", "text": "' + b"#" * MAX_BODY + b'"}'
        got = client.post("/api/check", content=body, headers={"content-type": "application/json"})
        assert got.status_code == 413
        assert got.json()["error"].startswith("R110 request is ")
        assert f"over the checker's limit of {MAX_FILE_BYTES:,} bytes" in got.json()["error"]


class TestDecide:
    def test_the_basket_its_shares_and_every_rules_explanation(self, client):
        got = decide(client)
        assert got.status_code == 200, got.text
        doc = got.json()
        basket = doc["basket"]
        assert (basket["subtotal"], basket["discount_amount"], basket["total"]) == (
            "144.50",
            "14.45",
            "130.05",
        )
        assert basket["discounts"] == [
            {
                "rule": "vip.rules:7",
                "file": VIP_PATH,
                "line": 7,
                "description": "VIP New Order Discount",
                "kind": "percentage",
                "percentage": "10",
                "amount": "14.45",
                "capped": False,
                "shipping": False,
            }
        ]
        assert (basket["shipping_amount"], basket["shipping_discount"]) == ("0.00", "0.00")
        shares = [(x["line_total"], x["discount"], x["total"]) for x in basket["lines"]]
        assert shares == [("120.00", "12.00", "108.00"), ("24.50", "2.45", "22.05")]
        statuses = {r["rule"]: r["status"] for r in doc["explanation"]["rules"]}
        assert statuses["vip.rules:7"] == "applied"
        assert statuses["orders.rules:11"] == "not applicable"

    def test_a_discount_on_lines_is_on_its_lines(self, client):
        text = VIP_TEXT + (
            "label Hats for item\n"
            'on order_created then buy 2 get 1 free on items with label Hats "3 for 2"\n'
        )
        order = {
            "order": {"currency": "EUR"},
            "item": [
                {"name": "Coat", "unit_price": "80.00", "quantity": 1},
                {"name": "Hats", "unit_price": "6.00", "quantity": 3, "labels": ["Hats"]},
            ],
        }
        basket = decide(client, order, text).json()["basket"]
        shares = [(x["name"], x["discount"], x["total"]) for x in basket["lines"]]
        assert shares == [("Coat", "0.00", "80.00"), ("Hats", "6.00", "12.00")]

    def test_the_explanation_is_the_one_rulec_explain_prints(self, client):
        facts = {
            "customer": {"labels": {"Customer_VIP"}, "order_count": 3},
            "order": {
                "currency": "EUR",
                "subtotal": Decimal("144.50"),
                "created_at": "2026-12-01T09:12:00+01:00",
                "line_count": 2,
                "item_count": 3,
                "placed_by_customer": True,
                "created_by_agent": False,
            },
            "item": [
                {"name": "Photo book", "unit_price": Decimal("60.00"), "quantity": 2},
                {"name": "Wedding album", "unit_price": Decimal("24.50"), "quantity": 1},
            ],
        }
        from datetime import datetime

        facts["order"]["created_at"] = datetime.fromisoformat("2026-12-01T09:12:00+01:00")
        for m in facts["item"]:
            m["line_total"] = m["unit_price"] * m["quantity"]
        expected = rulec.load_paths([SHIPPED]).explain("order_created", facts)
        assert decide(client).json()["explanation_text"] == expected.text()

    def test_each_code_entered_gets_its_outcome_in_the_basket(self, client):
        text = 'on order_created when order has coupon "SPRING10" then discount 10% "Spring sale"\n'
        order = {
            "customer": {"labels": []},
            "order": {**ORDER["order"], "coupons": ["spring10", "NOPE"]},
            "item": ORDER["item"],
        }
        got = client.post(
            "/api/decide",
            json={
                "path": str(SHIPPED / "spring.rules"),
                "text": text,
                "event": "order_created",
                "order": order,
            },
        )
        assert got.status_code == 200, got.text
        doc = got.json()
        basket = doc["basket"]
        assert (basket["discount_amount"], basket["total"]) == ("14.45", "130.05")
        assert basket["coupons"] == [
            {
                "code": "NOPE",
                "applied": False,
                "reason_code": "unknown",
                "reason": "the code NOPE is not a promotion of this shop",
                "rule": None,
                "description": None,
                "amount": None,
            },
            {
                "code": "SPRING10",
                "applied": True,
                "reason_code": "applied",
                "reason": "applied by rule 'spring.rules:1'",
                "rule": "spring.rules:1",
                "description": "Spring sale",
                "amount": "14.45",
            },
        ]
        # the same outcomes as the explanation's, which rulec explain prints first
        assert [
            (c["code"], c["reason_code"]) for c in doc["explanation"]["decision"]["coupons"]
        ] == [
            ("NOPE", "unknown"),
            ("SPRING10", "applied"),
        ]
        assert doc["explanation_text"].splitlines()[1:3] == [
            "  coupon NOPE (unknown): the code NOPE is not a promotion of this shop",
            "  coupon SPRING10 (applied): applied by rule 'spring.rules:1'",
        ]

    def test_the_facts_shown_are_the_ones_decided(self, client):
        facts = decide(client).json()["facts"]
        assert facts["order"]["subtotal"] == "144.50"
        assert (facts["order"]["line_count"], facts["order"]["item_count"]) == (2, 3)
        assert [m["line_total"] for m in facts["item"]] == ["120.00", "24.50"]

    @pytest.mark.parametrize(
        ("change", "said"),
        [
            (
                {"order": {"currency": "EURO", "subtotal": "10.00"}},
                "unknown currency 'EURO' in order.currency: not an ISO 4217 code",
            ),
            (
                {"order": {"currency": "EUR", "subtotal": "1e400"}},
                "order.subtotal 1E+400 is too large",
            ),
            (
                {"order": {"currency": "EUR", "subtotal": "10.00"}, "custmer": {"labels": []}},
                "did you mean 'customer'?",
            ),
            (
                {"order": {"currency": "EUR", "subtotal": "ten"}},
                "order form: order subtotal: 'ten' is not a number",
            ),
            (
                {"order": {"currency": "EUR", "subtotal": "10.00", "coupons": "SPRING10"}},
                "order.coupons: coupon codes 'SPRING10' are not a set of codes",
            ),
        ],
    )
    def test_bad_facts_get_the_doors_error(self, client, change, said):
        got = decide(client, order=change)
        assert got.status_code == 422
        assert said in got.json()["error"]

    def test_the_doors_error_is_the_one_evaluate_raises(self, client):
        order = {"order": {"currency": "EUR", "subtotal": "10.00"}, "custmer": {"labels": []}}
        with pytest.raises(rulec.RulesError) as raised:
            rulec.load_paths([SHIPPED]).evaluate(
                "order_created",
                {
                    "order": {"currency": "EUR", "subtotal": Decimal("10.00")},
                    "custmer": {"labels": []},
                },
            )
        assert decide(client, order=order).json()["error"] == str(raised.value)

    def test_rules_with_errors_decide_nothing(self, client):
        got = decide(client, text=VIP_TEXT.replace("then discount", "then discont"))
        assert got.status_code == 422
        assert got.json()["error"] == "the rules have 1 error: fix them to try an order"
        assert [d["code"] for d in got.json()["diagnostics"]] == ["R202"]

    def test_an_unknown_event_names_the_one_meant(self, client):
        got = decide(client, event="order_craeted")
        assert got.status_code == 422
        assert "did you mean 'order_created'?" in got.json()["error"]


class TestBadRequests:
    @pytest.mark.parametrize(
        ("body", "said"),
        [
            (b"{bad", "the request body is not valid JSON: Expecting property name"),
            (b"[1, 2]", "the request body must be a JSON object"),
            (b'{"path": "x", "text": 3}', "'text' must be a string, got int"),
            (b'{"path": "x"}', "'text' must be a string, got nothing"),
            (b"\xff\xfe", "the request body is not UTF-8"),
            (b"[" * 100_000, "the request body is not valid JSON"),
        ],
    )
    def test_bad_json_is_a_400_with_a_clear_message(self, client, body, said):
        got = client.post("/api/check", content=body, headers={"content-type": "application/json"})
        assert got.status_code == 400
        assert got.json()["error"].startswith(said)
        assert "Traceback" not in got.text

    def test_an_order_that_is_not_an_object(self, client):
        got = client.post(
            "/api/decide",
            json={"path": VIP_PATH, "text": VIP_TEXT, "event": "order_created", "order": [1]},
        )
        assert got.status_code == 400
        assert got.json() == {"error": "'order' must be a JSON object of facts"}

    def test_json_only(self, client):
        got = client.post("/api/check", content=b"path=x", headers={"content-type": "text/plain"})
        assert got.status_code == 415
        assert "send JSON" in got.json()["error"]

    def test_another_host_name_is_refused(self, client):
        assert client.get("/api/setup", headers={"host": "rebound.example"}).status_code == 400

    def test_no_database_no_orders(self, client):
        got = client.get("/api/orders")
        assert got.status_code == 404
        assert got.json() == {"error": "no database: start the playground with --db URL"}

    def test_a_bug_is_a_500_without_a_traceback(self, monkeypatch):
        playground = Playground(read_sources([SHIPPED]), DEFAULT_VOCABULARY)

        def broken(path, text):
            raise ZeroDivisionError("boom")

        monkeypatch.setattr(playground, "check", broken)
        with TestClient(create_app(playground), base_url="http://127.0.0.1") as c:
            got = c.post("/api/check", json={"path": "x", "text": ""})
        assert got.status_code == 500
        assert got.json() == {
            "error": "internal error in rulec (ZeroDivisionError): boom; please report it"
        }
