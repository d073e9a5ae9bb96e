"""decide: the one entry every caller shares, its tracer and ``all_rules``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rulec
from rulec.engine.core.decide import decide
from rulec.engine.core.match import Outcome, Tracer
from rulec.engine.core.rules import Rule_

from .test_policy import HEAD, payable_in
from .test_policy import TestRandomRuleSetsDecideAsThePolicy as RANDOM

RULES = HEAD + (
    'rule "vip" priority 2 on order_created when customer has label VIP '
    'then discount 10% "VIP" end\n'
    'rule "gold" on order_created when customer has label Gold then discount 5% "Gold" end\n'
    'rule "big" on order_created when order subtotal > 500 then discount 7% "Big" end\n'
    'rule "spring" from 2026-03-01 until 2026-06-01 on order_created '
    'then discount 3% "Spring" end\n'
    'rule "loyal" on order_created when customer has label Loyal and customer order count > 2 '
    "then add label Trial to customer end\n"
)
WHEN = datetime(2026, 11, 28, 12, tzinfo=UTC)


def facts(*labels: str, subtotal: str = "100.00", count: Any = 3) -> dict[str, Any]:
    """Nested facts; with a count that is not an integer (to make a rule raise), flat
    :class:`Facts`, which are taken as they are, as a bad value read from a database
    would be (the door refuses it in nested facts: tests/engine/test_doors.py)."""
    nested = {
        "customer": {"labels": set(labels), "order_count": count},
        "order": {"subtotal": Decimal(subtotal), "currency": "EUR", "created_at": WHEN},
    }
    return nested if type(count) is int else rulec.flatten_facts(nested)


class Heard(Tracer):
    """A tracer that writes down what it hears."""

    def __init__(self) -> None:
        self.rules: list[tuple[str, Outcome, bool]] = []
        self.atoms: list[tuple[str, int, str, Any, bool]] = []

    def rule(self, rule: Rule_, outcome: Outcome, found: bool, message: str = "") -> None:
        self.rules.append((rule.name, outcome, found))

    def atom(self, rule: Rule_, atom: Any, value: Any, result: bool) -> None:
        self.atoms.append((rule.name, atom.span.line, atom.key, value, result))


@pytest.fixture(scope="module")
def rules() -> rulec.RuleSet:
    return rulec.load_text(RULES, "d.rules")


class TestDecide:
    def test_is_what_evaluate_gives(self, rules):
        got = decide(rules, "order_created", facts("VIP", "Gold"))
        assert got == rules.evaluate("order_created", facts("VIP", "Gold"))
        assert got.discount_description == "VIP"
        assert [(lost.rule, lost.reason) for lost in got.lost] == [
            ("gold", "a better discount applied: 'vip'")
        ]

    def test_windows_are_judged_at_now_when_the_order_has_no_creation_time(self, rules):
        f = facts()
        f["order"]["created_at"] = None
        spring = datetime(2026, 4, 1, tzinfo=UTC)
        assert decide(rules, "order_created", f, now=spring).matched == ("spring",)
        assert decide(rules, "order_created", f, now=WHEN).matched == ()

    def test_a_listing_event_is_decided_by_the_visibility_policy(self):
        rs = rulec.load_text(
            "label Season_2027 for price\n"
            "on price_listed when price has label Season_2027 then hide price\n"
        )
        hidden = decide(rs, "price_listed", {"price": {"labels": {"Season_2027"}}})
        shown = decide(rs, "price_listed", {"price": {"labels": set()}})
        assert hidden.verdict is not None and not hidden.verdict.shown
        assert shown.verdict == rulec.Verdict(True)
        assert hidden.discount_amount == Decimal("0.00") and hidden.applied == ()


class TestTracer:
    def test_hears_every_rule_considered_in_the_policy_order(self, rules):
        heard = Heard()
        decide(rules, "order_created", facts("VIP", "Gold", "Loyal"), tracer=heard)
        assert heard.rules == [
            ("vip", Outcome.HELD, True),
            ("gold", Outcome.HELD, True),
            ("big", Outcome.NOT_HELD, True),
            ("spring", Outcome.OUTSIDE_WINDOW, True),
            ("loyal", Outcome.HELD, True),
        ]

    def test_rules_the_index_skips_are_heard_only_with_all_rules(self, rules):
        heard, everything = Heard(), Heard()
        plain = decide(rules, "order_created", facts("Gold"), tracer=heard)
        full = decide(rules, "order_created", facts("Gold"), tracer=everything, all_rules=True)
        assert [name for name, _, _ in heard.rules] == ["gold", "big", "spring"]
        assert everything.rules == [
            ("vip", Outcome.NOT_HELD, False),
            ("gold", Outcome.HELD, True),
            ("big", Outcome.NOT_HELD, True),
            ("spring", Outcome.OUTSIDE_WINDOW, True),
            ("loyal", Outcome.NOT_HELD, False),
        ]
        assert full == plain  # all_rules cannot change the decision

    def test_hears_each_atom_with_its_value_and_result(self, rules):
        heard = Heard()
        decide(rules, "order_created", facts("VIP", "Loyal", subtotal="600.00"), tracer=heard)
        labels = frozenset({"VIP", "Loyal"})
        assert heard.atoms == [
            ("vip", 2, "customer.labels", labels, True),
            ("big", 4, "order.subtotal", Decimal("600.00"), True),
            ("loyal", 6, "customer.labels", labels, True),
            ("loyal", 6, "customer.order_count", 3, True),
        ]

    def test_hears_a_failure_with_its_message(self, rules):
        heard = Heard()
        d = decide(rules, "order_created", facts("Loyal", count="three"), tracer=heard)
        assert ("loyal", Outcome.FAILED, True) in heard.rules
        assert [(e.rule, e.line) for e in d.errors] == [("loyal", 6)]


class TestFailures:
    BLOCK = HEAD + (
        'rule "counted"\n'
        "  on order_created\n"
        "  when customer has label VIP\n"
        "   and customer order count > 2\n"
        '  then discount 5% "five"\n'
        "end\n"
    )

    def test_a_failure_names_the_line_of_the_condition_that_raised(self):
        rs = rulec.load_text(self.BLOCK, "block.rules")
        d = decide(rs, "order_created", facts("VIP", count="three"))
        assert [(e.rule, e.file, e.line) for e in d.errors] == [("counted", "block.rules", 5)]
        with pytest.raises(rulec.RuleRuntimeError) as info:
            decide(rs, "order_created", facts("VIP", count="three"), raise_errors=True)
        span = info.value.span
        assert (span.file, span.line, span.column) == ("block.rules", 5, 8)

    def test_an_action_is_reported_at_its_own_line(self):
        rs = rulec.load_text(
            HEAD + 'rule "usd"\n'  # line 2
            "  on order_created\n"
            "  when customer has label VIP\n"
            '  then discount 5.00 USD "five",\n'  # line 5
            "       set order status to confirmed\n"  # line 6
            "end\n"
            'rule "first" priority 1 on order_created then set order status to pending end\n',
            "lines.rules",
        )
        d = decide(rs, "order_created", facts("VIP"))
        assert [(lost.rule, lost.line, lost.reason) for lost in d.lost] == [
            ("usd", 5, "no discount applies: its amount is in USD, the order in EUR"),
            ("usd", 6, "order status is set by rule 'first'"),
        ]
        assert [(c.rule, c.line, c.value) for c in d.field_changes] == [("first", 8, "pending")]

    def test_a_condition_that_does_not_raise_there_is_reported_at_the_rule(self):
        rs = rulec.load_text(self.BLOCK, "block.rules")
        assert decide(rs, "order_created", facts("VIP")).errors == ()


class TestEveryPathDecidesAlike:
    """On random rule sets and facts, the decision is the same with a tracer
    listening and with every rule considered as it is plain."""

    @given(
        rules=st.lists(
            st.tuples(
                RANDOM.conditions,
                st.integers(min_value=0, max_value=2),
                st.one_of(RANDOM.percentages, RANDOM.others),
                RANDOM.extras,
            ),
            min_size=1,
            max_size=6,
        ),
        subtotal=st.decimals(min_value=-5, max_value=300, places=2, allow_nan=False),
        currency=st.sampled_from(["EUR", "JPY", "XXX"]),
        labels=st.sets(st.sampled_from([*RANDOM.LABELS, "Other"])),
    )
    @settings(max_examples=200, deadline=None, database=None)
    def test_tracer_and_all_rules_change_nothing(self, rules, subtotal, currency, labels):
        text = HEAD + "".join(RANDOM.rule(n, *r) for n, r in enumerate(rules))
        rs = rulec.load_text(text, "q.rules")
        f = {
            "order.subtotal": payable_in(currency, subtotal),
            "order.currency": currency,
            "order.created_at": RANDOM.WHEN,
            "customer.labels": labels,
        }
        if currency == "XXX":  # not ISO 4217: refused before any rule is tried, however asked
            for how in ({}, {"tracer": Heard()}, {"all_rules": True, "tracer": Heard()}):
                with pytest.raises(rulec.CurrencyError, match="unknown currency 'XXX'"):
                    decide(rs, "order_created", f, **how)  # type: ignore[arg-type]
            return
        plain = decide(rs, "order_created", f)
        heard = Heard()
        assert decide(rs, "order_created", f, tracer=heard) == plain
        assert decide(rs, "order_created", f, all_rules=True, tracer=Heard()) == plain
        held = [name for name, outcome, _ in heard.rules if outcome is Outcome.HELD]
        assert tuple(held) == plain.matched
