"""The tracing interpreter: the oracle the compiled tests are held equal to, and its reports."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rulec
from rulec.dsl import trace
from rulec.dsl.lower import LoweredRule, lower_rules
from rulec.dsl.lowered import AllOf, Atom, Compare, HasLabel, Present
from rulec.dsl.nodes import Rule

from .test_fuzz import SETTINGS, boundary_facts, merged_files
from .test_fuzz import facts as fuzz_facts

LABELS = "label VIP, Gold, Silver, Bronze, Iron, Trial for customer\nlabel Fragile, Gift for item\n"
GOLDEN_GOOD = sorted((Path(__file__).parents[1] / "golden" / "good").glob("*.rules"))
SHIPPED = sorted((Path(__file__).parents[2] / "rules").glob("*.rules"))


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """``("value", result)`` or ``("raised", exception type)``."""
    try:
        return "value", fn(*args)
    except Exception as e:
        return "raised", type(e)


def lowered_and_loaded(text: str, file: str) -> tuple[list[LoweredRule], rulec.RuleSet]:
    analysis = rulec.analyze_text(text, file)
    assert analysis.ok, [d for d in analysis.diagnostics if d.severity == "error"]
    lowered = list(lower_rules(analysis.items[file], rulec.DEFAULT_VOCABULARY, file))
    return lowered, rulec.load_text(text, file)


#: Values a broken backend might hand over instead of a fact's own.
JUNK = [None, "ten", 7, Decimal("NaN"), frozenset({"VIP"}), ("VIP",), [], {"a": 1}, 1.5]


@st.composite
def broken(draw: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` with some values replaced by junk, or left out."""
    out = dict(facts)
    for key in draw(st.lists(st.sampled_from(sorted(out)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del out[key]
        else:
            out[key] = draw(st.sampled_from(JUNK))
    return out


class TestOracle:
    """On random rule sets and facts, each compiled test and the interpreter agree."""

    @SETTINGS
    @given(merged_files(), st.data())
    def test_compiled_tests_and_the_interpreter_agree(self, merged, data):
        text, labels = merged
        lowered, loaded = lowered_and_loaded(text, "gen.rules")
        items = [i for i in rulec.parse(text, "gen.rules") if isinstance(i, Rule)]
        assert len(lowered) == len(loaded.rules)
        for n in range(8):
            f = data.draw(fuzz_facts(labels) if n % 2 else boundary_facts(items, labels))
            flat = dict(rulec.flatten_facts(f))
            if n >= 4:  # facts from a broken backend: both must raise alike
                flat = data.draw(broken(flat))
            for low, rule in zip(lowered, loaded.rules, strict=True):
                compiled = outcome(rule.test, flat)
                traced = outcome(trace.evaluate, low.condition, flat)
                if compiled[0] == "value":
                    compiled = ("value", bool(compiled[1]))
                assert compiled == traced, (low.condition, flat)
                # and the loaded rule carries that lowered condition, for tracers
                assert rule.condition == low.condition

    @pytest.mark.parametrize("path", [*GOLDEN_GOOD, *SHIPPED], ids=lambda p: p.name)
    def test_golden_and_shipped_files(self, path: Path):
        paths = [path] if path in GOLDEN_GOOD else SHIPPED  # (shipped: labels declared once)
        analysis = rulec.analyze_paths(paths)
        assert analysis.ok
        lowered = [
            r
            for s in analysis.sources
            for r in lower_rules(analysis.items[s.path], rulec.DEFAULT_VOCABULARY, s.path)
        ]
        rules = rulec.load_paths(paths).rules
        assert len(rules) == len(lowered)
        facts = [
            {
                "customer.labels": frozenset(labels),
                "order.subtotal": subtotal,
                "order.currency": "EUR",
                "order.created_at": datetime(2026, 11, 28, 12, tzinfo=UTC),
                "customer.order_count": 0,
                "item.all": (),
            }
            for labels in ((), ("Customer_VIP", "VIP", "Gold", "A"))
            for subtotal in (None, Decimal("60.00"), "sixty")
        ]
        for low, rule in zip(lowered, rules, strict=True):
            for f in facts:
                compiled = outcome(rule.test, f)
                if compiled[0] == "value":
                    compiled = ("value", bool(compiled[1]))
                assert compiled == outcome(trace.evaluate, low.condition, f)


def one(text: str, file: str = "<string>") -> tuple[Any, Any]:
    """The lowered condition of the one rule of ``text``, and its compiled test."""
    lowered, loaded = lowered_and_loaded(text, file)
    ((low,), (rule,)) = lowered, loaded.rules
    return low.condition, rule.test


def traced(cond: str, facts: dict[str, Any]) -> tuple[bool, list[tuple[str, Any, bool]]]:
    condition, test = one(f'{LABELS}on order_created when {cond} then discount 1% "x"')
    seen: list[tuple[str, Any, bool]] = []
    got = trace.evaluate(condition, facts, lambda a, v, r: seen.append((a.describe(), v, r)))
    assert got is bool(test(facts))
    return got, seen


BASE = {
    "customer.labels": frozenset({"Gold"}),
    "order.subtotal": Decimal("60.00"),
    "order.currency": "EUR",
    "customer.order_count": 2,
}


class TestReports:
    def test_each_atom_evaluated_is_reported_with_its_value_and_result(self):
        got, seen = traced("customer has label Gold and order subtotal >= 50", BASE)
        assert got is True
        assert seen == [
            ("customer has label 'Gold'", frozenset({"Gold"}), True),
            ("order.subtotal >= 50", Decimal("60.00"), True),
        ]

    def test_atoms_after_a_short_circuit_are_not_evaluated(self):
        got, seen = traced("customer has label VIP and order subtotal >= 50", BASE)
        assert got is False
        assert seen == [("customer has label 'VIP'", frozenset({"Gold"}), False)]
        got, seen = traced("customer has label Gold or order subtotal >= 50", BASE)
        assert got is True and len(seen) == 1

    def test_the_presence_guard_is_an_atom(self):
        absent = {**BASE, "customer.absent": True, "customer.labels": frozenset()}
        got, seen = traced("customer lacks label VIP", absent)
        assert got is False
        assert seen == [("customer is present", True, False)]
        got, seen = traced("customer lacks label VIP", BASE)
        assert got is True
        assert seen == [
            ("customer is present", None, True),
            ("customer lacks label 'VIP'", frozenset({"Gold"}), True),
        ]

    def test_a_missing_value_is_reported_as_read(self):
        got, seen = traced("order subtotal < 10", {**BASE, "order.subtotal": None})
        assert (got, seen) == (False, [("order.subtotal < 10", None, False)])

    def test_members_of_a_list_are_told_apart(self):
        condition, _ = one(
            f'{LABELS}on order_created when any item has label Fragile then discount 1% "x"'
        )
        lines = ({"item.labels": frozenset({"Gift"})}, {"item.labels": frozenset({"Fragile"})})
        events: list[tuple[Any, ...]] = []
        got = trace.evaluate(
            condition,
            {**BASE, "item.all": lines},
            lambda a, v, r: events.append(("atom", a.key, v, r)),
            lambda some, n, member: events.append(("member", some.key, n)),
        )
        assert got is True
        assert events == [
            ("member", "item.all", 0),
            ("atom", "item.labels", frozenset({"Gift"}), False),
            ("member", "item.all", 1),
            ("atom", "item.labels", frozenset({"Fragile"}), True),
        ]

    def test_no_condition_holds(self):
        assert trace.evaluate(None, {}) is True
        assert trace.raising(None, {}) is None


class TestFailures:
    def test_the_atom_that_raises_is_named_with_its_line(self):
        text = LABELS + 'rule "r"\n  on order_created\n  when customer has label Gold\n'
        text += '   and customer order count > 1\n  then discount 1% "x"\nend\n'
        condition, test = one(text, "fail.rules")
        bad = {**BASE, "customer.order_count": "two"}
        with pytest.raises(TypeError):
            test(bad)
        with pytest.raises(TypeError):
            trace.evaluate(condition, bad)
        atom = trace.raising(condition, bad)
        assert isinstance(atom, Compare) and atom.key == "customer.order_count"
        assert atom.span is not None and (atom.span.file, atom.span.line) == ("fail.rules", 6)
        assert trace.raising(condition, BASE) is None

    def test_a_missing_fact_raises_as_the_compiled_test_does(self):
        condition, test = one(
            f'{LABELS}on order_created when customer lacks label VIP then discount 1% "x"'
        )
        assert isinstance(condition, AllOf)
        guard, label = condition.operands
        assert isinstance(guard, Present) and isinstance(label, HasLabel)
        with pytest.raises(KeyError):
            test({})
        with pytest.raises(KeyError):
            trace.evaluate(condition, {})
        assert trace.raising(condition, {}) is label

    def test_a_list_that_is_not_one_is_named(self):
        condition, test = one(
            f'{LABELS}on order_created when any item has label Gift then discount 1% "x"'
        )
        with pytest.raises(TypeError):
            test({"item.all": None})
        assert trace.raising(condition, {"item.all": None}) is condition
        assert not isinstance(condition, Atom)
