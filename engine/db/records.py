"""rulec's own rows about an order: the discounts applied (audit rows), the
rules that failed, the status changes rules made.

Where they go is the binding's choice (:attr:`Binding.records`):

* ``"relations"`` (the reference models): the order's relationships
  ``applied_discounts``, ``rule_errors`` and ``status_changes``, flushed with it;
* ``"owned"`` (a backend's own models): rulec's own tables
  (:mod:`rulec.storage.owned`), keyed by the order's key, written with Core
  on the session's connection, in the caller's transaction. A new order has
  no key before its INSERT (an autoincrement, or a UUID its column's default
  makes): its rows are written once the flush has inserted it
  (:func:`write_deferred`, from the engine's ``after_flush`` hook).

Either way, deciding an order again with the same outcome changes no row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, insert, inspect, select
from sqlalchemy.orm import Session

from rulec.engine.core.decision import Decision
from rulec.engine.db.facts.binding import Binding
from rulec.storage.models import AppliedDiscount, OrderStatusChange, RuleErrorRecord
from rulec.storage.owned import RuleAudit, RuleError, RuleStatusChange

__all__ = [
    "Audit",
    "applied",
    "later",
    "write_audit",
    "write_coupons",
    "write_deferred",
    "write_errors",
    "write_status",
]

#: (rule, file, line, version, kind, percentage, amount, description, coupon code,
#: stacking group, base) of one applied discount.
Audit = tuple[Any, ...]

#: ``session.info`` key: (order, write) of the rows waiting for their order's key.
_DEFERRED = "rulec.deferred_records"

_AUDIT_COLUMNS = (
    "rule_name",
    "rule_file",
    "rule_line",
    "rule_set_version",
    "kind",
    "percentage",
    "amount",
    "description",
    "coupon_code",
    "stacking_group",
    "base",
)


def _new(order: Any) -> bool:
    state = inspect(order)
    return bool(state.pending or state.transient)


def _key(b: Binding, order: Any) -> Any:
    return b.o.get(order, "id")


def _later(session: Session, order: Any, write: Callable[[Session, Any], None]) -> None:
    session.info.setdefault(_DEFERRED, []).append((order, write))


def later(session: Session, order: Any, write: Callable[[Session, Any], None]) -> None:
    """Call ``write(session, key)`` once the flush has inserted ``order`` (it has its key)."""
    _later(session, order, write)


def write_deferred(session: Session, b: Binding) -> None:
    """Write the rows of the orders the flush has just inserted (their keys are known)."""
    waiting = session.info.pop(_DEFERRED, [])
    still = []
    for order, write in waiting:
        key = _key(b, order)
        if key is None:  # not inserted by this flush: the next one
            still.append((order, write))
        else:
            write(session, key)
    if still:
        session.info[_DEFERRED] = still


def forget_deferred(session: Session) -> None:
    """Drop the rows waiting for orders of a flush that failed (the caller rolls back)."""
    session.info.pop(_DEFERRED, None)


# ------------------------------------------------------------ audit rows --


def write_audit(session: Session, b: Binding, order: Any, wanted: list[Audit]) -> None:
    """Make ``order``'s audit rows ``wanted``; unchanged when they already are."""
    if b.records == "relations":
        _audit_relations(order, wanted)
        return
    if _new(order) or _key(b, order) is None:
        if wanted:
            _later(session, order, lambda s, key: _insert_audit(s, key, wanted))
        return
    key = _key(b, order)
    conn = session.connection({"mapper": b.order})
    have = [tuple(r) for r in conn.execute(_have_audit(key))]
    if have != wanted:  # re-firing with the same outcome changes nothing
        conn.execute(delete(RuleAudit).where(RuleAudit.order_key == key))
        _insert_audit(session, key, wanted)


def _have_audit(key: Any) -> Any:
    columns = [getattr(RuleAudit, c) for c in _AUDIT_COLUMNS]
    return select(*columns).where(RuleAudit.order_key == key).order_by(RuleAudit.id)


def _insert_audit(session: Session, key: Any, wanted: Sequence[Audit]) -> None:
    if not wanted:
        return
    rows = [{"order_key": key, **dict(zip(_AUDIT_COLUMNS, w, strict=True))} for w in wanted]
    session.connection().execute(insert(RuleAudit), rows)


