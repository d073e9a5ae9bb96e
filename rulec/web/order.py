"""An order on the page: its facts, as the engine reads a stored order's, and its basket.

The page sends an order as the nested facts ``rulec explain --given`` reads
(``{"customer": {"labels": [...]}, "order": {...}, "item": [{...}, ...]}``),
amounts as decimal text. :func:`order_facts` types them with the same reader
(:func:`rulec.tools.given.typed_facts`) and fills in what the fact catalog
derives from an order's lines when the page leaves it empty, as
``rulec.engine.db.facts.catalog`` defines it for a stored order:

* ``item.line_total``: quantity × unit price, rounded half-up to the
  currency's minor unit (:func:`rulec.engine.core.money.line_total`);
* ``order.subtotal``: an order made of lines costs what its lines cost;
* ``order.line_count`` and ``order.item_count``: its lines, its quantities
  added up;
* a presence field (``order placed_by_customer``): whether the optional
  entity it names is there.

Nothing else is checked here: the facts then go through the event's door
(:mod:`rulec.engine.core.validate`), as ``RuleSet.evaluate``'s do, and a
refusal is the door's own error. ``tests/cli/test_playground.py`` holds these
facts equal to the catalog's for the same order stored in a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from rulec.dsl.vocabulary import Event, Vocabulary
from rulec.engine.core.decision import SHIPPING_KINDS, CouponOutcome, Decision
from rulec.engine.core.money import allocate, line_total
from rulec.tools.explain import plain
from rulec.tools.given import typed_facts

__all__ = ["as_document", "basket_of", "order_facts"]

SOURCE = "order form"


def order_facts(document: Any, vocabulary: Vocabulary, event: Event) -> dict[str, Any]:
    """The nested facts of the page's order ``document`` for ``event``, typed, with
    what the catalog derives from the lines filled in; FactsFileError when a
    value cannot be read as its field's type."""
    facts = typed_facts(document, vocabulary, SOURCE)
    order = facts.get("order")
    if not isinstance(order, dict):
        return facts
    currency = order.get("currency")
    for entity in event.many:
        members = facts.get(entity)
        if not isinstance(members, list):
            continue
        totals = [_line_total(m, currency) for m in members]
        for m, total in zip(members, totals, strict=True):
            if total is not None and m.get("line_total") is None:
                m["line_total"] = total
        known = [t for t in totals if t is not None]
        if members and len(known) == len(members):
            # an order made of lines costs what its lines cost, whatever is written on it
            order["subtotal"] = sum(known, Decimal(0))
        if order.get("line_count") is None and _has(vocabulary, "order", "line_count"):
            order["line_count"] = len(members)
        quantities = [m.get("quantity") for m in members]
        if (
            order.get("item_count") is None
            and _has(vocabulary, "order", "item_count")
            and all(_integer(q) for q in quantities)
        ):
            order["item_count"] = sum(quantities)
    for name in event.entities:
        found = vocabulary.entity(name)
        for f in found.fields if found is not None else ():
            if f.presence_of is None or f.presence_of not in event.optional:
                continue
            held = facts.get(name)
            if isinstance(held, dict) and held.get(f.name) is None:
                there = facts.get(f.presence_of)
                held[f.name] = isinstance(there, dict) and not there.get("absent", False)
    return facts


def _has(vocabulary: Vocabulary, entity: str, name: str) -> bool:
    found = vocabulary.entity(entity)
    return found is not None and found.field(name) is not None


def _integer(value: Any) -> bool:
    return type(value) is int


def _line_total(member: Mapping[str, Any], currency: Any) -> Decimal | None:
    """A line's total, when its quantity and unit price are of their types."""
    quantity, price = member.get("quantity"), member.get("unit_price")
    if not _integer(quantity) or not isinstance(price, Decimal) or not price.is_finite():
        return None
    return line_total(quantity, price, currency if isinstance(currency, str) else "")


