"""``--check-orders``: each stored order decided by the old semantics (the
oracle) and by the imported rules (``RuleSet.evaluate``), and every order
whose discount differs, with why.

Why, in the order it is looked for: the old discount rounded half-even
where rulec rounds half-up (same rule, same percentage, another cent); the
old winner was not imported as it ran (its notes say how: disabled, a
comment, mapped elsewhere); the new winner is a rule the old system never
ran on orders (mapped by ``--map``), or one the old winner no longer
overwrites.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from attrs import frozen

from rulec.engine.core.decision import Decision
from rulec.engine.core.money import MoneyError
from rulec.engine.core.ruleset import RuleSet
from rulec.tools.legacy.oracle import CENT, OldDiscount, old_discount
from rulec.tools.legacy.schema import Legacy, Order
from rulec.tools.legacy.translate import Imported, Translation

__all__ = ["Difference", "order_facts", "replay"]


@frozen
class Difference:
    """An order whose discount the imported rules decide otherwise than the old system."""

    order_id: int
    old_amount: Decimal
    old_description: str | None
    new_amount: Decimal
    new_description: str | None
    reasons: tuple[str, ...]

    def line(self) -> str:
        old = _figure(self.old_amount, self.old_description)
        new = _figure(self.new_amount, self.new_description)
        return f"orders_order {self.order_id}: old {old}, rulec {new}: " + "; ".join(self.reasons)


def _figure(amount: Decimal, description: str | None) -> str:
    return f"{amount}" + (f" {description!r}" if description is not None else "")


def order_facts(
    legacy: Legacy, translation: Translation, order: Order, currency: str = "EUR"
) -> dict[str, Any]:
    """The facts rulec decides ``order`` on: its subtotal, and its customer's labels
    (those rulec's customers can carry, by their imported names)."""
    has_customer = order.customer_id is not None
    names: set[str] = set()
    if has_customer and translation.labels is not None:
        for label_id in legacy.customer_labels.get(order.customer_id or 0, frozenset()):
            name = translation.labels.name(label_id, "customer")
            if name is not None:
                names.add(name)
    return {
        "order.subtotal": order.subtotal,
        "order.currency": currency,
        "order.placed_by_customer": has_customer,
        "customer.absent": not has_customer,
        "customer.labels": frozenset(names),
    }


def replay(
    legacy: Legacy,
    orders: Iterable[Order],
    translation: Translation,
    rules: RuleSet,
    currency: str = "EUR",
) -> list[Difference]:
    """Every order whose discount (amount or description) would differ, with why."""
    by_id = translation.by_id()
    by_name = translation.by_name()
    out: list[Difference] = []
    for order in orders:
        old = old_discount(legacy, order)
        try:
            new = rules.evaluate("order_created", order_facts(legacy, translation, order, currency))
        except MoneyError as e:  # a subtotal rulec refuses (10.005 EUR)
            amount = old.amount if old is not None and old.amount is not None else Decimal(0)
            text = old.description if old is not None else None
            out.append(Difference(order.id, amount, text, Decimal(0), None, (str(e),)))
            continue
        old_amount = old.amount if old is not None and old.amount is not None else Decimal("0.00")
        old_description = old.description if old is not None else None
        if old is not None and old.amount is None:
            old_description = None
        if (old_amount, old_description) == (new.discount_amount, new.discount_description):
            continue
        reasons = _why(old, new, order, by_id, by_name)
        out.append(
            Difference(
                order.id,
                old_amount,
                old_description,
                new.discount_amount,
                new.discount_description,
                tuple(reasons),
            )
        )
    return out


def _why(
    old: OldDiscount | None,
    new: Decision,
    order: Order,
    by_id: Mapping[int, Imported],
    by_name: Mapping[str, Imported],
) -> list[str]:
    reasons: list[str] = []
    winners = [by_name[a.rule] for a in new.applied if a.rule in by_name]
    if old is not None:
        mine = by_id.get(old.rule_id)
        same = len(winners) == 1 and mine is not None and winners[0] is mine
        if old.amount is None:
            reasons.append(
                f"rules_rule {old.rule_id}'s percentage is not a number: the old system failed "
                "on this order"
            )
        elif same and mine is not None and mine.discount is not None:
            up = (order.subtotal * mine.discount[1] / 100).quantize(CENT, ROUND_HALF_UP)
            if up == new.discount_amount and up != old.amount:
                reasons.append(
                    f"rounding: {order.subtotal} × {mine.discount[1]}% is "
                    f"{order.subtotal * mine.discount[1] / 100}, which the old system rounded "
                    f"half-even to {old.amount} and rulec rounds half-up to {up}"
                )
        if not same:
            reasons.extend(_fate(old.rule_id, mine))
    for w in winners:
        if old is None or w.rule_id != old.rule_id:
            if w.target.mapped:
                reasons.append(
                    f"rules_rule {w.rule_id} {w.name!r} runs on {w.target.event} by --map: "
                    f"the old system never ran trigger {w.code!r}"
                )
            elif old is not None and old.rule_id in by_id and w.rule_id is not None:
                pass  # the old winner's fate says why
            else:
                reasons.append(f"rules_rule {w.rule_id} {w.name!r} applies in rulec")
    return reasons or ["unexplained"]


def _fate(rule_id: int, mine: Imported | None) -> list[str]:
    """Why the old winner does not win in rulec."""
    if mine is None:
        return [f"rules_rule {rule_id} was not imported"]
    notes = "; ".join(mine.notes) if mine.notes else "no note"
    if mine.state != "enabled":
        return [
            f"rules_rule {rule_id} {mine.name!r}, which won in the old system, is "
            f"{'written as a comment' if mine.state == 'commented' else 'disabled'} "
            f"in rulec: {notes}"
        ]
    if mine.target.kind != "event" or mine.target.event != "order_created":
        return [f"rules_rule {rule_id} {mine.name!r} runs on {mine.target.describe()} in rulec"]
    return [f"rules_rule {rule_id} {mine.name!r} won in the old system and loses in rulec: {notes}"]
