"""Discounts on lines, buy X get Y and tiers against an independent computation (issue 15).

Random baskets (lines with labels, quantities and unit prices) and random
rules of every kind (a percentage or an amount per item on the lines with a
label, buy X get Y, tiers, and the order-level percentage and fixed amount
they compete with), decided by ``RuleSet.evaluate``. The reference below
works in whole minor units with exact fractions, straight from the
documented policy (docs/discounts.md), and shares nothing with the engine
but ``reference_shares`` (largest remainder, ties to the earlier line, from
test_money.py).
"""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

import rulec

from .test_money import half_up, reference_shares

PLACES = {"EUR": 2, "JPY": 0}
LABELS = ("A", "B")


def amount_text(units: int, currency: str) -> str:
    return f"{D(units).scaleb(-PLACES[currency]):f}"


@attrs.frozen
class Line:
    labels: frozenset[str]
    quantity: int
    price: int  # in minor units

    @property
    def total(self) -> int:
        return self.quantity * self.price


@attrs.frozen
class Rule:
    kind: str  # items_percent, per_item, buy, tiers, percent, fixed
    flag: str  # "", "exclusive" or "combinable"
    priority: int
    label: str | None = None
    percent: int = 0
    amount: int = 0  # minor units: per item, fixed, or a cap
    per_line: bool = False
    paid: int = 0
    free: int = 0
    tiers: tuple[tuple[int, str, int], ...] = ()  # (threshold, "%" or "amount", figure)

    def text(self, n: int, currency: str) -> str:
        on = " on items" + (f" with label {self.label}" if self.label else "")
        money = lambda units: f"{amount_text(units, currency)} {currency}"  # noqa: E731
        if self.kind == "items_percent":
            cap = ""
            if self.amount:
                cap = f" up to {money(self.amount)}" + (" per line" if self.per_line else "")
            action = f"discount {self.percent}%{on}{cap}"
        elif self.kind == "per_item":
            action = f"discount {money(self.amount)} per item{on}"
        elif self.kind == "buy":
            action = f"buy {self.paid} get {self.free} free{on}"
        elif self.kind == "tiers":
            parts = [
                (f"{figure}%" if how == "%" else money(figure)) + f" from {money(threshold)}"
                for threshold, how, figure in self.tiers
            ]
            action = "discount " + ", ".join(parts)
        elif self.kind == "percent":
            action = f"discount {self.percent}%"
        else:
            action = f"discount {money(self.amount)}"
        meta = f" priority {self.priority}" + (f" {self.flag}" if self.flag else "")
        return f'rule "r{n}"{meta} on order_created then {action} "d{n}" end\n'


def _matches(line: Line, label: str | None) -> bool:
    return label is None or label in line.labels


def allocate(amount: int, weights: list[int]) -> list[int]:
    return reference_shares(amount, weights) if sum(weights) else [0] * len(weights)


def line_parts(r: Rule, lines: list[Line]) -> list[int] | None:
    """What ``r`` takes off each line, before the policy; None: it offers nothing."""
    if not any(_matches(x, r.label) for x in lines):
        return None
    if r.kind == "items_percent":
        parts = [
            half_up(Fraction(x.total * r.percent, 100)) if _matches(x, r.label) else 0
            for x in lines
        ]
        if r.amount and r.per_line:
            parts = [min(p, r.amount) for p in parts]
        elif r.amount and sum(parts) > r.amount:
            parts = allocate(r.amount, parts)
    elif r.kind == "per_item":
        parts = [min(r.amount * x.quantity, x.total) if _matches(x, r.label) else 0 for x in lines]
    else:  # buy: unit by unit, the cheapest first, the earlier line among equal prices
        units = sorted(
            (x.price, n)
            for n, x in enumerate(lines)
            if _matches(x, r.label)
            for _ in range(x.quantity)
        )
        free = len(units) // (r.paid + r.free) * r.free
        parts = [0] * len(lines)
        for price, n in units[:free]:
            parts[n] += price
    return parts if sum(parts) else None


def order_amount(r: Rule, subtotal: int) -> int | None:
    if r.kind == "percent":
        return half_up(Fraction(subtotal * r.percent, 100))
    if r.kind == "fixed":
        return r.amount
    reached = [t for t in r.tiers if subtotal >= t[0]]
    if not reached:
        return None
    _threshold, how, figure = reached[-1]
    return half_up(Fraction(subtotal * figure, 100)) if how == "%" else figure


