"""rulec's own tables in a backend's database: audit rows, status history, rule
errors and scheduled runs, keyed by the backend's order key as text.

The first revision of the ``rulec`` branch: a base of its own, which a
backend's Alembic environment includes by adding this folder to its
``version_locations`` (``rulec.storage.migrate.BRANCH_LOCATION``); ``alembic
upgrade heads`` then creates these tables beside the backend's, and
``alembic downgrade rulec@base`` drops them alone. A backend revision that
needs them says ``depends_on = "rulec_0001"`` (the newest rulec revision it needs).

Revision ID: rulec_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rulec_0001"
down_revision = None
branch_labels = ("rulec",)
depends_on = None

#: The money columns of rulec.storage.base (exact decimal text on SQLite).
_KEY = sa.String(36)


def _money() -> sa.types.TypeEngine[object]:
    from rulec.storage.base import Money

    return Money()


def _percent() -> sa.types.TypeEngine[object]:
    from rulec.storage.base import Percent

    return Percent()


def upgrade() -> None:
    op.create_table(
        "rulec_applied_discounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_key", _KEY, nullable=False),
        sa.Column("rule_name", sa.String(200), nullable=False),
        sa.Column("rule_file", sa.String(500), nullable=False),
        sa.Column("rule_line", sa.Integer(), nullable=False),
        sa.Column("rule_set_version", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("percentage", _percent(), nullable=True),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rulec_applied_discounts"),
    )
    op.create_index(
        "ix_rulec_applied_discounts_order_key", "rulec_applied_discounts", ["order_key"]
    )
    op.create_table(
        "rulec_status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_key", _KEY, nullable=False),
        sa.Column("old_status", sa.String(30), nullable=True),
        sa.Column("new_status", sa.String(30), nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("rule_name", sa.String(200), nullable=True),
        sa.Column("rule_file", sa.String(500), nullable=True),
        sa.Column("rule_line", sa.Integer(), nullable=True),
        sa.Column("rule_set_version", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rulec_status_changes"),
    )
    op.create_index("ix_rulec_status_changes_order_key", "rulec_status_changes", ["order_key"])
    op.create_table(
        "rulec_rule_errors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_key", _KEY, nullable=False),
        sa.Column("rule_name", sa.String(200), nullable=False),
        sa.Column("rule_file", sa.String(500), nullable=False),
        sa.Column("rule_line", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rulec_rule_errors"),
    )
    op.create_index("ix_rulec_rule_errors_order_key", "rulec_rule_errors", ["order_key"])
    op.create_table(
        "rulec_scheduled_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(30), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_key", _KEY, nullable=True),
        sa.Column("processed", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_rulec_scheduled_runs"),
        sa.UniqueConstraint("event", "subject", "period", name="uq_rulec_scheduled_runs_event"),
    )


def downgrade() -> None:
    op.drop_table("rulec_scheduled_runs")
    op.drop_index("ix_rulec_rule_errors_order_key", table_name="rulec_rule_errors")
    op.drop_table("rulec_rule_errors")
    op.drop_index("ix_rulec_status_changes_order_key", table_name="rulec_status_changes")
    op.drop_table("rulec_status_changes")
    op.drop_index("ix_rulec_applied_discounts_order_key", table_name="rulec_applied_discounts")
    op.drop_table("rulec_applied_discounts")
