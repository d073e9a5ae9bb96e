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

from sqlalchemy import inspect, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rulec.engine.core.decision import Decision, FieldChange
from rulec.engine.core.money import allocate
from rulec.engine.core.rules import LabelChange_
from rulec.storage.models import (
    HOLDER_LABEL_TYPES,
    LABEL_LINKS,
    Agent,
    AppliedDiscount,
    Customer,
    Label,
    Order,
    OrderItem,
    OrderStatusChange,
    RuleErrorRecord,
)

__all__ = [
    "RULE_LINKS",
    "apply_effects",
    "change_label",
    "order_targets",
    "set_field",
    "write_order",
]

#: ``session.info`` key: (id(row), label name, added) of the label links rules
#: made through the ORM since the last flush (label events skip them).
RULE_LINKS = "rulec.rule_links"


def change_label(
    session: Session,
    holder: str,
    target: Any,
    name: str,
    add: bool,
    known: dict[tuple[str, str], Label] | None = None,
) -> bool:
    """Link (``add``) or unlink the label ``name`` and ``target``, a ``holder`` row.

    The label is the one of that name for the holder's entity type
    (:data:`~rulec.storage.models.HOLDER_LABEL_TYPES`: an order line's are
    item labels); ``Gold`` for customers and ``Gold`` for orders are two
    labels. A missing label is created when it is added. When ``target``'s
    labels are not in memory, the link is written with one idempotent
    statement (``INSERT … ON CONFLICT DO NOTHING`` or a plain ``DELETE``), so
    concurrent decisions adding the same label do not collide; otherwise the
    ORM collection is changed, keeping the caller's unflushed changes.
    Returns whether anything was done.

    ``known``, a dict the caller keeps for one transaction (a batch of a
    scheduled run), remembers labels by (entity type, name) so each is
    looked up once.
    """
    kind = HOLDER_LABEL_TYPES[holder]
    key = (kind, name)
    label = known.get(key) if known is not None else None
    if label is None:
        label = _pending_label(session, kind, name)
    if label is None:
        label = session.execute(
            select(Label).where(Label.name == name, Label.entity_type == kind)
        ).scalar_one_or_none()
    if label is None:
        if not add:
            return False
        label = Label(name=name, entity_type=kind)
        session.add(label)
    if known is not None:
        known[key] = label
    if _link_directly(session, holder, target, label, add):
        return True
    labels = target.labels
    if add and label not in labels:
        labels.append(label)
    elif not add and label in labels:
        labels.remove(label)
    else:
        return False
    # a rule's change, not the application's: it fires no label event
    session.info.setdefault(RULE_LINKS, set()).add((id(target), name, add))
    return True


def _pending_label(session: Session, kind: str, name: str) -> Label | None:
    """The label ``name`` of entity type ``kind`` added to the session and not flushed yet.

    The engine decides during a flush, before the new rows are written: a
    label the application (or an earlier decision of the same flush)
    created is not in the database yet, and creating a second one would
    break the labels' unique (name, entity type) and lose the whole flush.
    """
    for obj in session.new:
        if isinstance(obj, Label) and obj.name == name and obj.entity_type == kind:
            return obj
    return None


