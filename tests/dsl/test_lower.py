"""Lowering: checked rules as data, their conditions as trees of tests with ready values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given

import rulec
from rulec.dsl.lower import (
    AllOf,
    AnyOf,
    Between,
    Compare,
    Exists,
    HasAnyLabel,
    HasLabel,
    In,
    InDays,
    Lowered,
    LoweredRule,
    Negation,
    OnDay,
    Present,
    Slot,
    fill,
    lower_rules,
    shape_tree,
    slot_types,
    split,
)

from .test_fuzz import SETTINGS, rules_files

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
            False,
        )

    def test_a_rule_without_condition(self):
        (rule,) = lowered('on order_created then discount 5.00 EUR "x"', "a/one.rules")
        assert rule.lowered is None and rule.condition is None
        assert (rule.name, rule.facts, rule.labels) == ("one.rules:1", (), None)
        assert rule.label_only is False
        assert rule.actions == (("fixed", Decimal("5.00"), "EUR", "x"),)

    def test_facts_read_inside_any_are_the_members(self):
        (rule,) = lowered(
            f"{LABELS}on order_created when any item has label Fragile"
            ' and customer lacks label VIP then discount 1% "x"'
        )
        assert rule.facts == ("customer.absent", "customer.labels", "item.all")


class TestShapes:
    def test_rules_differing_only_in_values_have_one_shape(self):
        a, b = (
            condition(f"customer has label {n} and order subtotal >= {v}")
            for n, v in (("VIP", "5"), ("Gold", "7.50"))
        )
        ka, consts_a, _ = split(a)
        kb, consts_b, _ = split(b)
        assert ka == kb and hash(ka) == hash(kb)
        assert consts_a == ("VIP", Decimal("5")) and consts_b == ("Gold", Decimal("7.50"))
        assert split(condition("customer has label VIP and order subtotal > 5"))[0] != ka

    def test_the_shape_tree_has_slots_where_the_constants_were(self):
        key, _, _ = split(condition("customer has any label of Gold, VIP or order subtotal < 1"))
        tree = shape_tree(key)
        assert tree == AnyOf(
            (
                HasAnyLabel("customer.labels", (Slot(0), Slot(1)), False),
                Compare("order.subtotal", "<", Slot(2), True),
            )
        )
        assert slot_types(tree) == ((str,), (str,), (Decimal, int, str, bool, datetime))
        assert tree.describe() == "(customer has any label of c0, c1) or (order.subtotal < c2)"

    def test_filling_a_shape_gives_the_condition_back_with_its_spans(self):
        text = LABELS + 'rule "r" on order_created when order created in (2026-01-01, 2026-02-01'
        text += ' 10:00) or not (any item has label Fragile) then discount 1% "x" end\n'
        (rule,) = lowered(text, "fill.rules")
        key, constants, positions = split(rule.condition)
        again = fill(shape_tree(key), constants, positions, "fill.rules")
        assert again == rule.condition
        old = [n.span for n in walk_lowered(rule.condition)]
        assert [n.span for n in walk_lowered(again)] == old
        assert Lowered(key, constants, "fill.rules", positions).condition == rule.condition

    @pytest.mark.parametrize(
        "key",
        [
            None,
            (),
            "HasLabel",
            ("Exec", "x"),
            ("HasLabel", "customer.labels"),
            ("HasLabel", "customer.labels", False, False),
            ("HasLabel", 1, False),
            ("HasLabel", "customer.labels", 1),
            ("Compare", "order.subtotal", "~", False),
            ("HasAnyLabel", "customer.labels", 0, False),
            ("HasAnyLabel", "customer.labels", True, False),
            ("AllOf", ()),
            ("AllOf", [("HasLabel", "customer.labels", False)]),
            ("InDays", "order.created_at", (True,), 1, False),
            ("InDays", "order.created_at", (1,), 1, False),
            ("InDays", "order.created_at", (), 0, False),
            ("Negation", ("Negation",)),
        ],
    )
    def test_anything_but_a_shape_is_refused(self, key):
        with pytest.raises(ValueError):
            shape_tree(key)

    def test_a_shape_nested_too_deep_is_refused(self):
        key: tuple = ("HasLabel", "customer.labels", False)
        for _ in range(1000):
            key = ("Negation", key)
        with pytest.raises(ValueError):
            shape_tree(key)

    @SETTINGS
    @given(rules_files())
    def test_split_and_fill_round_trip_on_generated_files(self, text):
        for rule in lowered(text, "gen.rules"):
            if rule.lowered is None:
                continue
            key, constants, positions = split(rule.condition)
            tree = shape_tree(key)
            assert len(slot_types(tree)) == len(constants)
            types = slot_types(tree)
            assert all(type(v) in t for v, t in zip(constants, types, strict=True))
            again = fill(tree, constants, positions, "gen.rules")
            assert again == rule.condition
            assert [n.span for n in walk_lowered(again)] == [
                n.span for n in walk_lowered(rule.condition)
            ]


def walk_lowered(node):
    """Every node of a lowered condition, the node before its parts."""
    yield node
    for part in getattr(node, "operands", ()):
        yield from walk_lowered(part)
    for name in ("operand", "condition"):
        part = getattr(node, name, None)
        if part is not None:
            yield from walk_lowered(part)
