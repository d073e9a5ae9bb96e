"""Stacking groups in the discount policy: the best discount of each group, each
group's percentages on its own base, every group's winners together.

A rule is in the default group, or in the group its ``in group X`` names
(declared ``group X``, or ``group X after Y, Z``; see
:mod:`rulec.dsl.groups`). Within a group, discounts compete as the default
group's do: the best non-combinable one applies (the largest amount; ties to
the earlier rule by priority, then source order), with the group's
``combinable`` ones. Groups stack: the default group's discounts apply
first, then each named group's, in an order that puts every group after
the groups it comes after (the others by name), whatever the order of the
files and rules.

A group's **base** is what its percentages (and its tiers' thresholds) are
taken of: the undiscounted subtotal, or for a group ``after`` others the
subtotal less what those groups chose, directly or through a group they
come after, never below zero. The default group's base is the subtotal;
it is in no group's ``after``. Discounts on lines are worked out on the
lines' own prices in every group (never more than what is left of a line).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from attrs import evolve

from rulec.engine.core.decision import AppliedDiscount, LostRule

if TYPE_CHECKING:
    from rulec.engine.core.discount import _Offer
    from rulec.engine.core.rules import Rule_

__all__ = ["BETTER_IN", "best_of", "group_order", "in_groups", "stacked"]

ZERO = Decimal(0)

#: The reason a rule loses to a better discount of its group.
BETTER_IN = "a better discount in group '{group}' applied: '{{}}'"


def best_of(offers: Sequence[_Offer], losses: list[LostRule], better: str) -> list[_Offer]:
    """Of ``offers`` (in the policy's order), the best non-combinable one (the first
    of the largest wins ties), then every combinable one; the other
    non-combinable ones are added to ``losses`` with the reason ``better``
    (formatted with the winner's name)."""
    best = None
    stacked = []
    for o in offers:  # the first of the largest wins ties
        if o[0].combinable:
            stacked.append(o)
        elif best is None or o[2] > best[2]:
            best = o
    if best is None:
        return stacked
    if len(offers) > 1:
        name = best[0].name
        losses += [
            LostRule(o[0].name, o[0].file, o[0].line, better.format(name))
            for o in offers
            if o is not best and not o[0].combinable
        ]
    return [best, *stacked]


def group_order(after: Mapping[str, Sequence[str]]) -> list[str]:
    """The groups of ``after`` (each group -> the groups it comes after), each after
    those of them it names; of the groups free to go next, the first by name.
    A group named in an ``after`` but not a key of ``after`` is left out."""
    waiting = {g: {a for a in names if a in after and a != g} for g, names in after.items()}
    out: list[str] = []
    while waiting:
        free = [g for g, needs in waiting.items() if not needs]
        # a cycle (refused by the checker, R361) would leave none free: take the first
        g = min(free) if free else min(waiting)
        del waiting[g]
        for needs in waiting.values():
            needs.discard(g)
        out.append(g)
    return out


def stacked(
    offers: Sequence[_Offer],
    losses: list[LostRule],
    subtotal: Decimal,
    offer_on: Callable[[Rule_, Decimal], _Offer | None],
    better: str,
) -> tuple[list[_Offer], dict[str, tuple[str | None, Decimal | None]]]:
    """The offers that apply, group by group in the order they apply, and each
    applied rule's group and base (None: the undiscounted subtotal).

    ``offers`` are worked out on the subtotal, in the policy's order;
    ``offer_on(rule, base)`` works a rule's offer out again on another base
    (None: it has none there, and its loss is recorded). Losers are added to
    ``losses``; ``better`` is the reason of a loser of the default group."""
    by_group: dict[str | None, list[_Offer]] = {}
    after: dict[str, tuple[str, ...]] = {}
    for o in offers:
        g = o[0].group
        by_group.setdefault(g, []).append(o)
        if g is not None:
            after[g] = o[0].after
    chosen: list[_Offer] = []
    bases: dict[str, tuple[str | None, Decimal | None]] = {}
    default = by_group.get(None)
    if default:
        chosen += best_of(default, losses, better)
    taken: dict[str, Decimal] = {}
    for g in group_order(after):
        mine = by_group[g]
        base = None
        if after[g]:
            base = subtotal - sum([taken.get(a, ZERO) for a in after[g]], ZERO)
            if base < ZERO:
                base = ZERO
            again = [offer_on(o[0], base) for o in mine]
            mine = [o for o in again if o is not None]
        won = best_of(mine, losses, BETTER_IN.format(group=g))
        taken[g] = sum([o[2] for o in won], ZERO)
        chosen += won
        for o in won:
            bases[o[0].name] = (g, base)
    return chosen, bases


def in_groups(
    applied: Sequence[AppliedDiscount], bases: Mapping[str, tuple[str | None, Decimal | None]]
) -> list[AppliedDiscount]:
    """``applied``, each with its group and, for a discount of the whole order in a
    group after others, the base its percentage or tier was taken of."""
    out = []
    for a in applied:
        got = bases.get(a.rule)
        if got is None:
            out.append(a)
            continue
        group, base = got
        if a.kind not in ("percentage", "fixed"):
            base = None  # on lines: on the lines' own prices
        out.append(evolve(a, group=group, base=base))
    return out
