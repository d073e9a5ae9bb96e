"""RuleSet.explain: what became of every rule of an event, and why, in business words."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import rulec
from rulec.engine.core.explain import APPLIED, LOST, NOT_APPLICABLE

HEAD = "label Customer_VIP, Customer_New, Gold for customer\n"
RULES = HEAD + (
    'rule "vip" on order_created when customer has label Customer_VIP '
    'then discount 10% "VIP New Order Discount" end\n'
    'rule "gold" on order_created when customer has label Gold and order subtotal >= 50.00 '
    'then discount 5% "Gold" end\n'
    'rule "black friday" from 2026-11-27 until 2026-11-30 Europe/Paris on order_created '
    'then discount 15% "Black Friday" end\n'
    'rule "spring" from 2027-03-01 on order_created then discount 3% "Spring" end\n'
    'rule "off" disabled on order_created then discount 50% "Off" end\n'
    'rule "usd" on order_created when customer has label Gold '
    'then discount 5.00 USD "Five dollars" end\n'
    'rule "counted" on order_created when customer order count > 2 '
    "then add label Gold to customer end\n"
)
DEC_1 = datetime(2026, 12, 1, 8, 12, tzinfo=UTC)


def order(*labels: str, subtotal: str = "120.00", when: datetime = DEC_1, count: Any = 0):
    """Nested facts; with a count that is not an integer (to make a rule raise), flat
    :class:`Facts`, taken as they are (the door refuses it in nested facts)."""
    nested = {
        "customer": {"labels": set(labels), "order_count": count},
        "order": {"subtotal": Decimal(subtotal), "currency": "EUR", "created_at": when},
    }
    return nested if type(count) is int else rulec.flatten_facts(nested)


@pytest.fixture(scope="module")
def rules() -> rulec.RuleSet:
    return rulec.load_text(RULES, "rules/promo.rules")


class TestExplain:
    def test_the_decision_is_the_one_evaluate_gives(self, rules):
        facts = order("Customer_VIP", "Gold")
        assert rules.explain("order_created", facts).decision == rules.evaluate(
            "order_created", facts
        )

    def test_every_rule_of_the_event_in_the_policys_order_then_the_disabled(self, rules):
        e = rules.explain("order_created", order())
        assert [r.rule for r in e.rules] == [
            "vip",
            "gold",
            "black friday",
            "spring",
            "usd",
            "counted",
            "off",
        ]

    def test_applied_says_what_it_gave(self, rules):
        got = rules.explain("order_created", order("Customer_VIP")).rule("vip")
        assert (got.status, got.reason) == (APPLIED, "VIP New Order Discount: 10% off, 12.00 EUR")

    def test_a_missing_label_is_named_with_the_labels_there_are(self, rules):
        got = rules.explain("order_created", order("Customer_New")).rule("vip")
        assert got.status == NOT_APPLICABLE
        assert got.reason == (
            "customer has label 'Customer_VIP' was false (customer labels: Customer_New)"
        )
        assert [(s.line, s.result) for s in got.seen] == [(2, False)]

    def test_the_first_false_condition_is_named_with_its_value(self, rules):
        got = rules.explain("order_created", order("Gold", subtotal="42.00")).rule("gold")
        assert got.reason == "order subtotal >= 50.00 was false (order subtotal: 42.00)"

    def test_a_lost_rule_says_to_which_rule(self, rules):
        got = rules.explain("order_created", order("Customer_VIP", "Gold")).rule("gold")
        assert (got.status, got.reason) == (LOST, "a better discount applied: 'vip'")

    def test_a_discount_in_another_currency(self, rules):
        got = rules.explain("order_created", order("Gold")).rule("usd")
        assert (got.status, got.reason) == (
            LOST,
            "no discount applies: its amount is in USD, the order in EUR",
        )

    def test_windows_closed_and_not_open_yet(self, rules):
        e = rules.explain("order_created", order())
        assert e.moment == DEC_1
        assert e.rule("black friday").reason == (
            "window closed: judged at 2026-12-01 08:12 UTC, the rule ran until 2026-11-30 23:00 UTC"
        )
        assert e.rule("spring").reason == (
            "window not open yet: judged at 2026-12-01 08:12 UTC, the rule runs from "
            "2027-03-01 00:00 UTC"
        )

    def test_disabled(self, rules):
        got = rules.explain("order_created", order()).rule("off")
        assert (got.status, got.reason) == (NOT_APPLICABLE, "disabled")

    def test_a_rule_that_held_and_only_changes_labels(self, rules):
        got = rules.explain("order_created", order(count=3)).rule("counted")
        assert (got.status, got.reason) == (APPLIED, "adds label Gold to customer")

    def test_a_failing_rule_names_its_line(self, rules):
        got = rules.explain("order_created", order(count="three")).rule("counted")
        assert got.status == NOT_APPLICABLE
        assert got.reason.startswith("failed at line 8: TypeError")

    def test_as_text(self, rules):
        text = rules.explain("order_created", order("Customer_VIP")).text()
        assert text.splitlines()[0] == (
            "order_created: VIP New Order Discount, 12.00 EUR off 120.00 EUR: total 108.00 EUR"
        )
        assert "  vip (rules/promo.rules:2): applied: VIP New Order Discount" in text

    def test_an_unknown_rule_name(self, rules):
        with pytest.raises(KeyError):
            rules.explain("order_created", order()).rule("nope")


class TestListings:
    def test_the_deciding_rule_and_the_outranked_one(self):
        rules = rulec.load_text(
            "label Season_2027, Preview for price\n"
            'rule "season" on price_listed when price has label Season_2027 then hide price end\n'
            'rule "preview" priority 5 on price_listed when price has label Preview '
            "then show price end\n"
        )
        e = rules.explain("price_listed", {"price": {"labels": {"Season_2027", "Preview"}}})
        assert e.decision.verdict is not None and e.decision.verdict.shown
        assert (e.rule("preview").status, e.rule("preview").reason) == (
            APPLIED,
            "shows the candidate",
        )
        assert (e.rule("season").status, e.rule("season").reason) == (
            LOST,
            "outranked by rule 'preview'",
        )


class TestStackingGroups:
    TEXT = HEAD + (
        "group Loyalty\ngroup Seasonal after Loyalty\n"
        'rule "loyal" in group Loyalty on order_created then discount 10% "Loyal" end\n'
        'rule "loyal5" in group Loyalty on order_created then discount 5% "Loyal 5" end\n'
        'rule "winter" in group Seasonal on order_created then discount 20% "Winter" end\n'
    )

    def test_each_applied_discount_says_its_group_and_base(self):
        e = rulec.load_text(self.TEXT, "g.rules").explain("order_created", order())
        got = {r.rule: (r.status, r.reason) for r in e.rules}
        assert got == {
            "loyal": (APPLIED, "Loyal: 10% off, 12.00 EUR; group Loyalty, on the subtotal"),
            "loyal5": (LOST, "a better discount in group 'Loyalty' applied: 'loyal'"),
            "winter": (
                APPLIED,
                "Winter: 20% off, 21.60 EUR; group Seasonal, of 108.00 EUR, "
                "what the groups before it left",
            ),
        }

    def test_the_json_document_has_them_too(self):
        from rulec.tools.explain import as_json

        e = rulec.load_text(self.TEXT, "g.rules").explain("order_created", order())
        applied = as_json(e)["decision"]["applied"]
        assert [(a["rule"], a["group"], a["base"]) for a in applied] == [
            ("loyal", "Loyalty", None),
            ("winter", "Seasonal", "108.00"),
        ]
