"""``rulec diff``: what changes for the stored orders between two versions of a rule set.

Every stored order either set's rules can hold for is decided by both (the
database selects them, :mod:`rulec.engine.db.backtest`; the engine decides),
and each order whose decision changes is put in one group:

* **newly discounted**: no discount before, one now;
* **no longer discounted**: a discount before, none now;
* **amount changed**: a discount before and now, of another amount;
* **different rule won**: the same amount, given by other rules;
* **other effects changed**: the same discount, but other labels or fields set.

The report gives the orders per group, the money delta (what the new rules
give less what the old ones gave) per currency and per rule, and a sample
of changed orders with each version's explanation
(:meth:`RuleSet.explain`), the rules that applied or lost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from attrs import define, field
from sqlalchemy import Engine

from rulec.engine.core.decision import Decision
from rulec.engine.core.explain import NOT_APPLICABLE
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db.backtest import (
    Decided,
    Period,
    count_inexact,
    count_orders,
    decide_stored,
    read_only,
    select_orders,
)
from rulec.engine.db.facts.binding import REFERENCE, Binding
from rulec.tools.simulate import SAMPLE, Progress, add_money, given_away

__all__ = ["KINDS", "Change", "Diff", "classify", "diff"]

#: The groups of changed orders, in the order reports list them.
KINDS = (
    "newly discounted",
    "no longer discounted",
    "amount changed",
    "different rule won",
    "other effects changed",
)


def classify(old: Decision, new: Decision) -> str | None:
    """How the decision for one order changed from ``old`` to ``new`` (None: it did not)."""
    a, b = given_away(old), given_away(new)
    if not a and b:
        return KINDS[0]
    if a and not b:
        return KINDS[1]
    if a != b:
        return KINDS[2]
    if [d.rule for d in old.applied] != [d.rule for d in new.applied]:
        return KINDS[3]
    if _effects(old) != _effects(new):
        return KINDS[4]
    return None


def _effects(d: Decision) -> tuple[Any, ...]:
    return (
        tuple((c.entity, c.label, c.add) for c in d.label_changes),
        tuple((c.entity, c.field, c.value) for c in d.field_changes),
    )


@define
class Change:
    """One changed order of the sample: how, and each version's explanation."""

    order: Any
    kind: str
    currency: str
    before: Decimal
    after: Decimal
    #: The explanations' lines (the decision, then the rules that applied or lost).
    explain_before: list[str]
    explain_after: list[str]


@define
class Diff:
    """What changes between two rule sets over the stored orders of a period."""

    event: str
    old_name: str
    new_name: str
    period: Period
    orders: int = 0
    decided: int = 0
    inexact_rules: tuple[str, ...] = ()
    inexact_orders: int = 0
    unloaded: tuple[str, ...] = ()
    #: Changed orders per group (KINDS).
    changed: dict[str, int] = field(factory=lambda: dict.fromkeys(KINDS, 0))
    #: Per currency: the discount given by the old rules and by the new ones.
    old_discount: dict[str, Decimal] = field(factory=dict)
    new_discount: dict[str, Decimal] = field(factory=dict)
    #: Per rule (its name) and currency: what it gave before and now.
    old_by_rule: dict[str, dict[str, Decimal]] = field(factory=dict)
    new_by_rule: dict[str, dict[str, Decimal]] = field(factory=dict)
    sample: list[Change] = field(factory=list)
    sample_size: int = SAMPLE
    undecided: int = 0
    #: Folders left out of the paths in the sample's explanations (old, new).
    folders: tuple[str, str] = ("", "")

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())

    def delta(self) -> dict[str, Decimal]:
        """Per currency: the new rules' discount less the old ones'."""
        currencies = sorted({*self.old_discount, *self.new_discount})
        return {
            c: self.new_discount.get(c, Decimal(0)) - self.old_discount.get(c, Decimal(0))
            for c in currencies
        }

    def rule_deltas(self) -> list[tuple[str, str, Decimal, Decimal]]:
        """(rule, currency, before, after) of every rule whose money changed, by rule name."""
        out = []
        for name in sorted({*self.old_by_rule, *self.new_by_rule}):
            old = self.old_by_rule.get(name, {})
            new = self.new_by_rule.get(name, {})
            for c in sorted({*old, *new}):
                before, after = old.get(c, Decimal(0)), new.get(c, Decimal(0))
                if before != after:
                    out.append((name, c, before, after))
        return out


def diff(
    engine: Engine,
    old: RuleSet,
    new: RuleSet,
    event: str = "order_created",
    period: Period | None = None,
    *,
    names: tuple[str, str] = ("old", "new"),
    folders: tuple[str, str] = ("", ""),
    binding: Binding = REFERENCE,
    sample: int = SAMPLE,
    progress: Progress | None = None,
) -> Diff:
    """The orders stored in ``engine``'s database (those of ``period``) whose decision
    changes from ``old`` to ``new``, without writing anything.

    ``folders``: where each set's files were read from, left out of the paths the
    explanations name (rules extracted from git into a temporary folder).
    """
    period = period or Period()
    report = Diff(event, names[0], names[1], period, sample_size=sample, folders=folders)
    selection = select_orders([old, new], event, period, binding)
    report.inexact_rules = selection.inexact
    report.unloaded = selection.unloaded
    with read_only(engine) as conn:
        report.orders = count_orders(conn, selection.period, binding)
        report.inexact_orders = count_inexact(conn, selection, binding)
        for page in decide_stored(conn, [old, new], event, selection, binding):
            for order in page:
                _one(report, old, new, order)
            if progress is not None:
                progress(page[-1].id)
    return report


def _one(report: Diff, old: RuleSet, new: RuleSet, order: Decided) -> None:
    before, after = order.decisions
    if before is None or after is None:
        report.undecided += 1
        return
    report.decided += 1
    for d, totals, by_rule in (
        (before, report.old_discount, report.old_by_rule),
        (after, report.new_discount, report.new_by_rule),
    ):
        if given_away(d):
            add_money(totals, d.currency, given_away(d))
        for a in d.applied:
            add_money(by_rule.setdefault(a.rule, {}), d.currency, a.amount)
    kind = classify(before, after)
    if kind is None:
        return
    report.changed[kind] += 1
    if len(report.sample) < report.sample_size:
        report.sample.append(
            Change(
                order.id,
                kind,
                before.currency,
                given_away(before),
                given_away(after),
                _explained(old, report.event, order, report.folders[0]),
                _explained(new, report.event, order, report.folders[1]),
            )
        )


def _explained(rule_set: RuleSet, event: str, order: Decided, folder: str) -> list[str]:
    """The explanation's head line and the rules that applied or lost, as lines."""
    e = rule_set.explain(event, order.facts)
    head = e.text().split("\n", 1)[0]
    lines = [head, *(r.text() for r in e.rules if r.status != NOT_APPLICABLE)]
    return [line.replace(folder, "") for line in lines] if folder else lines
