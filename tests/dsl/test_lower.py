"""Lowering: checked rules as data, their conditions as trees of tests with ready values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import rulec
from rulec.dsl.lower import LoweredRule, lower_rules
from rulec.dsl.lowered import (
    AllOf,
    AnyOf,
    Between,
    Compare,
    Exists,
    HasAnyLabel,
    HasLabel,
    In,
    InDays,
    Negation,
    OnDay,
    Present,
)

LABELS = "label VIP, Gold, Silver, Bronze, Iron, Trial for customer\nlabel Fragile for item\n"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def lowered(text: str, file: str = "<string>") -> tuple[LoweredRule, ...]:
    analysis = rulec.analyze_text(text, file)
    assert analysis.ok, analysis.diagnostics
    return lower_rules(analysis.items[file], rulec.DEFAULT_VOCABULARY, file)


def condition(cond: str, event: str = "order_created"):
    (rule,) = lowered(f'{LABELS}on {event} when {cond} then discount 10% "x"')
    return rule.condition


class TestConditions:
    @pytest.mark.parametrize(
        ("cond", "want"),
        [
            ("customer has label VIP", HasLabel("customer.labels", "VIP", False)),
            (
                "customer has any label of Gold, Silver, Gold",
                HasAnyLabel("customer.labels", ("Gold", "Silver"), False),
            ),
            ("order subtotal = 50.00", Compare("order.subtotal", "=", Decimal("50.00"), False)),
            ("order subtotal >= 50", Compare("order.subtotal", ">=", Decimal("50"), True)),
            ("customer order count = 2.0", Compare("customer.order_count", "=", 2, False)),
            ("order currency is EUR", Compare("order.currency", "=", "EUR", False)),
            ('order currency = "EUR"', Compare("order.currency", "=", "EUR", False)),
            (
                "order placed by customer is true",
                Compare("order.placed_by_customer", "=", True, False),
            ),
            (
                "order subtotal between 10 and 20.00",
                Between("order.subtotal", Decimal("10"), Decimal("20.00"), False, False),
            ),
            (
                "order currency in (EUR, USD, EUR)",
                In("order.currency", frozenset({"EUR", "USD"}), False),
            ),
            (
                "order subtotal not in (13, 13.00)",
                In("order.subtotal", frozenset({Decimal("13")}), True),
            ),
            (
                "not customer has label VIP",
                Negation(HasLabel("customer.labels", "VIP", False)),
            ),
            (
                "customer has label VIP or customer has label Gold and order subtotal > 5",
                AnyOf(
                    (
                        HasLabel("customer.labels", "VIP", False),
                        AllOf(
                            (
                                HasLabel("customer.labels", "Gold", False),
                                Compare("order.subtotal", ">", Decimal("5"), True),
                            )
                        ),
                    )
                ),
            ),
            (
                "any item has label Fragile",
                Exists("item.all", HasLabel("item.labels", "Fragile", False)),
            ),
        ],
    )
    def test_each_construct(self, cond, want):
        assert condition(cond) == want

    def test_a_date_is_its_whole_day(self):
        day = (utc(2026, 11, 27), utc(2026, 11, 28))
        assert condition("order created = 2026-11-27") == OnDay("order.created_at", "=", *day)
        assert condition("order created <= 2026-11-27") == OnDay("order.created_at", "<=", *day)
        paris = condition("order created > 2026-11-27 Europe/Paris")
        assert paris == OnDay("order.created_at", ">", utc(2026, 11, 26, 23), utc(2026, 11, 27, 23))

    def test_a_date_and_time_is_an_instant_and_guarded(self):
        got = condition("order created != 2026-11-27 10:00")
        assert got == Compare("order.created_at", "!=", utc(2026, 11, 27, 10), True)

    def test_between_dates_ends_with_the_last_day(self):
        got = condition("order created between 2026-11-27 and 2026-11-30")
        assert got == Between(
            "order.created_at", utc(2026, 11, 27), utc(2026, 12, 1), False, open_high=True
        )
        got = condition("order created not between 2026-11-27 10:00 and 2026-11-27 12:00")
        assert got == Between(
            "order.created_at", utc(2026, 11, 27, 10), utc(2026, 11, 27, 12), True, False
        )

    def test_dates_in_a_list(self):
        got = condition("order created not in (2026-11-27, 2026-12-24 18:00)")
        assert got == InDays(
            "order.created_at",
            (True, False),
            (utc(2026, 11, 27), utc(2026, 11, 28), utc(2026, 12, 24, 18)),
            True,
        )
        assert list(got.members()) == [
            (utc(2026, 11, 27), utc(2026, 11, 28)),
            (utc(2026, 12, 24, 18), None),
        ]

    def test_is_compares_the_identity_field(self):
        text = "label VIP for customer\non customer_labeled when label is VIP"
        text += " then add label VIP to customer"
        (rule,) = lowered(text)
        assert rule.condition == Compare("label.name", "=", "VIP", False)

    @pytest.mark.parametrize(
        "cond",
        [
            "customer lacks label VIP",
            "customer lacks any label of VIP, Gold",
            "customer order count != 3",
            "customer order count not in (1, 2)",
            "customer order count not between 1 and 2",
        ],
    )
    def test_a_negative_test_of_an_optional_entity_is_guarded(self, cond):
        got = condition(cond)
        assert isinstance(got, AllOf)
        guard, test = got.operands
        assert guard == Present("customer.absent")
        assert test.key.startswith("customer.")
        assert guard.span == test.span == got.span

    def test_positive_tests_are_not_guarded(self):
        assert condition("customer has label VIP") == HasLabel("customer.labels", "VIP", False)
        assert condition("order subtotal != 5") == Compare(
            "order.subtotal", "!=", Decimal("5"), False
        )

    def test_every_node_keeps_its_own_span(self):
        text = LABELS + 'rule "r"\n  on order_created\n  when customer has label VIP\n'
        text += '   and not order subtotal > 10\n  then discount 1% "x"\nend\n'
        (rule,) = lowered(text, "spans.rules")
        both = rule.condition
        first, negation = both.operands
        spans = [(n.span.line, n.span.column) for n in (both, first, negation, negation.operand)]
        assert spans == [(5, 8), (5, 8), (6, 8), (6, 12)]
        assert {n.span.file for n in (both, first, negation)} == {"spans.rules"}


class TestWords:
    @pytest.mark.parametrize(
        ("cond", "words"),
        [
            ("customer has label VIP", "customer has label 'VIP'"),
            ("customer lacks any label of VIP, Gold", "customer is present"),
            ("order subtotal >= 50.00", "order.subtotal >= 50.00"),
            ("order currency in (USD, EUR)", "order.currency in ('EUR', 'USD')"),
            (
                "order created = 2026-11-27",
                "order.created_at = the day [2026-11-27T00:00:00+00:00, 2026-11-28T00:00:00+00:00)",
            ),
            ("order subtotal not between 1 and 2", "order.subtotal not between [1, 2]"),
        ],
    )
    def test_an_atom_says_what_it_tests(self, cond, words):
        got = condition(cond)
        atom = got.operands[0] if isinstance(got, AllOf) else got
        assert atom.describe() == words


class TestRecords:
    def test_the_record_of_a_block_rule(self):
        text = LABELS + (
            'rule "Black Friday"\n  description "d"\n  priority 10\n  exclusive\n'
            "  from 2026-11-27 until 2026-11-30 Europe/Paris\n  on order_created\n"
            "  when customer has label VIP and order subtotal >= 50.00\n"
            '  then discount 15% up to 30.00 EUR "BF", add label Gold to customer\nend\n'
        )
        (rule,) = lowered(text, "rules/bf.rules")
        assert rule.record() == (
            "rule_0001",
            "Black Friday",
            "rules/bf.rules",
            3,
            1,
            "order_created",
            (
                ("percent", Decimal("15"), "BF", Decimal("30.00"), "EUR"),
                ("label", "customer", "Gold", True),
            ),
            10,
            True,
            True,
            False,
            utc(2026, 11, 26, 23),
            utc(2026, 11, 30, 23),
            "d",
            (("customer", "VIP"),),
            ("customer.labels", "order.subtotal"),
            (10, 10),  # each action's own line
            None,  # in no stacking group
            (),  # so after no group
            None,  # no usage limits
        )

    def test_a_rule_without_condition(self):
        (rule,) = lowered('on order_created then discount 5.00 EUR "x"', "a/one.rules")
        assert rule.lowered is None and rule.condition is None
        assert (rule.name, rule.facts, rule.labels) == ("one.rules:1", (), None)
        assert rule.actions == (("fixed", Decimal("5.00"), "EUR", "x"),)

    def test_facts_read_inside_any_are_the_members(self):
        (rule,) = lowered(
            f"{LABELS}on order_created when any item has label Fragile"
            ' and customer lacks label VIP then discount 1% "x"'
        )
        assert rule.facts == ("customer.absent", "customer.labels", "item.all")
