"""Example facts in business words: "an order with customer labels Customer_VIP,
subtotal 120.00 EUR", for the deep-lint diagnostics that show an example order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rulec.dsl.vocabulary import Event, Kind

__all__ = ["facts_in_words"]


def facts_in_words(facts: Mapping[str, Any], event: Event | None = None) -> str:
    """``facts`` (flat) as a phrase: what the example is, then each fact it names."""
    parts: list[str] = []
    subtotal = facts.get("order.subtotal")
    currency = facts.get("order.currency")
    for key in sorted(facts):
        if key in ("order.subtotal", "order.currency"):
            continue
        parts.append(_fact(key, facts[key]))
    if subtotal is not None:
        parts.append(f"subtotal {subtotal} {currency or 'EUR'}".rstrip())
    elif currency is not None:
        parts.append(f"currency {currency}")
    what = _subject(event)
    return f"{what} with {', '.join(p for p in parts if p)}" if parts else what


def _subject(event: Event | None) -> str:
    if event is None or event.kind is Kind.ORDER:
        return "an order"
    name = event.subject or (event.entities[0] if event.entities else "case")
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def _fact(key: str, value: Any) -> str:
    entity, _, name = key.rpartition(".")
    if name == "labels":
        labels = sorted(map(str, value or ()))
        return f"{entity} labels {', '.join(labels)}" if labels else f"{entity} without labels"
    if name == "absent":
        return f"no {entity}" if value else ""
    if name == "all":
        if not value:
            return f"no {entity}s"
        members = [", ".join(_fact(k, v) for k, v in sorted(m.items())) for m in value]
        return f"{entity}s: " + "; ".join(f"one with {m}" if m else "one" for m in members)
    words = f"{entity} {name.replace('_', ' ')}"
    return f"{words} {_value(value)}"


def _value(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset | set | tuple | list):
        return "(" + ", ".join(sorted(map(str, value))) + ")"
    return str(value)
