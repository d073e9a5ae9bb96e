"""Writing a decision: an order's figures, audit rows and line shares; labels and fields.

Every change goes through the caller's session, inside its transaction; the
engine never commits. :func:`write_order` writes an order's decision;
:func:`apply_effects` (the label changes and field settings) is shared by
every way rules run: orders as they are flushed, label events, and
scheduled runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from rulec.engine.core.decision import Decision, FieldChange
from rulec.engine.core.rules import LabelChange_
from rulec.engine.db.facts.binding import REFERENCE, Binding
from rulec.engine.db.facts.labels import RULE_LINKS
from rulec.engine.db.records import write_audit, write_coupons, write_errors, write_status

__all__ = [
    "RULE_LINKS",
    "apply_effects",
    "change_label",
    "order_targets",
    "set_field",
    "write_order",
]


def change_label(
    session: Session,
    holder: str,
    target: Any,
    name: str,
    add: bool,
    known: dict[tuple[str, str], Any] | None = None,
    binding: Binding = REFERENCE,
) -> bool:
    """Link (``add``) or unlink the label ``name`` and ``target``, a ``holder`` row,
    as the binding's label store keeps them (:mod:`.facts.labels`). Returns
    whether anything was done.

    ``known``, a dict the caller keeps for one transaction (a batch of a
    scheduled run), remembers labels by (entity type, name) so each is
    looked up once.
    """
    return binding.labels.change(session, holder, target, name, add, known)


def set_field(
    session: Session,
    target: Any,
    change: FieldChange,
    version: str,
    binding: Binding = REFERENCE,
) -> bool:
    """Set ``change.field`` of ``target``; an order's status change gets a history row."""
    mapped = next((e for e in binding.entities.values() if e.cls is type(target)), None)
    attr = mapped.attr(change.field) if mapped is not None else change.field
    if attr is None:
        raise AttributeError(
            f"{type(target).__name__} has no attribute for the field {change.field!r}"
        )
    old = getattr(target, attr)
    if old is None:  # a new row before its INSERT: the column's default is its value
        column = mapped.column(change.field) if mapped is not None else None
        if column is None:
            column = type(target).__table__.c[attr]
        default = column.default
        old = getattr(default, "arg", None) if default is not None else None
        if callable(old):
            old = None
    if old == change.value:
        return False
    setattr(target, attr, change.value)
    if isinstance(target, binding.order) and change.field == "status":
        row = {
            "old_status": old,
            "new_status": change.value,
            "rule_name": change.rule,
            "rule_file": change.file,
            "rule_line": change.line,
            "rule_set_version": version,
        }
        write_status(session, binding, target, row)
    return True


def write_order(
    session: Session,
    order: Any,
    d: Decision,
    lines: Sequence[Any] = (),
    binding: Binding = REFERENCE,
    unlocked: Mapping[str, str] | None = None,
) -> None:
    """Write decision ``d`` on ``order``, in ``session``'s transaction.

    Its figures and the rule set's version go in the order's own columns (its
    shipping discount too, when its binding maps ``shipping_discount``); one
    audit row per applied discount, a shipping discount's too, with the coupon
    code that unlocked it (``unlocked``: the code per rule name, see
    :func:`rulec.engine.core.coupons.unlocking`), unchanged when deciding again
    gives the same ones; what became of each coupon code entered, on the order's
    rows of codes (:func:`rulec.engine.db.records.write_coupons`); the rule
    failures as ``rule_errors`` rows (a new order's are this decision's, a
    stored order keeps the history); each of
    ``lines`` its share of the discount; then the label changes and field
    settings on the order, its customer and its agent.
    """
    o = binding.o
    o.set(order, "discount_percentage", d.discount_percentage)
    o.set(order, "discount_amount", d.discount_amount)
    o.set(order, "discount_description", d.discount_description)
    o.set(order, "total_amount", d.total_amount)
    o.set(order, "shipping_discount", d.shipping_discount)  # False: not mapped, no shipping
    o.set(order, "rule_set_version", d.version)
    codes = unlocked or {}
    wanted = [
        (
            a.rule,
            a.file,
            a.line,
            d.version,
            a.kind,
            a.percentage,
            a.amount,
            a.description,
            codes.get(a.rule),
            a.group,
            a.base,
        )
        for a in d.applied
    ]
    write_audit(session, binding, order, wanted)
    if d.coupons:
        write_coupons(binding, order, d)
    state = inspect(order)
    write_errors(session, binding, order, d.errors, replace=bool(state.pending or state.transient))
    if lines:
        _shares(lines, d, binding)
    if d.label_changes or d.field_changes:
        apply_effects(session, d, order_targets(session, order, binding), binding=binding)


def _shares(lines: Sequence[Any], d: Decision, b: Binding) -> None:
    """Each line's share of the order's discount, as the decision worked it out
    (``Decision.line_discounts``: they add up to the discount exactly), when the
    lines have a column for it."""
    ln = b.ln
    if not ln.has("discount_amount"):
        return
    shares = d.line_discounts
    if len(shares) != len(lines):
        raise RuntimeError(
            f"the decision has shares for {len(shares)} lines and the order {len(lines)}: "
            "it was not decided from these lines"
        )
    for line, part in zip(lines, shares, strict=True):
        if ln.get(line, "discount_amount") != part:
            ln.set(line, "discount_amount", part)


def order_targets(session: Session, order: Any, binding: Binding = REFERENCE) -> dict[str, Any]:
    """The rows an order event's rules may change: the order, its customer and agent."""
    o = binding.o
    targets: dict[str, Any] = {"order": order}
    for entity, cls in (("customer", binding.customer), ("agent", binding.agent)):
        relation = o.attr(entity)
        row = getattr(order, relation) if relation is not None else None
        key = o.get(order, f"{entity}_id")
        if row is None and key is not None and cls is not None:
            row = session.get(cls, key)
        targets[entity] = row
    return targets


def apply_effects(
    session: Session,
    decision: Decision,
    targets: Mapping[str, Any],
    labels: dict[tuple[str, str], Any] | None = None,
    binding: Binding = REFERENCE,
) -> None:
    """Apply ``decision``'s label changes and field settings to ``targets``.

    ``targets`` maps an entity name of the decision's event (``"order"``,
    ``"customer"``, …) to its row; a change for an entity that is missing
    (an order with no customer) does nothing. ``labels``: see :func:`change_label`.
    """
    for change in decision.label_changes:
        assert isinstance(change, LabelChange_)
        target = targets.get(change.entity)
        if target is not None:
            change_label(session, change.entity, target, change.label, change.add, labels, binding)
    for setting in decision.field_changes:
        target = targets.get(setting.entity)
        if target is not None:
            set_field(session, target, setting, decision.version, binding)
