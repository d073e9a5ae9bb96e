"""``rulec simulate``: what a rule set would have done to the orders stored in a database.

A back-test in the manner of a fraud tool's rule preview: per rule, the
orders its condition held for, those it would have applied to once the
resolution policy is through (a rule that loses to an exclusive or a better
one does not apply), the discount it would have given per currency, and a
sample of order ids; for the whole set, the orders it would have
discounted and the discount, against what is stored on the orders today.

The database selects the orders (:mod:`rulec.engine.db.backtest`); every
figure comes from the engine's own decisions on them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import define, field
from sqlalchemy import Engine

from rulec.engine.core.decision import Decision
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db.backtest import (
    Period,
    count_inexact,
    count_orders,
    decide_stored,
    read_only,
    select_orders,
    stored_totals,
)
from rulec.engine.db.facts.binding import REFERENCE, Binding

__all__ = [
    "Progress",
    "RuleFigures",
    "Simulation",
    "add_money",
    "applied_rules",
    "given_away",
    "simulate",
]

#: Order ids kept per rule, and problems kept.
SAMPLE = 5

#: Told the id of the last order read (for a progress bar over the ids).
Progress = Callable[[Any], None]


def add_money(into: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    into[currency] = into.get(currency, Decimal(0)) + amount


def applied_rules(d: Decision) -> list[str]:
    """The rules whose condition held and that were not set aside by the policy."""
    lost = {r.rule for r in d.lost}
    return [name for name in d.matched if name not in lost]


@define
class RuleFigures:
    """What one rule would have done over the orders."""

    rule: str
    file: str
    line: int
    #: Orders its condition (and window) held for.
    matched: int = 0
    #: Orders it applied to after the resolution policy.
    applied: int = 0
    #: The discount it gave, per currency.
    discount: dict[str, Decimal] = field(factory=dict)
    #: The first orders it applied to (ids, in id order).
    sample: list[Any] = field(factory=list)


@define
class Simulation:
    """A rule set's back-test over the stored orders of a period."""

    event: str
    version: str
    period: Period
    sample_size: int
    #: Orders of the period.
    orders: int = 0
    #: Orders the database selected and the engine decided.
    decided: int = 0
    #: Rules SQL cannot say exactly, and the orders decided in Python for them alone.
    inexact_rules: tuple[str, ...] = ()
    inexact_orders: int = 0
    #: Facts no batch reads (they read as None).
    unloaded: tuple[str, ...] = ()
    rules: list[RuleFigures] = field(factory=list)
    #: Orders discounted, and the discount, per currency.
    discounted: dict[str, int] = field(factory=dict)
    discount: dict[str, Decimal] = field(factory=dict)
    #: Per currency: the orders of the period and the discount stored on them today.
    stored: dict[str, tuple[int, Decimal]] = field(factory=dict)
    #: Orders the engine refused to decide (their money), and the first reasons.
    undecided: int = 0
    problems: list[tuple[Any, str]] = field(factory=list)

    def rule(self, name: str) -> RuleFigures:
        for r in self.rules:
            if r.rule == name:
                return r
        raise KeyError(name)


def simulate(
    engine: Engine,
    rule_set: RuleSet,
    event: str = "order_created",
    period: Period | None = None,
    *,
    binding: Binding = REFERENCE,
    sample: int = SAMPLE,
    progress: Progress | None = None,
) -> Simulation:
    """Back-test ``rule_set`` on ``event`` over the orders stored in ``engine``'s database
    (those of ``period``), without writing anything."""
    period = period or Period()
    sim = Simulation(event, rule_set.version, period, sample)
    figures = {r.name: RuleFigures(r.name, r.file, r.line) for r in rule_set.rules_of(event)}
    sim.rules = list(figures.values())
    selection = select_orders([rule_set], event, period, binding)
    sim.inexact_rules = selection.inexact
    sim.unloaded = selection.unloaded
    with read_only(engine) as conn:
        sim.orders = count_orders(conn, selection.period, binding)
        sim.inexact_orders = count_inexact(conn, selection, binding)
        sim.stored = stored_totals(conn, period, binding)
        for page in decide_stored(conn, [rule_set], event, selection, binding):
            for order in page:
                d = order.decisions[0]
                if d is None:
                    sim.undecided += 1
                    if len(sim.problems) < sample:
                        sim.problems.append((order.id, order.problems[0] or ""))
                    continue
                sim.decided += 1
                _count(sim, figures, order.id, d)
            if progress is not None:
                progress(page[-1].id)
    return sim


def _count(sim: Simulation, figures: dict[str, RuleFigures], order_id: Any, d: Decision) -> None:
    for name in d.matched:
        f = figures.get(name)
        if f is not None:
            f.matched += 1
    for name in applied_rules(d):
        f = figures.get(name)
        if f is not None:
            f.applied += 1
            if len(f.sample) < sim.sample_size:
                f.sample.append(order_id)
    for a in d.applied:
        f = figures.get(a.rule)
        if f is not None:
            add_money(f.discount, d.currency, a.amount)
    given = given_away(d)
    if given:
        sim.discounted[d.currency] = sim.discounted.get(d.currency, 0) + 1
        add_money(sim.discount, d.currency, given)


def given_away(d: Decision) -> Decimal:
    """What a decision takes off the order: its discount and its shipping discount."""
    return d.discount_amount + d.shipping_discount


def as_json(sim: Simulation) -> dict[str, Any]:
    """The simulation as plain JSON values (amounts as decimal text)."""
    currencies = sorted({*sim.discount, *sim.stored})
    return {
        "event": sim.event,
        "rule_set_version": sim.version,
        "since": _iso(sim.period.since),
        "until": _iso(sim.period.until),
        "orders": sim.orders,
        "decided": sim.decided,
        "decided_in_python_for_inexact_rules": sim.inexact_orders,
        "inexact_rules": list(sim.inexact_rules),
        "unloaded_facts": list(sim.unloaded),
        "undecided": sim.undecided,
        "problems": [{"order": _plain(o), "message": m} for o, m in sim.problems],
        "rules": [
            {
                "rule": r.rule,
                "file": r.file,
                "line": r.line,
                "matched": r.matched,
                "applied": r.applied,
                "discount": {c: str(a) for c, a in sorted(r.discount.items())},
                "sample": [_plain(o) for o in r.sample],
            }
            for r in sim.rules
        ],
        "totals": {
            c: {
                "orders": sim.stored.get(c, (0, Decimal(0)))[0],
                "discounted": sim.discounted.get(c, 0),
                "discount": str(sim.discount.get(c, Decimal(0))),
                "stored_discount": str(sim.stored.get(c, (0, Decimal(0)))[1]),
                "change": str(sim.discount.get(c, Decimal(0)) - sim.stored.get(c, (0, 0))[1]),
            }
            for c in currencies
        },
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | str) else str(value)
