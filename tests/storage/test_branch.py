"""The Alembic branch of rulec's own tables, run from a backend's own Alembic
environment (issue 22): upgraded beside the backend's revisions, downgraded
alone, and equal to rulec.storage.owned, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text

from rulec.storage.migrate import BRANCH, BRANCH_LOCATION
from rulec.storage.owned import OWNED, RuleAudit

OWNED_TABLES = {
    "rulec_applied_discounts",
    "rulec_status_changes",
    "rulec_rule_errors",
    "rulec_scheduled_runs",
    "rulec_usage_counters",
    "rulec_usage_claims",
}

ENV = """\
from alembic import context
from rulec.storage.owned import OWNED

connection = context.config.attributes["connection"]
# the backend's own version table (the suite's alembic_version is rulec's standalone one)
context.configure(
    connection=connection, target_metadata=[OWNED], version_table="shop_alembic_version"
)
with context.begin_transaction():
    context.run_migrations()
"""

SHOP_REVISION = """\
import sqlalchemy as sa
from alembic import op

revision = "shop_0001"
down_revision = None
branch_labels = ("shop",)
depends_on = None


def upgrade():
    op.create_table(
        "shop_orders",
        sa.Column("order_uuid", sa.Uuid(), primary_key=True),
        sa.Column("net", sa.Numeric(12, 2), nullable=False),
    )


def downgrade():
    op.drop_table("shop_orders")
"""

#: A later backend revision that needs rulec's tables: it depends on the branch.
SHOP_AUDIT_VIEW = """\
import sqlalchemy as sa
from alembic import op

revision = "shop_0002"
down_revision = "shop_0001"
branch_labels = None
depends_on = "rulec_0001"


def upgrade():
    op.add_column("shop_orders", sa.Column("audited", sa.Boolean(), nullable=True))


def downgrade():
    op.drop_column("shop_orders", "audited")
"""


@pytest.fixture
def backend(tmp_path: Path) -> Path:
    """A backend's own Alembic environment, with rulec's branch in its version_locations."""
    env = tmp_path / "migrations"
    (env / "versions").mkdir(parents=True)
    (env / "env.py").write_text(ENV)
    (env / "versions" / "shop_0001.py").write_text(SHOP_REVISION)
    (env / "versions" / "shop_0002.py").write_text(SHOP_AUDIT_VIEW)
    return env


def _config(env: Path, connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(env))
    cfg.set_main_option("path_separator", "os")
    locations = os.pathsep.join([str(env / "versions"), BRANCH_LOCATION])
    cfg.set_main_option("version_locations", locations)
    cfg.attributes["connection"] = connection
    return cfg


@pytest.fixture
def empty_db(db_engine):
    """The suite's database with neither the backend's tables nor rulec's branch."""

    def clear() -> None:
        with db_engine.begin() as conn:
            for name in (*OWNED_TABLES, "shop_orders"):
                conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
            conn.execute(text("DROP TABLE IF EXISTS shop_alembic_version"))

    clear()
    yield db_engine
    clear()


def _tables(conn) -> set[str]:
    return set(inspect(conn).get_table_names())


def _heads(conn) -> set[str]:
    ctx = MigrationContext.configure(conn, opts={"version_table": "shop_alembic_version"})
    return set(ctx.get_current_heads())


