"""The old system's decisions, computed plainly from its tables: the oracle
``--check-orders`` and the tests hold rulec's decisions against.

This is the old semantics as :mod:`rulec.tools.legacy.translate` describes
them, including what they left undefined, pinned down the way its tables
return rows in id order (the order of a fresh SQLite or PostgreSQL table):
the last matching rule by id wins.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import ROUND_HALF_EVEN, Context, Decimal

from attrs import frozen

from rulec.tools.legacy.schema import Legacy, Order, Rule
from rulec.tools.legacy.translate import DEFAULT_TITLE, old_percentage

__all__ = ["CENT", "OldDiscount", "old_discount", "old_price_shown"]

CENT = Decimal("0.01")
#: Python's default decimal context: 28 digits, half-even.
_DEFAULT = Context(prec=28, rounding=ROUND_HALF_EVEN)


@frozen
class OldDiscount:
    """What the old system wrote on an order."""

    rule_id: int
    action_id: int
    #: None when the percentage was not a number: the old code raised
    percentage: Decimal | None
    amount: Decimal | None
    description: str
    #: every rule that matched, in the order it ran (the last one wins)
    matched: tuple[int, ...]


def _holds(rule: Rule, labels: Collection[int], entity: str) -> bool:
    """A rule's gating labels (any of) and conditions (all), judging ``entity``."""
    if rule.labels and not any(i in labels for i in rule.labels):
        return False
    for c in rule.conditions:
        if c.entity != entity:
            return False
        if c.operator == "HAS_LABEL":
            ok = c.label_id in labels
        elif c.operator == "NOT_LABEL":
            ok = c.label_id not in labels
        else:
            ok = False
        if not ok:
            return False
    return True


def old_discount(
    legacy: Legacy, order: Order, codes: Collection[str] = ("discount_vip",)
) -> OldDiscount | None:
    """The discount the old system gave ``order`` on creation (trigger ``codes``)."""
    if order.customer_id is None:
        return None
    labels = legacy.customer_labels.get(order.customer_id, frozenset())
    result: OldDiscount | None = None
    matched: list[int] = []
    for rule in legacy.rules:
        trigger = legacy.triggers.get(rule.trigger_id) if rule.trigger_id is not None else None
        if trigger is None or trigger.code not in codes or rule.status != "ENABLED":
            continue
        if not _holds(rule, labels, "CUSTOMER"):
            continue
        matched.append(rule.id)
        for action in rule.actions:
            if action.action_type != "DISCOUNT":
                continue  # STATUS_CHANGE only printed
            pct = old_percentage(action.params)
            amount = None
            if pct is not None:
                amount = (order.subtotal * pct / 100).quantize(CENT, context=_DEFAULT)
            raw = (action.params or {}).get("description", DEFAULT_TITLE)
            result = OldDiscount(
                rule.id, action.id, pct, amount, raw if isinstance(raw, str) else str(raw), ()
            )
    if result is None:
        return None
    return OldDiscount(
        result.rule_id,
        result.action_id,
        result.percentage,
        result.amount,
        result.description,
        tuple(matched),
    )


def old_price_shown(
    legacy: Legacy,
    price_labels: Collection[int],
    customer_labels: Collection[int] | None,
    year: int | None,
    agent: bool,
) -> bool:
    """Whether the old pricing showed a price to a viewer choosing wedding ``year``.

    The year's trigger is ``pricing_trigger_<year>_<year+1>``, or its
    ``_Agent`` twin for an agent when there is one; without a trigger every
    price is shown; with one, a price is shown when one of its enabled
    rules matches: its gating labels any of (on the price or the customer),
    its conditions ORed (PRICE and CUSTOMER label tests; any other entity,
    and a customer test with no customer, false), none meaning always.
    """
    if year is None:
        return True
    code = f"pricing_trigger_{year}_{year + 1}"
    codes = {t.code for t in legacy.triggers.values()}
    if agent and code + "_Agent" in codes:
        code += "_Agent"
    if code not in codes:
        return True
    for rule in legacy.rules:
        trigger = legacy.triggers.get(rule.trigger_id) if rule.trigger_id is not None else None
        if trigger is None or trigger.code != code or rule.status != "ENABLED":
            continue
        customer = customer_labels if customer_labels is not None else ()
        if rule.labels and not any(
            i in price_labels or (customer_labels is not None and i in customer)
            for i in rule.labels
        ):
            continue
        if not rule.conditions:
            return True
        for c in rule.conditions:
            if c.entity == "PRICE":
                labels: Collection[int] | None = price_labels
            elif c.entity == "CUSTOMER":
                labels = customer_labels
            else:
                continue
            if labels is None:
                continue
            if c.operator == "HAS_LABEL" and c.label_id in labels:
                return True
            if c.operator == "NOT_LABEL" and c.label_id not in labels:
                return True
    return False
