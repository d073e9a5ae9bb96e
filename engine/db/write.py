"""What a decision changes besides money: labels on any holder, and settable fields.

Every change goes through the caller's session, inside its transaction; the
engine never commits. :func:`apply_effects` is shared by every way rules
run: orders as they are flushed, label events, and scheduled runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rulec.engine.core.decision import Decision, FieldChange
from rulec.engine.core.rules import LabelChange_
from rulec.storage.models import LABEL_LINKS, Label, Order, OrderStatusChange

__all__ = ["RULE_LINKS", "apply_effects", "change_label", "set_field"]

#: ``session.info`` key: (id(row), label name, added) of the label links rules
#: made through the ORM since the last flush (label events skip them).
RULE_LINKS = "rulec.rule_links"


def _label_type(holder: str) -> str:
    """The ``Label.entity_type`` of a label a rule creates for ``holder``."""
    return "item" if holder == "order_item" else holder


def change_label(
    session: Session,
    holder: str,
    target: Any,
    name: str,
    add: bool,
    known: dict[str, Label] | None = None,
) -> bool:
    """Link (``add``) or unlink the label ``name`` and ``target``, a ``holder`` row.

    A missing label is created when it is added (with the holder's type).
    When ``target``'s labels are not in memory, the link is written with one
    idempotent statement (``INSERT … ON CONFLICT DO NOTHING`` or a plain
    ``DELETE``), so concurrent decisions adding the same label do not
    collide; otherwise the ORM collection is changed, keeping the caller's
    unflushed changes. Returns whether anything was done.

    ``known``, a dict the caller keeps for one transaction (a batch of a
    scheduled run), remembers labels by name so each is looked up once.
    """
    label = known.get(name) if known is not None else None
    if label is None:
        label = _pending_label(session, name)
    if label is None:
        label = session.execute(select(Label).where(Label.name == name)).scalar_one_or_none()
    if label is None:
        if not add:
            return False
        label = Label(name=name, entity_type=_label_type(holder))
        session.add(label)
    if known is not None:
        known[name] = label
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


def _pending_label(session: Session, name: str) -> Label | None:
    """A label named ``name`` added to the session and not flushed yet.

    The engine decides during a flush, before the new rows are written: a
    label the application (or an earlier decision of the same flush)
    created is not in the database yet, and creating a second one would
    break the labels' unique name and lose the whole flush.
    """
    for obj in session.new:
        if isinstance(obj, Label) and obj.name == name:
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


def apply_effects(
    session: Session,
    decision: Decision,
    targets: Mapping[str, Any],
    labels: dict[str, Label] | None = None,
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
