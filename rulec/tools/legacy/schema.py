"""The old system's tables, as its Django apps named them, and reading them.

The old admin-configured rule system kept its rules in these tables
(Django's default names, ``<app>_<model>``); a renamed app or another
schema is reached with a prefix (``old_`` → ``old_labels_label``; a prefix
ending in a dot, ``legacy.``, is a schema). Only the columns rulec reads are
declared: reading ignores any other column a real database has.

``orders_order`` is an assumption: the old system's description names an
order with an optional customer, a subtotal and the discount fields it
wrote (percentage, amount, description, total). It is read by
``--check-orders`` only; amounts are in one currency (EUR unless told).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    select,
)

__all__ = [
    "LABEL_TYPES",
    "Action",
    "Condition",
    "Label",
    "Legacy",
    "Order",
    "Rule",
    "Trigger",
    "legacy_metadata",
    "read_legacy",
    "read_orders",
]

#: ``labels_label.label_type`` → the entity of rulec's vocabulary.
LABEL_TYPES = {
    "CUSTOMER": "customer",
    "PROFESSIONAL": "professional",
    "SERVICE": "service",
    "ITEM": "item",
    "PRICE": "price",
    "ORDER": "order",
}


def legacy_metadata(prefix: str = "") -> MetaData:
    """The old tables (the columns rulec reads), named with ``prefix``."""
    schema, _, pre = prefix.rpartition(".") if "." in prefix else ("", "", prefix)
    md = MetaData(schema=schema or None)

    def t(name: str, *cols: Any) -> Table:
        return Table(pre + name, md, *cols)

    def fk(name: str) -> ForeignKey:
        return ForeignKey(f"{schema + '.' if schema else ''}{pre}{name}.id")

    t(
        "labels_label",
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False),
        Column("label_type", String(20), nullable=False),
        Column("description", Text),
        Column("color", String(20)),
        Column("visible_to_client", Boolean),
    )
    t(
        "rules_ruletrigger",
        Column("id", Integer, primary_key=True),
        Column("name", String(255)),
        Column("code", String(255), nullable=False),
    )
    t(
        "rules_rule",
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False),
        Column("description", Text),
        Column("status", String(20), nullable=False),
        Column("trigger_id", Integer, fk("rules_ruletrigger")),
    )
    t(
        "rules_rule_labels",
        Column("rule_id", Integer, fk("rules_rule"), primary_key=True),
        Column("label_id", Integer, fk("labels_label"), primary_key=True),
    )
    t(
        "rules_rulecondition",
        Column("id", Integer, primary_key=True),
        Column("rule_id", Integer, fk("rules_rule"), nullable=False),
        Column("entity", String(20), nullable=False),
        Column("operator", String(20), nullable=False),
        Column("label_id", Integer, fk("labels_label")),
    )
    t(
        "rules_ruleaction",
        Column("id", Integer, primary_key=True),
        Column("rule_id", Integer, fk("rules_rule"), nullable=False),
        Column("action_type", String(20), nullable=False),
        Column("action_params", JSON),
    )
    t(
        "users_customer_labels",
        Column("customer_id", Integer, primary_key=True),
        Column("label_id", Integer, fk("labels_label"), primary_key=True),
    )
    t(
        "orders_order",
        Column("id", Integer, primary_key=True),
        Column("customer_id", Integer),
        Column("subtotal", Numeric(12, 2), nullable=False),
        Column("discount_percentage", Numeric(5, 2)),
        Column("discount_amount", Numeric(12, 2)),
        Column("discount_description", String(255)),
        Column("total_amount", Numeric(12, 2)),
    )
    return md


@frozen
class Label:
    id: int
    name: str
    label_type: str

    @property
    def entity(self) -> str | None:
        """The entity of rulec's vocabulary it is for; None for an unknown type."""
        return LABEL_TYPES.get(self.label_type)


@frozen
class Trigger:
    id: int
    name: str
    code: str


@frozen
class Condition:
    id: int
    entity: str
    operator: str
    label_id: int | None


@frozen
class Action:
    id: int
    action_type: str
    params: Mapping[str, Any] | None


@frozen
class Rule:
    id: int
    name: str
    description: str
    status: str
    trigger_id: int | None
    #: gating labels (``rules_rule_labels``), by label id
    labels: tuple[int, ...]
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]


@frozen
class Legacy:
    """Everything the old system's rule tables hold, in id order."""

    labels: Mapping[int, Label]
    triggers: Mapping[int, Trigger]
    rules: tuple[Rule, ...]
    #: customer id → the ids of its labels (``users_customer_labels``)
    customer_labels: Mapping[int, frozenset[int]]


@frozen
class Order:
    id: int
    customer_id: int | None
    subtotal: Decimal
    discount_amount: Decimal | None
    discount_description: str | None


def _params(value: Any) -> Mapping[str, Any] | None:
    """``action_params`` as a mapping: JSON text from a plain column is decoded."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def read_legacy(conn: Connection, prefix: str = "") -> Legacy:
    """Read the old system's rules, labels and customer label links."""
    t = legacy_metadata(prefix).tables
    name = _namer(prefix)
    labels = {
        r.id: Label(r.id, r.name, r.label_type)
        for r in conn.execute(select(t[name("labels_label")]).order_by("id"))
    }
    triggers = {
        r.id: Trigger(r.id, r.name or "", r.code)
        for r in conn.execute(select(t[name("rules_ruletrigger")]).order_by("id"))
    }
    gating: dict[int, list[int]] = {}
    for r in conn.execute(select(t[name("rules_rule_labels")]).order_by("rule_id", "label_id")):
        gating.setdefault(r.rule_id, []).append(r.label_id)
    conditions: dict[int, list[Condition]] = {}
    for r in conn.execute(select(t[name("rules_rulecondition")]).order_by("id")):
        conditions.setdefault(r.rule_id, []).append(
            Condition(r.id, r.entity, r.operator, r.label_id)
        )
    actions: dict[int, list[Action]] = {}
    for r in conn.execute(select(t[name("rules_ruleaction")]).order_by("id")):
        actions.setdefault(r.rule_id, []).append(
            Action(r.id, r.action_type, _params(r.action_params))
        )
    rules = [
        Rule(
            r.id,
            r.name,
            r.description or "",
            r.status,
            r.trigger_id,
            tuple(gating.get(r.id, ())),
            tuple(conditions.get(r.id, ())),
            tuple(actions.get(r.id, ())),
        )
        for r in conn.execute(select(t[name("rules_rule")]).order_by("id"))
    ]
    links: dict[int, set[int]] = {}
    for r in conn.execute(select(t[name("users_customer_labels")])):
        links.setdefault(r.customer_id, set()).add(r.label_id)
    return Legacy(labels, triggers, tuple(rules), {c: frozenset(ls) for c, ls in links.items()})


def read_orders(conn: Connection, prefix: str = "") -> list[Order]:
    """The stored orders (``orders_order``), in id order."""
    table = legacy_metadata(prefix).tables[_namer(prefix)("orders_order")]
    return [
        Order(
            r.id,
            r.customer_id,
            Decimal(r.subtotal),
            _dec(r.discount_amount),
            r.discount_description,
        )
        for r in conn.execute(select(table).order_by("id"))
    ]


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _namer(prefix: str) -> Any:
    """The key of a table in its MetaData (``schema.prefix_name``)."""
    schema, _, pre = prefix.rpartition(".") if "." in prefix else ("", "", prefix)
    return lambda n: f"{schema + '.' if schema else ''}{pre}{n}"
