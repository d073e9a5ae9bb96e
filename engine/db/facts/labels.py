"""How a backend stores labels: the one place that reads and writes them.

A :class:`LabelStore` answers, for a kind of label holder (``"customer"``,
``"order"``, …): the names of a row's labels in memory, as SQL (one row's,
or (holder id, name) pairs of many), the links the application made or
undid in a session (label events), and a rule's ``add label`` / ``remove
label`` (written in the caller's session).

* :class:`LinkTables`: a labels table (name, entity type) and a link table
  per holder, as the reference models store them; only labels of the
  holder's entity type count.
* :class:`TagTable`: one table of tags, ``(holder type, holder id, name)``,
  and a relationship on each holder to its tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import Column, ColumnElement, Select, Table, and_, exists, inspect, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

__all__ = ["RULE_LINKS", "LabelStore", "LinkTables", "TagTable"]

#: ``session.info`` key: (id(row), label name, added) of the label links rules
#: made through the ORM since the last flush (label events skip them).
RULE_LINKS = "rulec.rule_links"


class LabelStore(Protocol):
    """What the engine asks of a way of storing labels."""

    #: The attribute of a holder's class holding its labels (or tags) in memory.
    relation: str

    def label_type(self, holder: str) -> str: ...

    def held(self, holder: str, row: Any) -> frozenset[str]: ...

    def holder_column(self, holder: str) -> ColumnElement[Any]: ...

    def names(self, holder: str, row_id: ColumnElement[Any]) -> Select[Any]: ...

    def pairs(self, holder: str, which: ColumnElement[bool]) -> Select[Any]: ...

    def has(self, holder: str, row_id: ColumnElement[Any], name: str) -> ColumnElement[bool]: ...

    def changes(self, holder: str, row: Any) -> list[tuple[str, bool]]: ...

    def change(
        self,
        session: Session,
        holder: str,
        target: Any,
        name: str,
        add: bool,
        known: dict[tuple[str, str], Any] | None = None,
    ) -> bool: ...


def loaded(row: Any, relation: str) -> bool:
    """Whether ``row``'s labels are in memory: loaded, or the row is new."""
    state = inspect(row)
    return bool(state.pending or state.transient or relation not in state.unloaded)


def _history(row: Any, relation: str) -> tuple[Iterable[Any], Iterable[Any]]:
    state = inspect(row)
    if relation in state.unloaded:
        return (), ()
    history = state.attrs[relation].history
    return history.added or (), history.deleted or ()


def _note(session: Session, target: Any, name: str, add: bool) -> None:
    """A rule's change, not the application's: it fires no label event."""
    session.info.setdefault(RULE_LINKS, set()).add((id(target), name, add))