def _audit_relations(order: Any, wanted: list[Audit]) -> None:
    state = inspect(order)
    if state.pending or state.transient:
        # A new order has no audit rows yet: add the wanted ones, if any.
        # Appending to an empty collection costs a third of replacing it.
        if wanted:
            current = state.dict.get("applied_discounts")
            if current:  # rows the caller put there are replaced, as on re-firing
                order.applied_discounts = [_audit_row(w) for w in wanted]
            else:
                rows = order.applied_discounts
                for w in wanted:
                    rows.append(_audit_row(w))
        return
    have = [tuple(getattr(x, c) for c in _AUDIT_COLUMNS) for x in order.applied_discounts]
    if have != wanted:  # re-firing with the same outcome changes nothing
        order.applied_discounts = [_audit_row(w) for w in wanted]


def _audit_row(wanted: Audit) -> AppliedDiscount:
    row = dict(zip(_AUDIT_COLUMNS, wanted, strict=True))
    for optional in ("coupon_code", "stacking_group", "base"):
        if row[optional] is None:  # left to the column: rows stay writable by an older schema
            del row[optional]
    return AppliedDiscount(**row)


def applied(session: Session, b: Binding, order: Any) -> list[dict[str, Any]]:
    """``order``'s audit rows as stored (or added to the session), oldest first."""
    if b.records == "relations":
        return [{c: getattr(x, c) for c in _AUDIT_COLUMNS} for x in order.applied_discounts]
    key = _key(b, order)
    if key is None:
        return []
    conn = session.connection({"mapper": b.order})
    return [dict(zip(_AUDIT_COLUMNS, r, strict=True)) for r in conn.execute(_have_audit(key))]


# ------------------------------------------------------------ coupon codes --

#: The columns of a row of codes an outcome is written to, each optional (a backend's
#: own class of codes may map none of them: then nothing is written).
COUPON_COLUMNS = ("outcome", "reason", "rule", "rule_set_version")


def write_coupons(b: Binding, order: Any, d: Decision) -> None:
    """Write what became of each code entered (``d.coupons``) on the order's rows of
    codes (its ``coupons`` relation), in the columns their class maps; a row keeps its
    values when deciding again gives the same outcome."""
    key = b.o.attr("coupons")
    if key is None:
        return
    relation = b.o.mapper.relationships.get(key)
    if relation is None:  # pragma: no cover - coupon_codes() reads the same relation
        return
    have = set(relation.mapper.attrs.keys())
    columns = [c for c in COUPON_COLUMNS if c in have]
    if not columns or "code" not in have:
        return
    outcomes = {c.code: c for c in d.coupons}
    for row in getattr(order, key):
        got = outcomes.get(str(row.code).strip().upper())
        values = {
            "outcome": got.reason_code if got else None,
            "reason": got.reason if got else None,
            "rule": got.rule if got else None,
            "rule_set_version": d.version if got else None,
        }
        for c in columns:
            if getattr(row, c) != values[c]:
                setattr(row, c, values[c])


# ----------------------------------------------------------- rule errors --


def write_errors(
    session: Session, b: Binding, order: Any, errors: Sequence[Any], *, replace: bool
) -> None:
    """Record ``errors`` (a decision's :class:`RuleFailure`\\ s) on ``order``.

    ``replace``: a new order's errors are this decision's (an order retried
    after a failed flush must not keep the first attempt's as well); else a
    stored order keeps the history of its evaluations' errors.
    """
    rows = [
        {"rule_name": e.rule, "rule_file": e.file, "rule_line": e.line, "message": e.message}
        for e in errors
    ]
    if b.records == "relations":
        records = [RuleErrorRecord(**r) for r in rows]
        if replace and (records or inspect(order).dict.get("rule_errors")):
            order.rule_errors = records
        elif not replace:
            order.rule_errors.extend(records)
        return
    if not rows:
        return

    def write(s: Session, key: Any) -> None:
        s.connection().execute(insert(RuleError), [{"order_key": key, **r} for r in rows])

    key = _key(b, order)
    if _new(order) or key is None:
        _later(session, order, write)
    else:
        write(session, key)


# -------------------------------------------------------- status history --


def write_status(session: Session, b: Binding, order: Any, row: dict[str, Any]) -> None:
    """Record one status change a rule made on ``order`` (``row``: its columns)."""
    if b.records == "relations":
        order.status_changes.append(OrderStatusChange(**row))
        return

    def write(s: Session, key: Any) -> None:
        s.connection().execute(insert(RuleStatusChange), [{"order_key": key, **row}])

    key = _key(b, order)
    if _new(order) or key is None:
        _later(session, order, write)
    else:
        write(session, key)