def reference(rules: list[Rule], lines: list[Line]) -> list[tuple[str, int, list[int]]]:
    """The applied discounts: (description, amount, share of each line)."""
    subtotal = sum(x.total for x in lines)
    ranked = sorted(range(len(rules)), key=lambda n: (-rules[n].priority, n))
    offers = []  # (n, amount, parts or None)
    for n in ranked:
        r = rules[n]
        if r.kind in ("items_percent", "per_item", "buy"):
            parts = line_parts(r, lines)
            if parts is not None:
                offers.append((n, sum(parts), parts))
        else:
            amount = order_amount(r, subtotal)
            if amount is not None:
                offers.append((n, amount, None))
    exclusive = [o for o in offers if rules[o[0]].flag == "exclusive"]
    if exclusive:
        chosen = exclusive[:1]
    else:
        best = None
        for o in offers:
            if rules[o[0]].flag != "combinable" and (best is None or o[1] > best[1]):
                best = o
        chosen = ([best] if best else []) + [o for o in offers if rules[o[0]].flag == "combinable"]
    left = subtotal
    remaining = [x.total for x in lines]
    kept = []
    for n, amount, parts in chosen:
        if left <= 0:
            continue
        if parts is not None:
            shares = [min(p, r) for p, r in zip(parts, remaining, strict=True)]
            if sum(shares) > left:  # the order's discounts took the rest already
                shares = allocate(left, shares)
            if not sum(shares):
                continue
            amount = sum(shares)
            remaining = [r - s for r, s in zip(remaining, shares, strict=True)]
        else:
            amount = min(amount, left)
            shares = None
        kept.append([n, amount, shares])
        left -= amount
    pool = allocate(sum(k[1] for k in kept if k[2] is None), remaining)
    for k in kept:
        if k[2] is None:
            k[2] = allocate(k[1], pool)
            pool = [p - s for p, s in zip(pool, k[2], strict=True)]
    return [(f"d{n}", amount, shares) for n, amount, shares in kept]


# ------------------------------------------------------------------ data --

labels = st.frozensets(st.sampled_from(LABELS), max_size=2)
baskets = st.lists(
    st.builds(Line, labels, st.integers(1, 6), st.integers(1, 4000)), min_size=1, max_size=6
)
flags = st.sampled_from(("", "", "exclusive", "combinable", "combinable"))
priorities = st.integers(0, 2)
label_or_all = st.sampled_from((None, *LABELS))


@st.composite
def tiers(draw: st.DrawFn) -> tuple[tuple[int, str, int], ...]:
    thresholds = sorted(draw(st.sets(st.integers(0, 30000), min_size=1, max_size=3)))
    out = []
    for t in thresholds:
        if draw(st.booleans()):
            out.append((t, "%", draw(st.integers(1, 100))))
        else:
            out.append((t, "amount", draw(st.integers(1, 20000))))
    return tuple(out)


rule_kinds = st.one_of(
    st.builds(
        Rule,
        st.just("items_percent"),
        flags,
        priorities,
        label_or_all,
        percent=st.integers(1, 100),
        amount=st.sampled_from((0, 0, 1, 150, 500, 2000)),
        per_line=st.booleans(),
    ),
    st.builds(
        Rule, st.just("per_item"), flags, priorities, label_or_all, amount=st.integers(1, 3000)
    ),
    st.builds(
        Rule,
        st.just("buy"),
        flags,
        priorities,
        label_or_all,
        paid=st.integers(1, 3),
        free=st.integers(1, 2),
    ),
    st.builds(Rule, st.just("tiers"), flags, priorities, tiers=tiers()),
    st.builds(Rule, st.just("percent"), flags, priorities, percent=st.integers(1, 100)),
    st.builds(Rule, st.just("fixed"), flags, priorities, amount=st.integers(1, 20000)),
)


class TestAgainstTheReference:
    @given(
        currency=st.sampled_from(("EUR", "JPY")),
        lines=baskets,
        rules=st.lists(rule_kinds, min_size=1, max_size=4),
    )
    @settings(max_examples=150, deadline=None, database=None)
    def test_amounts_and_line_shares(self, currency, lines, rules):
        text = "label A, B for item\n" + "".join(r.text(n, currency) for n, r in enumerate(rules))
        rule_set = rulec.load_text(text, "p.rules")
        items = [
            {
                "labels": set(x.labels),
                "quantity": x.quantity,
                "unit_price": D(amount_text(x.price, currency)),
            }
            for x in lines
        ]
        subtotal = sum(x.total for x in lines)
        facts = {
            "order": {"subtotal": D(amount_text(subtotal, currency)), "currency": currency},
            "item": items,
        }
        d = rule_set.evaluate("order_created", facts)
        scale = 10 ** PLACES[currency]
        units = lambda v: int(v * scale)  # noqa: E731
        got = [(a.description, units(a.amount), [units(p) for p in a.lines]) for a in d.applied]
        assert got == reference(rules, lines)
        # the properties the issue asks for, on the decision itself
        shares = [units(s) for s in d.line_discounts]
        assert sum(shares) == units(d.discount_amount)
        assert all(0 <= s <= x.total for s, x in zip(shares, lines, strict=True))
        assert d.total_amount >= 0
        assert units(d.total_amount) == subtotal - sum(shares)
        for a in d.applied:
            assert sum(a.lines) == a.amount