def _link_directly(session: Session, holder: str, target: Any, label: Label, add: bool) -> bool:
    state, lstate = inspect(target), inspect(label)
    if not (state.persistent and lstate.persistent and "labels" in state.unloaded):
        return False
    table = LABEL_LINKS[holder]
    column = table.c[f"{holder}_id"]
    conn = session.connection({"mapper": type(target)})
    if not add:
        conn.execute(table.delete().where(column == target.id, table.c.label_id == label.id))
        return True
    values = {f"{holder}_id": target.id, "label_id": label.id}
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(postgresql_insert(table).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        conn.execute(sqlite_insert(table).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - the two databases rulec supports
        return False
    return True


def set_field(session: Session, target: Any, change: FieldChange, version: str) -> bool:
    """Set ``change.field`` of ``target``; an order's status change gets a history row."""
    old = getattr(target, change.field)
    if old is None:  # a new row before its INSERT: the column's default is its value
        default = type(target).__table__.c[change.field].default
        old = getattr(default, "arg", None) if default is not None else None
    if old == change.value:
        return False
    setattr(target, change.field, change.value)
    if isinstance(target, Order) and change.field == "status":
        target.status_changes.append(
            OrderStatusChange(
                old_status=old,
                new_status=change.value,
                rule_name=change.rule,
                rule_file=change.file,
                rule_line=change.line,
                rule_set_version=version,
            )
        )
    return True


def write_order(
    session: Session, order: Order, d: Decision, lines: Sequence[OrderItem] = ()
) -> None:
    """Write decision ``d`` on ``order``, in ``session``'s transaction.

    Its figures and the rule set's version go in the order's own columns;
    one audit row per applied discount (unchanged when deciding again gives
    the same ones); the rule failures as ``rule_errors`` rows (a new order's
    are this decision's, a stored order keeps the history); each of
    ``lines`` its share of the discount; then the label changes and field
    settings on the order, its customer and its agent.
    """
    order.discount_percentage = d.discount_percentage
    order.discount_amount = d.discount_amount
    order.discount_description = d.discount_description
    order.total_amount = d.total_amount
    order.rule_set_version = d.version
    wanted = [
        (a.rule, a.file, a.line, d.version, a.kind, a.percentage, a.amount, a.description)
        for a in d.applied
    ]
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
    else:
        have = [
            (
                x.rule_name,
                x.rule_file,
                x.rule_line,
                x.rule_set_version,
                x.kind,
                x.percentage,
                x.amount,
                x.description,
            )
            for x in order.applied_discounts
        ]
        if have != wanted:  # re-firing with the same outcome changes nothing
            order.applied_discounts = [_audit_row(w) for w in wanted]
    records = [
        RuleErrorRecord(
            rule_name=err.rule, rule_file=err.file, rule_line=err.line, message=err.message
        )
        for err in d.errors
    ]
    if state.pending or state.transient:
        # a new order's rule errors are this decision's (an order retried
        # after a failed flush must not keep the first attempt's as well)
        if records or state.dict.get("rule_errors"):
            order.rule_errors = records
    else:  # a stored order keeps the history of its evaluations' errors
        order.rule_errors.extend(records)
    if lines:
        _allocate(order, lines, d)
    if d.label_changes or d.field_changes:
        apply_effects(session, d, order_targets(session, order))


def _audit_row(wanted: tuple[Any, ...]) -> AppliedDiscount:
    r, f, ln, v, k, p, a, desc = wanted
    return AppliedDiscount(
        rule_name=r,
        rule_file=f,
        rule_line=ln,
        rule_set_version=v,
        kind=k,
        percentage=p,
        amount=a,
        description=desc,
    )


def _allocate(order: Order, lines: Sequence[OrderItem], d: Decision) -> None:
    """Each line's share of the order's discount; the shares add up to it exactly."""
    weights = [
        line.line_total if line.line_total is not None else line.compute_line_total()
        for line in lines
    ]
    for line, part in zip(lines, allocate(d.discount_amount, weights, d.currency), strict=True):
        if line.discount_amount != part:
            line.discount_amount = part


def order_targets(session: Session, order: Order) -> dict[str, Any]:
    """The rows an order event's rules may change: the order, its customer and agent."""
    customer = order.customer
    if customer is None and order.customer_id is not None:
        customer = session.get(Customer, order.customer_id)
    agent = order.agent
    if agent is None and order.agent_id is not None:
        agent = session.get(Agent, order.agent_id)
    return {"order": order, "customer": customer, "agent": agent}


def apply_effects(
    session: Session,
    decision: Decision,
    targets: Mapping[str, Any],
    labels: dict[tuple[str, str], Label] | None = None,
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
            change_label(session, change.entity, target, change.label, change.add, labels)
    for setting in decision.field_changes:
        target = targets.get(setting.entity)
        if target is not None:
            set_field(session, target, setting, decision.version)
