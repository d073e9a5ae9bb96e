"""Migrations on SQLite and PostgreSQL: up, down, the schema they build, and the data they keep."""

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, event, inspect, select, text

import rulec
from rulec.engine.engine import Engine
from rulec.storage import migrate
from rulec.storage.models import AppliedDiscount, Base, Customer, Label, Order

TABLES = {"customers", "labels", "customer_labels", "orders", "applied_discounts", "rule_errors"}

RULES = (
    "label Customer_VIP for customer\n"
    "label Customer_Gold for customer\n"
    "on order_created when customer has label Customer_VIP "
    'then discount 10% "VIP New Order Discount"\n'
    'rule "Gold" on order_created when customer has label Customer_Gold '
    'then discount 5.00 EUR "Gold customers" end\n'
)


class TestMigrations:
    def test_upgrade_builds_every_table_and_downgrade_removes_them(self, db):
        assert migrate.current(db) == migrate.head() == "0002"
        assert set(inspect(db).get_table_names()) >= TABLES
        migrate.downgrade(db, "base")
        try:
            assert migrate.current(db) is None
            assert not TABLES & set(inspect(db).get_table_names())
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == "0002"

    def test_the_migrated_schema_matches_the_models(self, db):
        with db.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []

    def test_sqlite_foreign_keys_are_on_again_after_a_migration(self, db):
        migrate.downgrade(db, "0001")
        migrate.upgrade(db)
        if db.dialect.name == "sqlite":
            with db.connect() as conn:  # the pool hands back the connection that migrated
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _columns(db, table):
    return [c["name"] for c in inspect(db).get_columns(table)]


class TestRevision0002:
    """Labels gain ``color`` and ``visible_to_client``; the downgrade takes them away."""

    def test_upgrade_adds_the_columns_and_downgrade_drops_them(self, db):
        assert {"description", "color", "visible_to_client"} <= set(_columns(db, "labels"))
        migrate.downgrade(db, "0001")
        try:
            assert migrate.current(db) == "0001"
            cols = _columns(db, "labels")
            assert "description" in cols and "color" not in cols
            assert "visible_to_client" not in cols
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == "0002"

    def test_existing_labels_are_not_visible_to_clients(self, db):
        migrate.downgrade(db, "0001")
        try:
            with db.begin() as conn:
                conn.execute(
                    text("INSERT INTO labels (name, entity_type) VALUES ('Old', 'customer')")
                )
        finally:
            migrate.upgrade(db)
        with db.connect() as conn:
            row = conn.execute(select(Label.color, Label.visible_to_client)).one()
        assert tuple(row) == (None, False)

    def test_the_models_read_and_write_the_new_columns(self, sessions):
        with sessions.begin() as s:
            s.add(Label(name="Customer_VIP", color="#d4af37", visible_to_client=True))
            s.add(Label(name="Internal"))
        with sessions() as s:
            got = {x.name: (x.color, x.visible_to_client) for x in s.scalars(select(Label))}
        assert got == {"Customer_VIP": ("#d4af37", True), "Internal": (None, False)}

    def test_a_failed_migration_changes_nothing(self, db):
        """The whole step is one transaction, DDL included, on both databases."""

        def fail_midway(conn, cursor, statement, *args):
            # PostgreSQL: after "color" was added; SQLite: after the copy was created
            sql = " ".join(statement.split()).upper()
            if sql.startswith(
                (
                    "ALTER TABLE LABELS ADD COLUMN VISIBLE_TO_CLIENT",
                    "INSERT INTO _ALEMBIC_TMP_LABELS",
                )
            ):
                raise RuntimeError("injected")

        migrate.downgrade(db, "0001")
        try:
            event.listen(db, "before_cursor_execute", fail_midway)
            try:
                with pytest.raises(RuntimeError, match="injected"):
                    migrate.upgrade(db)
            finally:
                event.remove(db, "before_cursor_execute", fail_midway)
            assert migrate.current(db) == "0001"
            assert "color" not in _columns(db, "labels")
            assert "_alembic_tmp_labels" not in inspect(db).get_table_names()
        finally:
            migrate.upgrade(db)


# ------------------------------------------------------------ data kept --


def _fill(sessions, n_orders=1000):
    """Customers with and without labels, and ``n_orders`` orders decided by the engine."""
    engine = Engine(rulec.load_text(RULES, "rules/shop.rules"))
    engine.attach(sessions)
    try:
        with sessions.begin() as s:
            vip = Label(name="Customer_VIP", description="VIP customers", color="gold")
            gold = Label(name="Customer_Gold", visible_to_client=True)
            plain = Label(name="Newsletter", entity_type="customer")
            customers = [
                Customer(
                    name=f"Customer {i} — Ünïcode",
                    email=f"c{i}@example.com" if i % 3 else None,
                    labels=[[], [vip], [gold], [vip, gold], [plain]][i % 5],
                )
                for i in range(50)
            ]
            s.add_all(customers)
            s.flush()
            for i in range(n_orders):
                s.add(
                    Order(
                        customer_id=customers[i % 50].id if i % 17 else None,
                        subtotal=Decimal(f"{(i * 37) % 5000}.{i % 100:02d}"),
                        currency="EUR",
                    )
                )
    finally:
        engine.detach(sessions)


def _dump(db):
    """Every row of every table, in key order, as the database returns it."""
    meta = MetaData()
    meta.reflect(db)
    out = {}
    with db.connect() as conn:
        for name in sorted(TABLES):
            table = meta.tables[name]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            out[name] = [dict(r) for r in rows]
    return out


class TestDataKept:
    def test_downgrade_and_upgrade_keep_every_order_and_its_discount(self, db, sessions):
        _fill(sessions)
        before = _dump(db)
        assert len(before["orders"]) == 1000
        assert len(before["applied_discounts"]) > 500
        assert len(before["customer_labels"]) == 50
        assert any(o["discount_percentage"] for o in before["orders"])
        assert {r["kind"] for r in before["applied_discounts"]} == {"percentage", "fixed"}

        migrate.downgrade(db, "0001")
        down = _dump(db)
        migrate.upgrade(db)
        after = _dump(db)

        for name in TABLES - {"labels"}:
            assert down[name] == before[name], name
            assert after[name] == before[name], name
        # labels lose what 0001 cannot hold, and nothing else
        kept = ("id", "name", "entity_type", "description")
        assert [{k: r[k] for k in kept} for r in after["labels"]] == [
            {k: r[k] for k in kept} for r in before["labels"]
        ]
        assert {r["name"]: (r["color"], r["visible_to_client"]) for r in before["labels"]} == {
            "Customer_VIP": ("gold", False),
            "Customer_Gold": (None, True),
            "Newsletter": (None, False),
        }
        assert all(r["color"] is None and not r["visible_to_client"] for r in after["labels"])

    def test_the_orm_reads_the_orders_back_after_the_round_trip(self, db, sessions):
        _fill(sessions, n_orders=60)
        migrate.downgrade(db, "0001")
        migrate.upgrade(db)
        with sessions() as s:
            orders = s.scalars(select(Order).order_by(Order.id)).all()
            assert len(orders) == 60
            for o in orders:
                assert o.total_amount == o.calculate_total()
                assert o.discount_amount == sum((a.amount for a in o.applied_discounts), Decimal(0))
            assert s.scalar(select(AppliedDiscount.id).limit(1)) is not None
