"""Shapes and constants: one generic walk splits a lowered condition; only shapes come back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given

from rulec.dsl.lowered import AnyOf, Compare, HasAnyLabel, Slot
from rulec.dsl.shapes import Lowered, fill, shape_tree, slot_types, split

from .test_fuzz import SETTINGS, rules_files
from .test_lower import LABELS, condition, lowered


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
