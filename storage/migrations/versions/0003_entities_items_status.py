"""Every entity of the old system: people, catalog, order items, status, labels on all.

Adds professionals, agents, services, items and prices; order items that
keep the unit price they were sold at; an order's status, agent and wedding
date, and its status history; one label link table per kind of holder; the
bookkeeping of scheduled runs; and a CHECK that limits a label's
``entity_type`` to the seven types of the old system. The upgrade refuses
(and changes nothing) when a stored label has any other type.

Downgrading drops exactly these, with what they held; every other row and
column is kept. On SQLite, ``orders`` and ``labels`` are rebuilt (batch
mode); rulec.storage.migrate switches foreign keys off meanwhile, so the
rebuilds do not cascade into applied_discounts, rule_errors or
customer_labels.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rulec.storage.base import Money
from rulec.storage.migrate import MigrationError

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Frozen here: the models' LABEL_TYPES may grow, this revision does not.
LABEL_TYPES = ("customer", "professional", "agent", "service", "item", "price", "order")
_LABEL_TYPE_CHECK = "entity_type IN (" + ", ".join(f"'{t}'" for t in LABEL_TYPES) + ")"

#: Label holders (besides customers) and their tables, in creation order.
HOLDERS = (
    ("professional", "professionals"),
    ("agent", "agents"),
    ("service", "services"),
    ("item", "items"),
    ("price", "prices"),
    ("order", "orders"),
    ("order_item", "order_items"),
)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(
        f"{target}.id", ondelete=ondelete, name=op.f(f"fk_{table}_{column}_{target}")
    )


def _people(table: str) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
    )


def _check_label_types() -> None:
    """Refuse to add the CHECK over labels it would reject: nothing is guessed or lost."""
    labels = sa.table("labels", sa.column("entity_type"))
    bad = (
        op.get_bind()
        .execute(
            sa.select(labels.c.entity_type, sa.func.count())
            .where(labels.c.entity_type.not_in(LABEL_TYPES))
            .group_by(labels.c.entity_type)
            .order_by(labels.c.entity_type)
        )
        .all()
    )
    if bad:
        found = ", ".join(f"{t!r} ({n})" for t, n in bad)
        raise MigrationError(
            f"labels of unknown entity types: {found}; the types are {', '.join(LABEL_TYPES)}. "
            "Change or delete those labels, then upgrade again; nothing was changed"
        )


def upgrade() -> None:
    _check_label_types()

    _people("professionals")
    _people("agents")
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "professional_id",
            sa.Integer(),
            _fk("services", "professional_id", "professionals", "SET NULL"),
            nullable=True,
        ),
    )
    op.create_index(op.f("ix_services_professional_id"), "services", ["professional_id"])
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "service_id",
            sa.Integer(),
            _fk("items", "service_id", "services", "SET NULL"),
            nullable=True,
        ),
        sa.Column("unit_price", Money(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    op.create_index(op.f("ix_items_service_id"), "items", ["service_id"])
    op.create_table(
        "prices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "item_id", sa.Integer(), _fk("prices", "item_id", "items", "CASCADE"), nullable=True
        ),
        sa.Column(
            "service_id",
            sa.Integer(),
            _fk("prices", "service_id", "services", "CASCADE"),
            nullable=True,
        ),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
    )
    op.create_index(op.f("ix_prices_item_id"), "prices", ["item_id"])
    op.create_index(op.f("ix_prices_service_id"), "prices", ["service_id"])

    # Existing orders get status 'new', no agent and no wedding date.
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("status", sa.String(30), nullable=False, server_default="new"))
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("wedding_date", sa.Date(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_orders_agent_id_agents"), "agents", ["agent_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_orders_agent_id"), ["agent_id"])

    op.create_table(
        "order_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "order_id",
            sa.Integer(),
            _fk("order_items", "order_id", "orders", "CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "item_id",
            sa.Integer(),
            _fk("order_items", "item_id", "items", "SET NULL"),
            nullable=True,
        ),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", Money(), nullable=False),
        sa.Column("line_total", Money(), nullable=False),
        sa.Column("discount_amount", Money(), nullable=False, server_default=sa.text("0")),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_order_items_quantity_positive")),
    )
    op.create_index(op.f("ix_order_items_order_id"), "order_items", ["order_id"])
    op.create_index(op.f("ix_order_items_item_id"), "order_items", ["item_id"])
    op.create_table(
        "order_status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "order_id",
            sa.Integer(),
            _fk("order_status_changes", "order_id", "orders", "CASCADE"),
            nullable=False,
        ),
        sa.Column("old_status", sa.String(30), nullable=True),
        sa.Column("new_status", sa.String(30), nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("rule_name", sa.String(200), nullable=True),
        sa.Column("rule_file", sa.String(500), nullable=True),
        sa.Column("rule_line", sa.Integer(), nullable=True),
        sa.Column("rule_set_version", sa.String(64), nullable=True),
    )
    op.create_index(op.f("ix_order_status_changes_order_id"), "order_status_changes", ["order_id"])
    op.create_table(
        "scheduled_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(30), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_id", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("processed", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.UniqueConstraint(
            "event", "subject", "period", name=op.f("uq_scheduled_runs_event_subject_period")
        ),
    )

    for holder, table in HOLDERS:
        link = f"{holder}_labels"
        op.create_table(
            link,
            sa.Column(
                f"{holder}_id",
                sa.Integer(),
                _fk(link, f"{holder}_id", table, "CASCADE"),
                primary_key=True,
            ),
            sa.Column(
                "label_id",
                sa.Integer(),
                _fk(link, "label_id", "labels", "CASCADE"),
                primary_key=True,
            ),
            sa.Column(
                "assigned_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            ),
        )
        op.create_index(op.f(f"ix_{link}_label_id"), link, ["label_id"])

    with op.batch_alter_table("labels") as batch:
        batch.create_check_constraint(op.f("ck_labels_entity_type"), _LABEL_TYPE_CHECK)


def downgrade() -> None:
    with op.batch_alter_table("labels") as batch:
        batch.drop_constraint(op.f("ck_labels_entity_type"), type_="check")

    for holder, _table in reversed(HOLDERS):
        link = f"{holder}_labels"
        op.drop_index(op.f(f"ix_{link}_label_id"), table_name=link)
        op.drop_table(link)
    op.drop_table("scheduled_runs")
    op.drop_index(op.f("ix_order_status_changes_order_id"), table_name="order_status_changes")
    op.drop_table("order_status_changes")
    op.drop_index(op.f("ix_order_items_item_id"), table_name="order_items")
    op.drop_index(op.f("ix_order_items_order_id"), table_name="order_items")
    op.drop_table("order_items")

    with op.batch_alter_table("orders") as batch:
        batch.drop_index(op.f("ix_orders_agent_id"))
        batch.drop_constraint(op.f("fk_orders_agent_id_agents"), type_="foreignkey")
        batch.drop_column("wedding_date")
        batch.drop_column("agent_id")
        batch.drop_column("status")

    op.drop_index(op.f("ix_prices_service_id"), table_name="prices")
    op.drop_index(op.f("ix_prices_item_id"), table_name="prices")
    op.drop_table("prices")
    op.drop_index(op.f("ix_items_service_id"), table_name="items")
    op.drop_table("items")
    op.drop_index(op.f("ix_services_professional_id"), table_name="services")
    op.drop_table("services")
    op.drop_table("agents")
    op.drop_table("professionals")
