"""``rulec explain``: an explanation as a JSON document (the text form is ``Explanation.text``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from rulec.engine.core.explain import Explanation

__all__ = ["as_json", "plain"]


def as_json(e: Explanation) -> dict[str, Any]:
    """``e`` as plain JSON values: amounts as decimal text, instants in ISO 8601."""
    d = e.decision
    return {
        "event": e.event,
        "judged_at": e.moment.isoformat(),
        "decision": {
            "currency": d.currency,
            "subtotal": str(d.subtotal),
            "discount_percentage": plain(d.discount_percentage),
            "discount_amount": str(d.discount_amount),
            "discount_description": d.discount_description,
            "total_amount": str(d.total_amount),
            # none: 0 with the currency's places, as the shipping discount is
            "shipping_amount": str(d.shipping_amount or d.shipping_discount),
            "shipping_discount": str(d.shipping_discount),
            "line_discounts": [str(x) for x in d.line_discounts],
            "applied": [
                {
                    "rule": a.rule,
                    "kind": a.kind,
                    "amount": str(a.amount),
                    "description": a.description,
                    "detail": a.detail,
                    "lines": [str(x) for x in a.lines],
                    "group": a.group,
                    "base": plain(a.base),
                }
                for a in d.applied
            ],
            "shown": None if d.verdict is None else d.verdict.shown,
            "coupons": [
                {"code": c.code, "reason_code": c.reason_code, "reason": c.reason, "rule": c.rule}
                for c in d.coupons
            ],
        },
        "rules": [
            {
                "rule": r.rule,
                "file": r.file,
                "line": r.line,
                "status": r.status,
                "reason": r.reason,
                "seen": [
                    {
                        "line": s.line,
                        "column": s.column,
                        "test": s.test,
                        "fact": s.fact,
                        "value": plain(s.value),
                        "result": s.result,
                    }
                    for s in r.seen
                ],
            }
            for r in e.rules
        ],
    }


def plain(value: Any) -> Any:
    """A fact's value as JSON: decimals as text, label sets as sorted lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple | list):
        return (
            sorted(map(str, value))
            if isinstance(value, frozenset | set)
            else [plain(v) for v in value]
        )
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
