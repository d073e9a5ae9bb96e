"""Which mapped classes, attributes and tables the engine reads and writes: the one place
that names them.

Every reader of the catalog (one order, a batch, a listing, the SQL
expressions) and every writer of a decision reaches the database through a
:class:`Binding`, never through a module-level model, table or column name.
A binding maps the vocabulary's entities (the order, its lines, its
customer, its agent) to a backend's mapped classes with :class:`Entity`,
and each field the engine reads or writes to an attribute of that class:

.. code-block:: python

    from rulec.engine.db.facts.binding import Binding, Entity
    from rulec.engine.db.facts.labels import TagTable

    SHOP = Binding.of(
        order=Entity(Purchase, customer_id="buyer_id", subtotal="net", items="lines"),
        line=Entity(PurchaseLine, order_id="purchase_id", quantity="qty"),
        customer=Entity(Buyer),
        labels=TagTable(Tag, holder_types={"order": "purchase", "customer": "buyer"}),
    )

A field not named is the attribute of the same name when the class has
one, else not mapped: a rule that reads a fact needing it is refused when
the engine starts (:meth:`Binding.check`); ``docs/adopting.md`` lists the
fields. :data:`REFERENCE` binds the
reference models of :mod:`rulec.storage.models`.

The SQL expressions of the catalog are written over the reference field
names: :meth:`Binding.view` gives, for a backend's class, a subquery of its
table with its columns under those names (NULL for a field it lacks), which
the databases flatten into the enclosing statement; for a class whose
columns have those names already (the reference models) it is the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from attrs import field, frozen
from sqlalchemy import (
    Column,
    FromClause,
    Integer,
    String,
    Table,
    cast,
    inspect,
    null,
    select,
    type_coerce,
)
from sqlalchemy.orm import Mapper

from rulec.dsl.lowered import AllOf, AnyOf, Condition, Exists, Negation
from rulec.storage import models
from rulec.storage.base import Money

if TYPE_CHECKING:
    from rulec.engine.core.rules import Rule_
    from rulec.engine.core.ruleset import RuleSet
    from rulec.engine.db.facts.labels import LabelStore

__all__ = ["FIELDS", "REFERENCE", "Binding", "BindingError", "Entity"]


class BindingError(Exception):
    """A binding that cannot serve the rules: a field they read has no mapped attribute."""


#: The fields (and relations) the engine reads or writes of each entity, under the
#: reference models' names, with the SQL type of a NULL standing in for a missing one.
FIELDS: Mapping[str, Mapping[str, Any]] = {
    "order": {
        "id": Integer(),
        "customer_id": Integer(),
        "agent_id": Integer(),
        "created_at": models.Order.__table__.c.created_at.type,
        "subtotal": Money(),
        "currency": String(),
        "status": String(),
        "wedding_date": models.Order.__table__.c.wedding_date.type,
        # optional: a backend without shipping charges maps none (its orders have none)
        "shipping_amount": Money(),
    },
    "line": {
        "id": Integer(),
        "order_id": Integer(),
        "item_id": Integer(),
        "quantity": Integer(),
        "unit_price": Money(),
        "description": String(),
    },
    "customer": {"id": Integer(), "name": String()},
    "agent": {"id": Integer(), "name": String()},
}


def _absent(name: str, kind: Any) -> Any:
    """The column of a field a backend's class lacks: NULL, of the field's type (a
    typed NULL where a bare one would be text to PostgreSQL, beside a number)."""
    if isinstance(kind, Money):  # coalesce(shipping_amount, 0)
        return cast(null(), kind).label(name)
    return type_coerce(null(), kind).label(name)


def _names(names: Mapping[str, str | None]) -> dict[str, str | None]:
    return dict(names)


@frozen(eq=False, init=False)  # hashed by identity: statements are cached per binding
class Entity:
    """A mapped class standing for one entity, and the attribute of each field.

    ``names`` maps a field (under the reference models' name, e.g.
    ``customer_id``, ``subtotal``, ``discount_amount``, or a relation:
    ``customer``, ``agent``, ``items`` of an order; ``order``, ``item`` of a
    line; or a field of the project's vocabulary, e.g. ``channel``) to the
    attribute key of ``cls`` (None: not mapped). A field not named is the
    attribute of the same name, when ``cls`` has one.
    """

    cls: type[Any]
    names: Mapping[str, str | None] = field(factory=dict, converter=_names)
    #: attr() of each field asked so far: the engine asks on every order.
    _found: dict[str, str | None] = field(factory=dict, init=False)

    def __init__(self, cls: type[Any], /, **names: str | None) -> None:
        self.__attrs_init__(cls, names)  # type: ignore[attr-defined]

    @property
    def mapper(self) -> Mapper[Any]:
        return inspect(self.cls)

    @property
    def table(self) -> Table:
        table = self.cls.__table__
        assert isinstance(table, Table)
        return table

    def attr(self, name: str) -> str | None:
        """The attribute key of field ``name``, or None when ``cls`` has none."""
        found = self._found
        if name in found:
            return found[name]
        if name in self.names:
            key = self.names[name]
        else:
            key = name if name in self.mapper.all_orm_descriptors.keys() else None  # noqa: SIM118
        found[name] = key
        return key

    def has(self, name: str) -> bool:
        return self.attr(name) is not None

    def get(self, obj: Any, name: str) -> Any:
        """``obj``'s value of field ``name`` (None when it is not mapped)."""
        key = self.attr(name)
        return None if key is None else getattr(obj, key)

    def set(self, obj: Any, name: str, value: Any) -> bool:
        """Set ``obj``'s field ``name``; False when it is not mapped."""
        key = self.attr(name)
        if key is None:
            return False
        setattr(obj, key, value)
        return True

    def column(self, name: str) -> Column[Any] | None:
        """The table column of field ``name``, or None."""
        key = self.attr(name)
        if key is None:
            return None
        prop = self.mapper.get_property(key)
        columns = getattr(prop, "columns", None)
        if not columns:
            return None
        column = columns[0]
        assert isinstance(column, Column)
        return column

    def is_reference_shaped(self, fields: Iterable[str]) -> bool:
        """Whether the table's columns have the fields' names already."""
        table = self.table
        return all(
            (col := self.column(name)) is not None and col is table.c.get(name) for name in fields
        )


@frozen(eq=False)  # hashed by identity: statements are cached per binding
class Binding:
    """The mapped classes the facts come from and the decisions go to.

    ``entities``: ``"order"``, ``"line"``, ``"customer"`` and, optionally,
    ``"agent"``. ``holders``: every label holder's mapped class, by holder
    name. ``labels``: how labels are stored (:class:`~.labels.LinkTables`,
    :class:`~.labels.TagTable`). ``records``: where rulec's own rows go
    (audit rows, status history, rule errors): ``"relations"`` for the
    reference models' relationships, ``"owned"`` for rulec's own tables,
    keyed by the order's key (:mod:`rulec.storage.owned`).
    """

    entities: Mapping[str, Entity]
    holders: Mapping[str, type[Any]]
    labels: LabelStore
    records: str = "relations"
    _views: dict[str, FromClause] = field(factory=dict, init=False)
    _by_class: dict[type[Any], str] = field(factory=dict, init=False)

    @classmethod
    def of(
        cls,
        *,
        order: Entity,
        line: Entity,
        customer: Entity,
        labels: LabelStore,
        agent: Entity | None = None,
        holders: Mapping[str, type[Any]] | None = None,
        records: str = "owned",
    ) -> Binding:
        """A backend's binding: its order, line and customer classes, its agent's if it
        has agents, how its labels are stored; rulec's own rows in rulec's tables."""
        entities = {"order": order, "line": line, "customer": customer}
        if agent is not None:
            entities["agent"] = agent
        if holders is None:
            holders = {"order": order.cls, "customer": customer.cls}
            if agent is not None:
                holders["agent"] = agent.cls
        return cls(entities, holders, labels, records)

    # ------------------------------------------------------------ classes --

    def entity(self, name: str) -> Entity:
        found = self.entities.get(name)
        if found is None:
            raise BindingError(f"this binding maps no class to the entity {name!r}")
        return found

    @property
    def order(self) -> type[Any]:
        return self.entities["order"].cls

    @property
    def line(self) -> type[Any]:
        return self.entities["line"].cls

    @property
    def customer(self) -> type[Any]:
        return self.entities["customer"].cls

    @property
    def agent(self) -> type[Any] | None:
        agent = self.entities.get("agent")
        return agent.cls if agent is not None else None

    @property
    def o(self) -> Entity:
        """The order entity."""
        return self.entities["order"]

    @property
    def ln(self) -> Entity:
        """The line entity."""
        return self.entities["line"]

    # ------------------------------------------------------------- tables --

    def view(self, name: str) -> FromClause:
        """Entity ``name``'s table as the catalog's SQL reads it: its columns under the
        reference fields' names (:data:`FIELDS`), NULL for a field it lacks."""
        found = self._views.get(name)
        if found is not None:
            return found
        entity = self.entity(name)
        fields = FIELDS[name]
        if entity.is_reference_shaped(fields):
            found = entity.table
        else:
            columns = []
            for f, kind in fields.items():
                col = entity.column(f)
                columns.append(col.label(f) if col is not None else _absent(f, kind))
            found = select(*columns).subquery(f"rulec_{name}")
        self._views[name] = found
        return found

    @property
    def orders(self) -> FromClause:
        return self.view("order")

    @property
    def lines(self) -> FromClause:
        return self.view("line")

    @property
    def agents(self) -> FromClause:
        return self.view("agent")

    @property
    def customers(self) -> FromClause:
        return self.view("customer")

    def table(self, cls: type[Any]) -> Table:
        table = cls.__table__
        assert isinstance(table, Table)
        return table

    # ------------------------------------------------------------ coupons --

    def coupon_codes(self) -> tuple[FromClause, Column[Any], Column[Any]] | None:
        """The table of the order's coupon codes, its column of the order's key and
        its column of the code: the rows of the order's ``coupons`` relation, whose
        class has a ``code`` attribute (None when the order maps no such relation)."""
        key = self.o.attr("coupons")
        if key is None:
            return None
        relation = self.o.mapper.relationships.get(key)
        if relation is None or len(relation.local_remote_pairs) != 1:
            return None
        ((_, remote),) = relation.local_remote_pairs
        code = relation.mapper.columns.get("code")
        if code is None or not isinstance(remote, Column) or not isinstance(code, Column):
            return None
        return relation.mapper.local_table, remote, code

    # ------------------------------------------------------------- labels --

    def held(self, holder: str, row: Any) -> frozenset[str]:
        """The names of the labels ``row`` (a ``holder`` row, its labels in memory) carries."""
        return self.labels.held(holder, row)

    def label_type(self, holder: str) -> str:
        """The entity type of the labels ``holder`` carries (``"item"`` for an order line)."""
        return self.labels.label_type(holder)

    def holder_of(self, obj: Any) -> str | None:
        """The holder name of ``obj``'s class, or None when it carries no labels."""
        by_class = self._by_class
        if not by_class:
            by_class.update({cls: name for name, cls in self.holders.items()})
        return by_class.get(type(obj))

    # -------------------------------------------------------------- check --

    def missing(self, keys: Iterable[str]) -> list[tuple[str, str, str]]:
        """(fact key, entity, field) of every fact of ``keys`` this binding cannot read."""
        from rulec.engine.db.facts.needs import needs  # the catalog imports this module

        out = []
        for key in sorted(keys):
            if key.endswith(".labels") and not self._holds_labels_of(key):
                out.append((key, key.partition(".")[0], "labels"))
                continue
            for entity, name in needs(key):
                mapped = self.entities.get(entity)
                if mapped is None or not mapped.has(name):
                    out.append((key, entity, name))
                    break
        return out

    def _holds_labels_of(self, key: str) -> bool:
        """Whether the rows whose labels ``key`` reads carry labels in this binding: a
        line's are its own or its catalog item's (``order_item``, ``item``)."""
        if key == "item.labels":
            return "order_item" in self.holders or "item" in self.holders
        return key.partition(".")[0] in self.holders

    def check_rules(self, rules: RuleSet) -> None:
        """:meth:`check` of the facts ``rules`` read, the lines' labels included
        when a rule tests them (``any item has label Fragile``) and this binding's
        lines carry none: the rule would never hold, silently."""
        keys = rules.fact_keys
        if "item.all" in keys and self.unheld_line_labels(rules.rules):
            keys = keys | {"item.labels"}
        self.check(keys)

    def unheld_line_labels(self, rules: Iterable[Rule_]) -> bool:
        """Whether one of ``rules`` tests the labels of an order's lines, which this
        binding's lines and catalog items do not carry (they read as none)."""
        if self._holds_labels_of("item.labels"):
            return False
        lowered = (r.lowered for r in rules if "item.all" in r.facts)
        return any(x is not None and _tests_line_labels(x.condition) for x in lowered)

    def check(self, keys: Iterable[str]) -> None:
        """BindingError naming every fact of ``keys`` (what the rules read) with no
        mapped attribute; a rule would otherwise read it as missing."""
        missing = self.missing(keys)
        if not missing:
            return
        said = []
        for key, entity, name in missing:
            mapped = self.entities.get(entity)
            if name == "labels":
                whose = "order lines or catalog items" if key == "item.labels" else entity
                said.append(
                    f"{key}: the binding holds no labels for {whose} (name the class in "
                    f"holders=, and keep its labels in the label store)"
                )
                continue
            where = (
                f"{mapped.cls.__name__} has no attribute for the field {name!r} "
                f"(map it: Entity({mapped.cls.__name__}, {name}=...))"
                if mapped is not None
                else f"the binding maps no class to the entity {entity!r}"
            )
            said.append(f"{key}: {where}")
        raise BindingError("the rules read facts this binding cannot read:\n  " + "\n  ".join(said))


def _tests_line_labels(condition: Condition) -> bool:
    """Whether ``condition`` tests the labels of an order's lines (inside ``any item``)."""
    stack: list[tuple[Condition, bool]] = [(condition, False)]
    while stack:
        node, inside = stack.pop()
        if isinstance(node, Exists):
            stack.append((node.condition, node.key == "item.all"))
        elif isinstance(node, AllOf | AnyOf):
            stack.extend((o, inside) for o in node.operands)
        elif isinstance(node, Negation):
            stack.append((node.operand, inside))
        elif inside and getattr(node, "key", None) == "item.labels":
            return True
    return False


def _reference() -> Binding:
    from rulec.engine.db.facts.labels import LinkTables

    o = models.Order
    return Binding(
        entities={
            "order": Entity(o),
            "line": Entity(models.OrderItem),
            "customer": Entity(models.Customer),
            "agent": Entity(models.Agent),
        },
        holders={
            "customer": models.Customer,
            "order": models.Order,
            "item": models.Item,
            "price": models.Price,
            "agent": models.Agent,
            "professional": models.Professional,
            "service": models.Service,
            "order_item": models.OrderItem,
        },
        labels=LinkTables(models.Label, models.LABEL_LINKS, models.HOLDER_LABEL_TYPES),
        records="relations",
    )


#: The reference models of rulec.storage.
REFERENCE = _reference()
