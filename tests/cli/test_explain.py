"""`rulec explain`: a decision explained from given facts or from a stored order."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import rulec
from rulec.cli import main
from rulec.storage.models import Customer, Label, Order

NEW_CUSTOMER = {
    "customer": {"labels": ["Customer_New"]},
    "order": {"subtotal": 120.00, "currency": "EUR", "created_at": "2026-12-01T09:12:00+01:00"},
}


def run(*args: str):
    return CliRunner().invoke(main, ["explain", *args])


@pytest.fixture
def given(tmp_path: Path) -> Path:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(NEW_CUSTOMER), encoding="utf-8")
    return path


RULES = str(rulec.shipped_rules())


class TestGiven:
    def test_text_names_the_false_condition_with_its_value(self, given):
        got = run("--given", str(given), RULES)
        assert got.exit_code == 0, got.output
        first, *rules = got.stdout.splitlines()
        assert first == "order_created: no discount: total 120.00 EUR"
        assert (
            "  vip.rules:7 (" + RULES + "/vip.rules:7): not applicable: customer has label "
            "'Customer_VIP' was false (customer labels: Customer_New)"
        ) in rules

    def test_json(self, given):
        got = run("--given", str(given), "--format", "json", RULES)
        assert got.exit_code == 0, got.output
        doc = json.loads(got.stdout)
        assert doc["decision"]["total_amount"] == "120.00"
        vip = next(r for r in doc["rules"] if r["rule"] == "vip.rules:7")
        assert vip["status"] == "not applicable"
        assert vip["seen"] == [
            {
                "line": 7,
                "column": 23,
                "test": "customer has label 'Customer_VIP'",
                "fact": "customer labels",
                "value": ["Customer_New"],
                "result": False,
            }
        ]

    def test_amounts_in_json_are_read_exactly(self, tmp_path):
        path = tmp_path / "vip.json"
        path.write_text(
            '{"customer": {"labels": ["Customer_VIP"]}, "order": {"subtotal": 0.1, '
            '"currency": "EUR", "created_at": "2026-12-01"}}',
            encoding="utf-8",
        )
        got = run("--given", str(path), "--format", "json", RULES)
        assert got.exit_code == 0, got.output
        assert json.loads(got.stdout)["decision"]["subtotal"] == "0.10"  # not 0.1000000000000000055

    @pytest.mark.parametrize(
        ("args", "said"),
        [
            ((), "give the facts"),
            (("--db", "sqlite://"), "--db needs --order ID"),
            (
                ("--event", "order_craeted", "--given", "{given}"),
                "unknown event 'order_craeted'; did you mean 'order_created'?",
            ),
            (("--given", "{bad}"), "not valid JSON"),
            (("--given", "{nocurrency}"), "order.currency is missing"),
            (("--given", "{misspelled}"), "unknown entity 'custmer'"),
            (("--given", "{given}", "--at", "tomorrow"), "'tomorrow' is not ISO 8601"),
        ],
    )
    def test_usage_errors_exit_2(self, given, tmp_path, args, said):
        bad = tmp_path / "bad.json"
        bad.write_text("{customer:", encoding="utf-8")
        nocurrency = tmp_path / "nocurrency.json"  # issue 21: refused, never guessed
        nocurrency.write_text('{"order": {"subtotal": "120.00"}}', encoding="utf-8")
        misspelled = tmp_path / "misspelled.json"
        misspelled.write_text(
            '{"custmer": {"labels": ["Customer_VIP"]}, '
            '"order": {"subtotal": "120.00", "currency": "EUR"}}',
            encoding="utf-8",
        )
        files = {"bad": bad, "nocurrency": nocurrency, "misspelled": misspelled}
        args = tuple(a.format(given=given, **files) for a in args)
        got = run(*args, RULES)
        assert got.exit_code == 2, got.output
        assert said in got.output


class TestStored:
    def test_a_stored_order_is_explained_from_its_facts(self, sessions, db):
        with sessions.begin() as s:
            vip = Label(name="Customer_VIP", entity_type="customer")
            o = Order(customer=Customer(name="Ben", labels=[vip]), subtotal=Decimal("120.00"))
            s.add(o)
        url = db.url.render_as_string(hide_password=False)
        got = run("--db", url, "--order", str(o.id), RULES)
        assert got.exit_code == 0, got.output
        assert got.stdout.splitlines()[0] == (
            "order_created: VIP New Order Discount, 12.00 EUR off 120.00 EUR: total 108.00 EUR"
        )
        missing = run("--db", url, "--order", "999999", RULES)
        assert missing.exit_code == 2 and "no order with id 999999" in missing.stderr

    def test_a_stored_order_refused_a_spent_code_is_explained_with_the_reason(
        self, sessions, db, tmp_path
    ):
        # the engine refused the second order the code (1 use in all); explain reads
        # the counters as the engine does, and says so, while the first order still
        # holds its use
        text = (
            'rule "Welcome"\n  limit 1 use\n  on order_created\n'
            '  when order has coupon WELCOME\n  then discount 5.00 EUR "Welcome"\nend\n'
        )
        (tmp_path / "promo.rules").write_text(text, encoding="utf-8")
        engine = rulec.Engine(rulec.load_text(text, "promo.rules"))
        engine.attach(sessions)
        try:
            orders = []
            for name in ("Ada", "Ben"):
                with sessions.begin() as s:
                    o = Order(customer=Customer(name=name), subtotal=Decimal("50.00"))
                    o.coupon_codes = ["welcome"]
                    s.add(o)
                orders.append(o.id)
        finally:
            engine.detach(sessions)
        url = db.url.render_as_string(hide_password=False)
        first, second = (run("--db", url, "--order", str(n), str(tmp_path)) for n in orders)
        assert first.exit_code == 0 and second.exit_code == 0, second.output
        assert first.stdout.splitlines()[0].startswith("order_created: Welcome, 5.00 EUR off")
        assert "coupon WELCOME (limit_reached): the code was used its 1 time: none is left" in (
            second.stdout
        )
        assert second.stdout.splitlines()[0].startswith("order_created: no discount")