class LinkTables:
    """A labels table (``name``, ``entity_type``) and a link table per holder
    (``<holder>_id``, ``label_id``), as :mod:`rulec.storage.models` has them."""

    relation = "labels"

    def __init__(
        self,
        label: type[Any],
        links: Mapping[str, Table],
        label_types: Mapping[str, str],
    ) -> None:
        self.label = label
        self.links = links
        self.label_types = label_types
        table = label.__table__
        assert isinstance(table, Table)
        self.table = table

    def label_type(self, holder: str) -> str:
        return self.label_types[holder]

    def held(self, holder: str, row: Any) -> frozenset[str]:
        kind = self.label_types[holder]
        return frozenset(label.name for label in row.labels if label.entity_type == kind)

    def link(self, holder: str) -> tuple[Table, Column[Any]]:
        table = self.links[holder]
        return table, table.c[f"{holder}_id"]

    def holder_column(self, holder: str) -> ColumnElement[Any]:
        return self.link(holder)[1]

    def _carries(self, holder: str, link: Table) -> ColumnElement[bool]:
        """The join of a link table to the labels its holder carries: those of its
        entity type only, whatever other links were written (the ORM refuses them)."""
        labels = self.table
        return and_(link.c.label_id == labels.c.id, labels.c.entity_type == self.label_type(holder))

    def names(self, holder: str, row_id: ColumnElement[Any]) -> Select[Any]:
        link, column = self.link(holder)
        return (
            select(self.table.c.name)
            .join_from(link, self.table, self._carries(holder, link))
            .where(column == row_id)
        )

    def pairs(self, holder: str, which: ColumnElement[bool]) -> Select[Any]:
        link, column = self.link(holder)
        return (
            select(column, self.table.c.name)
            .join_from(link, self.table, self._carries(holder, link))
            .where(which)
        )

    def has(self, holder: str, row_id: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        link, column = self.link(holder)
        return exists(
            select(literal(1))
            .select_from(link.join(self.table, self._carries(holder, link)))
            .where(column == row_id, self.table.c.name == name)
        )

    def changes(self, holder: str, row: Any) -> list[tuple[str, bool]]:
        kind = self.label_types[holder]
        added, deleted = _history(row, self.relation)
        return [
            (label.name, add)
            for labels, add in ((added, True), (deleted, False))
            for label in labels
            if label.entity_type == kind
        ]

    def change(
        self,
        session: Session,
        holder: str,
        target: Any,
        name: str,
        add: bool,
        known: dict[tuple[str, str], Any] | None = None,
    ) -> bool:
        """Link (``add``) or unlink the label ``name`` of the holder's entity type.

        A missing label is created when it is added. When ``target``'s labels
        are not in memory, the link is written with one idempotent statement
        (``INSERT … ON CONFLICT DO NOTHING`` or a plain ``DELETE``), so
        concurrent decisions adding the same label do not collide; otherwise
        the ORM collection is changed, keeping the caller's unflushed changes.
        ``known`` remembers labels by (entity type, name) for one transaction.
        """
        kind = self.label_types[holder]
        key = (kind, name)
        label = known.get(key) if known is not None else None
        if label is None:
            label = self._pending(session, kind, name)
        if label is None:
            label = session.execute(
                select(self.label).where(self.label.name == name, self.label.entity_type == kind)
            ).scalar_one_or_none()
        if label is None:
            if not add:
                return False
            label = self.label(name=name, entity_type=kind)
            session.add(label)
        if known is not None:
            known[key] = label
        if self._directly(session, holder, target, label, add):
            return True
        labels = target.labels
        if add and label not in labels:
            labels.append(label)
        elif not add and label in labels:
            labels.remove(label)
        else:
            return False
        _note(session, target, name, add)
        return True

    def _pending(self, session: Session, kind: str, name: str) -> Any:
        """The label added to the session and not flushed yet: the engine decides
        during a flush, and a second one would break the labels' unique
        (name, entity type) and lose the whole flush."""
        for obj in session.new:
            if isinstance(obj, self.label) and obj.name == name and obj.entity_type == kind:
                return obj
        return None

    def _directly(self, session: Session, holder: str, target: Any, label: Any, add: bool) -> bool:
        state, lstate = inspect(target), inspect(label)
        if not (state.persistent and lstate.persistent and "labels" in state.unloaded):
            return False
        table, column = self.link(holder)
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


class TagTable:
    """One table of tags: ``(holder type, holder id, name)``, each holder with a
    relationship to its own tags (``relation``, ``"tags"`` unless given).

    ``holder_types`` maps a holder (``"order"``) to the holder type its tags
    carry (``"purchase"``); a holder not given is its own name. The other
    arguments name the tag class's attributes.
    """

    def __init__(
        self,
        tag: type[Any],
        *,
        holder_types: Mapping[str, str] | None = None,
        relation: str = "tags",
        holder_type: str = "holder_type",
        holder_id: str = "holder_id",
        name: str = "name",
    ) -> None:
        self.tag = tag
        self.holder_types = dict(holder_types or {})
        self.relation = relation
        self.type_key, self.id_key, self.name_key = holder_type, holder_id, name
        mapper = inspect(tag)
        self.type_col = mapper.get_property(holder_type).columns[0]
        self.id_col = mapper.get_property(holder_id).columns[0]
        self.name_col = mapper.get_property(name).columns[0]

    def label_type(self, holder: str) -> str:
        return self.holder_types.get(holder, holder)

    def held(self, holder: str, row: Any) -> frozenset[str]:
        return frozenset(getattr(t, self.name_key) for t in getattr(row, self.relation))

    def holder_column(self, holder: str) -> ColumnElement[Any]:
        column: ColumnElement[Any] = self.id_col
        return column

    def _of(self, holder: str) -> ColumnElement[bool]:
        return self.type_col == self.label_type(holder)

    def names(self, holder: str, row_id: ColumnElement[Any]) -> Select[Any]:
        return select(self.name_col).where(self._of(holder), self.id_col == row_id)

    def pairs(self, holder: str, which: ColumnElement[bool]) -> Select[Any]:
        return select(self.id_col, self.name_col).where(self._of(holder), which)

    def has(self, holder: str, row_id: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        return exists(
            select(literal(1)).where(self._of(holder), self.id_col == row_id, self.name_col == name)
        )

    def changes(self, holder: str, row: Any) -> list[tuple[str, bool]]:
        added, deleted = _history(row, self.relation)
        return [
            (getattr(tag, self.name_key), add)
            for tags, add in ((added, True), (deleted, False))
            for tag in tags
        ]

    def change(
        self,
        session: Session,
        holder: str,
        target: Any,
        name: str,
        add: bool,
        known: dict[tuple[str, str], Any] | None = None,
    ) -> bool:
        """Tag (``add``) or untag ``target`` through its relation (loaded if need be)."""
        tags = getattr(target, self.relation)
        found = [t for t in tags if getattr(t, self.name_key) == name]
        if add and not found:
            tags.append(self.tag(**{self.name_key: name, self.type_key: self.label_type(holder)}))
        elif not add and found:
            for tag in found:
                tags.remove(tag)
                if inspect(tag).persistent:
                    session.delete(tag)
        else:
            return False
        _note(session, target, name, add)
        return True