def basket_of(decision: Decision, facts: Mapping[str, Any], event: Event) -> dict[str, Any]:
    """The basket ``decision`` gives the order: its lines with their shares of the
    discount (``Decision.line_discounts``, as the engine writes them),
    the subtotal, each applied discount (``shipping``: off the shipping charge),
    the shipping charge and its discount, the total, and what became of each
    coupon code entered; as JSON values."""
    d = decision
    lines: list[dict[str, Any]] = []
    members = next((facts.get(e) for e in event.many if isinstance(facts.get(e), list)), None)
    if members:
        totals = [m.get("line_total") or Decimal(0) for m in members]
        shares = list(d.line_discounts)  # each line's share, as the decision worked it out
        if len(shares) != len(totals):  # lines without a price: the decision has no shares
            try:
                shares = allocate(d.discount_amount, totals, d.currency)
            except ValueError:  # lines worth nothing, or a currency rulec does not know
                shares = [Decimal(0)] * len(totals)
        for m, total, share in zip(members, totals, shares, strict=True):
            lines.append(
                {
                    "name": m.get("name") or "",
                    "quantity": m.get("quantity"),
                    "unit_price": plain(m.get("unit_price")),
                    "line_total": str(total),
                    "discount": str(share),
                    "total": str(total - share),
                    "labels": plain(frozenset(m.get("labels") or ())),
                }
            )
    return {
        "currency": d.currency,
        "subtotal": str(d.subtotal),
        "lines": lines,
        "discounts": [
            {
                "rule": a.rule,
                "file": a.file,
                "line": a.line,
                "description": a.description,
                "kind": a.kind,
                "percentage": None if a.percentage is None else f"{a.percentage.normalize():f}",
                "amount": str(a.amount),
                "capped": a.capped,
                "shipping": a.kind in SHIPPING_KINDS,
            }
            for a in d.applied
        ],
        # none: 0 with the currency's places, as the shipping discount is
        "shipping_amount": str(d.shipping_amount or d.shipping_discount),
        "shipping_discount": str(d.shipping_discount),
        "discount_description": d.discount_description,
        "discount_percentage": (
            None if d.discount_percentage is None else f"{d.discount_percentage.normalize():f}"
        ),
        "discount_amount": str(d.discount_amount),
        "total": str(d.total_amount),
        "label_changes": [
            {"entity": c.entity, "label": c.label, "add": c.add} for c in d.label_changes
        ],
        "field_changes": [
            {"entity": c.entity, "field": c.field, "value": c.value, "rule": c.rule}
            for c in d.field_changes
        ],
        "errors": [
            {"rule": e.rule, "file": e.file, "line": e.line, "message": e.message} for e in d.errors
        ],
        "coupons": [_coupon(c, d) for c in d.coupons],
    }


def _coupon(c: CouponOutcome, d: Decision) -> dict[str, Any]:
    """A code's outcome as the decision says it (its stable ``reason_code`` and the
    ``reason`` in words) and, when it applied, the discount its rule gave."""
    given = next((a for a in d.applied if a.rule == c.rule), None) if c.applied else None
    return {
        "code": c.code,
        "applied": c.applied,
        "reason_code": c.reason_code,
        "reason": c.reason,
        "rule": c.rule,
        "description": None if given is None else given.description,
        "amount": None if given is None else str(given.amount),
    }


def as_document(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Flat facts (``"customer.labels"``, ``"item.all"``), as the engine loads a stored
    order's, as the page's nested order document: labels as sorted lists, amounts
    as decimal text, instants in ISO 8601, an absent entity as ``{"absent": true}``."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        entity, _, name = key.partition(".")
        if name == "all":
            out[entity] = [as_document(m).get(entity, {}) for m in value or ()]
        elif name == "absent":
            if value:
                out[entity] = {"absent": True}
        elif not (isinstance(out.get(entity), dict) and out[entity].get("absent")):
            out.setdefault(entity, {})[name] = _json(value)
    return out


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return plain(value)
