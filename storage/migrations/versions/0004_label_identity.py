"""A label is its name and its entity type: one name may name a label of each type.

The language lets a rule set declare ``label Gold for customer`` and
``label Gold for order``; until now ``labels.name`` was unique, so the two
could not both exist. The unique constraint moves from ``name`` to
``(name, entity_type)``. The upgrade keeps every row as it is (a unique
name is unique with its type too) and cannot fail on the data.

The downgrade restores ``uq_labels_name`` only when no two labels share a
name; otherwise it stops, names them and changes nothing, since making them
unique would mean renaming or merging labels (and moving their links),
which is the shop's decision, not a migration's. On SQLite the labels table
is rebuilt (batch mode); rulec.storage.migrate switches foreign keys off
meanwhile, so the rebuild does not cascade into the link tables.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rulec.storage.migrate import MigrationError

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: Shared names listed in the downgrade's refusal; the others are counted.
_LISTED = 10


def upgrade() -> None:
    with op.batch_alter_table("labels") as batch:
        batch.drop_constraint(op.f("uq_labels_name"), type_="unique")
        batch.create_unique_constraint(op.f("uq_labels_name_entity_type"), ["name", "entity_type"])


def _check_names_unique() -> None:
    """Refuse to restore the unique name over labels that share one: nothing is lost."""
    labels = sa.table("labels", sa.column("name"), sa.column("entity_type"))
    shared = (
        sa.select(labels.c.name)
        .group_by(labels.c.name)
        .having(sa.func.count() > 1)
        .scalar_subquery()
    )
    rows = (
        op.get_bind()
        .execute(
            sa.select(labels.c.name, labels.c.entity_type)
            .where(labels.c.name.in_(shared))
            .order_by(labels.c.name, labels.c.entity_type)
        )
        .all()
    )
    if not rows:
        return
    types: dict[str, list[str]] = {}
    for name, entity_type in rows:
        types.setdefault(name, []).append(entity_type)
    found = ", ".join(f"{n!r} ({', '.join(t)})" for n, t in list(types.items())[:_LISTED])
    if len(types) > _LISTED:
        found += f" and {len(types) - _LISTED} more"
    raise MigrationError(
        f"labels of several entity types share a name: {found}; revision 0003 allows "
        "one label per name. Rename or delete labels until each name is used once, "
        "then downgrade again; nothing was changed"
    )


def downgrade() -> None:
    _check_names_unique()
    with op.batch_alter_table("labels") as batch:
        batch.drop_constraint(op.f("uq_labels_name_entity_type"), type_="unique")
        batch.create_unique_constraint(op.f("uq_labels_name"), ["name"])