class TestBranch:
    def test_the_branch_is_its_own_base_with_its_label(self, backend):
        cfg = _config(backend, None)
        script = ScriptDirectory.from_config(cfg)
        assert set(script.get_bases()) == {"shop_0001", "rulec_0001"}
        assert script.get_revision(f"{BRANCH}@head").revision == "rulec_0005"
        assert script.get_revision("shop_0002").dependencies == "rulec_0001"

    def test_upgrade_heads_creates_rulecs_tables_beside_the_backends(self, backend, empty_db):
        with empty_db.begin() as conn:
            command.upgrade(_config(backend, conn), "heads")
        with empty_db.connect() as conn:
            assert OWNED_TABLES | {"shop_orders"} <= _tables(conn)
            # shop_0002 depends on rulec_0001; rulec_0005 is the branch's own head
            assert _heads(conn) == {"shop_0002", "rulec_0005"}

    def test_the_migrated_tables_are_the_models(self, backend, empty_db):
        with empty_db.begin() as conn:
            command.upgrade(_config(backend, conn), f"{BRANCH}@head")
        with empty_db.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _parent: (
                        kind != "table" or name in OWNED_TABLES
                    ),
                },
            )
            assert compare_metadata(ctx, OWNED) == []

    def test_an_audit_row_keyed_by_a_uuid_goes_in_and_comes_out(self, backend, empty_db):
        key = uuid.uuid4()
        with empty_db.begin() as conn:
            command.upgrade(_config(backend, conn), "heads")
            conn.execute(
                insert(RuleAudit),
                [
                    {
                        "order_key": key,
                        "rule_name": "vip.rules:2",
                        "rule_file": "rules/vip.rules",
                        "rule_line": 2,
                        "rule_set_version": "v1",
                        "kind": "percentage",
                        "percentage": Decimal("10"),
                        "amount": Decimal("12.00"),
                        "description": "VIP",
                    },
                    {
                        "order_key": 42,
                        "rule_name": "vip.rules:2",
                        "rule_file": "rules/vip.rules",
                        "rule_line": 2,
                        "rule_set_version": "v1",
                        "kind": "fixed",
                        "percentage": None,
                        "amount": Decimal("5.00"),
                        "description": "Five",
                    },
                ],
            )
        with empty_db.connect() as conn:
            rows = conn.execute(
                select(RuleAudit.order_key, RuleAudit.amount).order_by(RuleAudit.id)
            ).all()
        assert rows == [(str(key), Decimal("12.00")), ("42", Decimal("5.00"))]

    def test_downgrading_the_branch_drops_rulecs_tables_alone(self, backend, empty_db):
        with empty_db.begin() as conn:
            command.upgrade(_config(backend, conn), "heads")
        with empty_db.begin() as conn:
            # shop_0002 depends on the branch: it goes down first, its base stays
            command.downgrade(_config(backend, conn), f"{BRANCH}@base")
        with empty_db.connect() as conn:
            assert not OWNED_TABLES & _tables(conn)
            assert "shop_orders" in _tables(conn)
            assert _heads(conn) == {"shop_0001"}
        with empty_db.begin() as conn:  # and back up again
            command.upgrade(_config(backend, conn), "heads")
        with empty_db.connect() as conn:
            assert _tables(conn) >= OWNED_TABLES


class TestCouponAudit:
    """rulec_0004: the code of an audit row and of a claim, counters per code; and back."""

    def _columns(self, conn, table: str) -> set[str]:
        return {c["name"] for c in inspect(conn).get_columns(table)}

    def test_upgrade_adds_the_columns_and_downgrade_drops_them_and_the_code_counters(
        self, backend, empty_db
    ):
        with empty_db.begin() as conn:
            command.upgrade(_config(backend, conn), "heads")
        with empty_db.begin() as conn:
            assert "coupon_code" in self._columns(conn, "rulec_applied_discounts")
            assert "code" in self._columns(conn, "rulec_usage_claims")
            scope = "code:" + "P" * 100  # a long generated code fits the scope
            conn.execute(
                text(
                    "INSERT INTO rulec_usage_counters (rule, scope) "
                    "VALUES ('r', :s), ('r', 'total')"
                ),
                {"s": scope},
            )
        with empty_db.begin() as conn:
            command.downgrade(_config(backend, conn), "rulec_0002")
        with empty_db.connect() as conn:
            assert "coupon_code" not in self._columns(conn, "rulec_applied_discounts")
            assert "code" not in self._columns(conn, "rulec_usage_claims")
            scopes = conn.execute(text("SELECT scope FROM rulec_usage_counters")).scalars()
            assert list(scopes) == ["total"]  # the counters per code went with their claims
        with empty_db.begin() as conn:
            command.upgrade(_config(backend, conn), "heads")
        with empty_db.connect() as conn:
            assert "code" in self._columns(conn, "rulec_usage_claims")

    def test_the_groups_columns_come_and_go_with_rulec_0005(self, backend, empty_db):
        with empty_db.begin() as conn:
            command.upgrade(_config(backend, conn), "heads")
        with empty_db.begin() as conn:
            assert {"stacking_group", "base"} <= self._columns(conn, "rulec_applied_discounts")
        with empty_db.begin() as conn:
            command.downgrade(_config(backend, conn), "rulec_0004")
        with empty_db.connect() as conn:
            columns = self._columns(conn, "rulec_applied_discounts")
            assert not {"stacking_group", "base"} & columns and "coupon_code" in columns
