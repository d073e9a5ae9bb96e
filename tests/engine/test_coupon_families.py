"""Coupon code families (issue 15): ``coupon family Partner is "PARTNER-*", "FRIENDS"``
tested with ``order has coupon in Partner`` through the one decide, explained, in SQL
for back-testing; and each code's outcome kept as an audit row of the order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

import rulec
from rulec.engine.db.attach import Engine
from rulec.engine.db.backtest import read_only
from rulec.engine.db.facts.binding import REFERENCE
from rulec.engine.db.facts.sql import OrderRef
from rulec.engine.db.sqlcond import rule_predicate
from rulec.storage.models import Order

RULES = """\
coupon family Partner is "PARTNER_*", "FRIENDS"

rule "Partner"
  on order_created
  when order has coupon in Partner and order subtotal >= 30.00
  then discount 15% "Partner code"
end

rule "Spring"
  on order_created
  when order has coupon "SPRING10"
  then discount 5% "Spring code"
end

rule "Not a partner"
  on order_created
  when order lacks coupon in Partner and order subtotal >= 500.00
  then discount 1% "Big basket"
end
"""

RULE_SET = rulec.load_text(RULES, "promo.rules")


def decide(*codes: str, subtotal: str = "80.00"):
    order: dict[str, Any] = {"subtotal": Decimal(subtotal), "currency": "EUR"}
    if codes:
        order["coupons"] = list(codes)
    return RULE_SET.evaluate("order_created", {"order": order})


def outcomes(d) -> dict[str, tuple[str, str, str | None]]:
    return {c.code: (c.reason_code, c.reason, c.rule) for c in d.coupons}


class TestDecide:
    @pytest.mark.parametrize("code", ["partner_7", "PARTNER_", "Friends", " PARTNER_ABC "])
    def test_a_code_of_the_family_applies_the_rule_that_tests_it(self, code):
        d = decide(code)
        assert d.discount_amount == Decimal("12.00")
        ((reason_code, reason, rule),) = outcomes(d).values()
        assert (reason_code, reason, rule) == ("applied", "applied by rule 'Partner'", "Partner")

    @pytest.mark.parametrize("code", ["PARTNERX7", "PARTNER", "FRIENDS2", "XPARTNER_7"])
    def test_a_code_outside_the_family_is_unknown(self, code):
        d = decide(code)
        assert d.discount_amount == Decimal("0.00")
        assert outcomes(d)[code][0] == "unknown"

    def test_a_family_code_whose_rule_does_not_hold_says_what_is_missing(self):
        d = decide("PARTNER_7", subtotal="20.00")
        assert outcomes(d)["PARTNER_7"] == (
            "conditions_not_met",
            "needs order subtotal >= 30.00 (order subtotal: 20.00)",
            "Partner",
        )

    def test_lacks_coupon_in_a_family(self):
        assert decide(subtotal="600.00").discount_description == "Big basket"
        assert decide("SPRING10", subtotal="600.00").discount_amount == Decimal("30.00")
        partner = decide("friends", subtotal="600.00")
        assert [a.rule for a in partner.applied] == ["Partner"]

    def test_explain_names_the_family_and_its_members(self):
        facts = {"order": {"subtotal": Decimal("20.00"), "currency": "EUR", "coupons": ["x1"]}}
        text = RULE_SET.explain("order_created", facts).text()
        assert "order has coupon in Partner (FRIENDS, PARTNER_*)" in text

    def test_a_family_declared_in_another_file_serves_every_file(self, tmp_path):
        (tmp_path / "families.rules").write_text('coupon family Vip is "VIP-*"\n')
        (tmp_path / "vip.rules").write_text(
            'on order_created when order has coupon in Vip then discount 20% "Vip"\n'
        )
        rules = rulec.load_paths([str(tmp_path)])
        facts = {"order": {"subtotal": Decimal("10.00"), "currency": "EUR", "coupons": ["vip-1"]}}
        assert rules.evaluate("order_created", facts).discount_amount == Decimal("2.00")


# ------------------------------------------------------------------ SQL --


def test_the_sql_predicate_selects_the_orders_of_the_family_and_escapes_the_prefix(db, sessions):
    ids = []
    with sessions.begin() as s:
        for codes in (["PARTNER_7"], ["partnerx7"], ["FRIENDS", "SPRING10"], [], ["friends2"]):
            o = Order(subtotal=Decimal("50.00"), currency="EUR")
            o.coupon_codes = codes
            s.add(o)
            s.flush()
            ids.append(o.id)
    ref = OrderRef.of(REFERENCE.orders)
    (partner, spring, _) = RULE_SET.rules_of("order_created")
    with read_only(db) as conn:
        got = {}
        for rule in (partner, spring):
            p = rule_predicate(rule, REFERENCE, ref)
            assert p.exact
            got[rule.name] = sorted(conn.scalars(select(REFERENCE.orders.c.id).where(p.sql)))
    assert got == {"Partner": [ids[0], ids[2]], "Spring": [ids[2]]}


# ----------------------------------------------------------- audit rows --


@pytest.fixture
def engine(shop):
    e = Engine(rulec.load_text(RULES, "promo.rules"), binding=shop.binding)
    e.attach(shop.sessions)
    yield e
    e.detach(shop.sessions)


def _codes(shop, s, o) -> list[tuple[Any, ...]]:
    if shop.name == "foreign":  # its rows of codes map the outcome alone
        return sorted((c.code, c.outcome) for c in o.codes)
    return sorted((c.code, c.outcome, c.reason, c.rule, c.rule_set_version) for c in o.coupons)


class TestAuditRows:
    def test_each_code_keeps_its_outcome_and_the_discount_its_code(self, shop, engine):
        version = engine.rules.version
        with shop.sessions.begin() as s:
            o = shop.order(s, shop.customer(s, "Ada"), subtotal="100.00", codes=["partner_7", "X1"])
        with shop.sessions() as s:
            stored = shop.get(s, shop.key(o))
            audit = shop.audit(s, stored)
            assert [(a["rule_name"], a["coupon_code"]) for a in audit] == [("Partner", "PARTNER_7")]
            if shop.name == "foreign":
                assert _codes(shop, s, stored) == [("PARTNER_7", "applied"), ("X1", "unknown")]
            else:
                assert _codes(shop, s, stored) == [
                    ("PARTNER_7", "applied", "applied by rule 'Partner'", "Partner", version),
                    ("X1", "unknown", "the code X1 is not a promotion of this shop", None, version),
                ]

    def test_deciding_again_rewrites_the_rows_only_when_the_outcome_changes(self, shop, engine):
        with shop.sessions.begin() as s:
            o = shop.order(s, shop.customer(s, "Ada"), subtotal="100.00", codes=["FRIENDS"])
        key = shop.key(o)
        with shop.sessions() as s:
            ids = shop.audit_ids(s, shop.get(s, key))
        with shop.sessions.begin() as s:  # the same outcome: the same rows
            shop.set_field(shop.get(s, key), "subtotal", Decimal("100.00"))
            engine.fire("order_updated", shop.get(s, key), s)
        with shop.sessions() as s:
            assert shop.audit_ids(s, shop.get(s, key)) == ids
        with shop.sessions.begin() as s:  # too small now: no discount, the code says why
            shop.set_field(shop.get(s, key), "subtotal", Decimal("10.00"))
        with shop.sessions() as s:
            stored = shop.get(s, key)
            assert shop.audit(s, stored) == []
            assert _codes(shop, s, stored)[0][:2] == ("FRIENDS", "conditions_not_met")

    def test_an_order_without_codes_writes_no_outcome(self, shop, engine):
        with shop.sessions.begin() as s:
            o = shop.order(s, shop.customer(s, "Ada"), subtotal="600.00")
        with shop.sessions() as s:
            stored = shop.get(s, shop.key(o))
            assert [(a["rule_name"], a["coupon_code"]) for a in shop.audit(s, stored)] == [
                ("Not a partner", None)
            ]
