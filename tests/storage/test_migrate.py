"""Migrations on SQLite and PostgreSQL: up, down, and the schema they build."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from rulec.storage import migrate
from rulec.storage.models import Base

TABLES = {"customers", "labels", "customer_labels", "orders", "applied_discounts", "rule_errors"}


class TestMigrations:
    def test_upgrade_builds_every_table_and_downgrade_removes_them(self, db):
        assert migrate.current(db) == migrate.head() == "0001"
        assert set(inspect(db).get_table_names()) >= TABLES
        migrate.downgrade(db, "base")
        try:
            assert migrate.current(db) is None
            assert not TABLES & set(inspect(db).get_table_names())
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == "0001"

    def test_the_migrated_schema_matches_the_models(self, db):
        with db.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
