"""Migrations on SQLite and PostgreSQL: up, down, the schema they build, and the data they keep."""

import importlib
from datetime import date
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, event, inspect, select, text
from sqlalchemy.exc import IntegrityError

import rulec
from rulec.engine.db.attach import Engine
from rulec.storage import migrate
from rulec.storage.migrate import MigrationError
from rulec.storage.models import (
    LABEL_TYPES,
    Agent,
    AppliedDiscount,
    Base,
    Customer,
    Item,
    Label,
    Order,
    OrderItem,
    OrderStatusChange,
    Price,
    Professional,
    RuleErrorRecord,
    ScheduledRun,
    Service,
)

#: Revision 0001's tables.
TABLES = {"customers", "labels", "customer_labels", "orders", "applied_discounts", "rule_errors"}
#: The tables revision 0003 adds.
TABLES_0003 = {
    "professionals",
    "agents",
    "services",
    "items",
    "prices",
    "order_items",
    "order_status_changes",
    "scheduled_runs",
    "professional_labels",
    "agent_labels",
    "service_labels",
    "item_labels",
    "price_labels",
    "order_labels",
    "order_item_labels",
}
#: The tables revision 0006 adds.
TABLES_0006 = {"order_coupons", "usage_counters", "usage_claims"}
#: The columns revision 0003 adds to ``orders``.
ORDER_COLUMNS_0003 = ("status", "agent_id", "wedding_date")
#: The columns revision 0007_shipping adds to ``orders``.
ORDER_COLUMNS_0007 = ("shipping_amount", "shipping_discount")
#: The columns revision 0008 adds to tables older than it.
DROPPED_0008 = {"applied_discounts": ("coupon_code", "stacking_group", "base")}

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
        assert migrate.current(db) == migrate.head() == "0009_discount_groups"
        assert set(inspect(db).get_table_names()) >= TABLES | TABLES_0003 | TABLES_0006
        assert set(Base.metadata.tables) == TABLES | TABLES_0003 | TABLES_0006
        migrate.downgrade(db, "base")
        try:
            assert migrate.current(db) is None
            assert not (TABLES | TABLES_0003 | TABLES_0006) & set(inspect(db).get_table_names())
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()

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
        assert migrate.current(db) == migrate.head()

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


class TestRevision0003:
    """The old system's entities, order items, status, labels on all; and back."""

    def test_upgrade_adds_the_tables_and_columns_and_downgrade_drops_them(self, db):
        assert set(ORDER_COLUMNS_0003) <= set(_columns(db, "orders"))
        migrate.downgrade(db, "0002")
        try:
            assert migrate.current(db) == "0002"
            assert not TABLES_0003 & set(inspect(db).get_table_names())
            assert not set(ORDER_COLUMNS_0003) & set(_columns(db, "orders"))
            assert [i["name"] for i in inspect(db).get_indexes("orders")] == [
                "ix_orders_customer_id"
            ]
            assert [f["name"] for f in inspect(db).get_foreign_keys("orders")] == [
                "fk_orders_customer_id_customers"
            ]
            assert _check_names(db, "labels") == set()
            with db.begin() as conn:  # no CHECK at 0002: any type goes in
                conn.execute(text("INSERT INTO labels (name, entity_type) VALUES ('X', 'bogus')"))
                conn.execute(text("DELETE FROM labels"))
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()
        assert _check_names(db, "labels") == {"ck_labels_entity_type"}
        assert "ck_order_items_quantity_positive" in _check_names(db, "order_items")

    def test_existing_orders_become_new_with_no_agent(self, db):
        migrate.downgrade(db, "0002")
        try:
            with db.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO orders (currency, subtotal, discount_amount, total_amount, "
                        "created_at) VALUES ('EUR', 10, 0, 10, CURRENT_TIMESTAMP)"
                    )
                )
        finally:
            migrate.upgrade(db)
        with db.connect() as conn:
            row = conn.execute(select(Order.status, Order.agent_id, Order.wedding_date)).one()
        assert tuple(row) == ("new", None, None)

    def test_the_upgrade_refuses_labels_of_unknown_types(self, db):
        """Nothing is guessed: the upgrade stops, names the types and changes nothing."""
        migrate.downgrade(db, "0002")
        try:
            with db.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO labels (name, entity_type) VALUES "
                        "('Ok', 'customer'), ('A', 'supplier'), ('B', 'supplier'), ('C', 'venue')"
                    )
                )
            with pytest.raises(MigrationError, match=r"'supplier' \(2\), 'venue' \(1\)"):
                migrate.upgrade(db)
            assert migrate.current(db) == "0002"
            assert not TABLES_0003 & set(inspect(db).get_table_names())
            assert "status" not in _columns(db, "orders")
            with db.begin() as conn:
                conn.execute(text("UPDATE labels SET entity_type = 'professional'"))
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()

    def test_a_failed_upgrade_changes_nothing(self, db):
        """The last step (the labels' CHECK) fails: every table and column before it goes."""

        def fail_at_the_end(conn, cursor, statement, *args):
            sql = " ".join(statement.split()).upper()
            if sql.startswith(
                ("ALTER TABLE LABELS ADD CONSTRAINT", "INSERT INTO _ALEMBIC_TMP_LABELS")
            ):
                raise RuntimeError("injected")

        migrate.downgrade(db, "0002")
        try:
            event.listen(db, "before_cursor_execute", fail_at_the_end)
            try:
                with pytest.raises(RuntimeError, match="injected"):
                    migrate.upgrade(db)
            finally:
                event.remove(db, "before_cursor_execute", fail_at_the_end)
            assert migrate.current(db) == "0002"
            names = set(inspect(db).get_table_names())
            assert not TABLES_0003 & names
            assert not {n for n in names if n.startswith("_alembic_tmp")}
            assert not set(ORDER_COLUMNS_0003) & set(_columns(db, "orders"))
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()


def _check_names(db, table):
    return {c["name"] for c in inspect(db).get_check_constraints(table)}


# ------------------------------------------------------------ revision 0005 --

#: The CHECK constraints revision 0005 adds, by table.
#: The CHECK constraints revision 0007_shipping adds to ``orders``.
CHECKS_0007 = {"ck_orders_shipping_amount_not_negative", "ck_orders_shipping_discount_not_negative"}
CHECKS_0005 = {
    "orders": {
        "ck_orders_subtotal_not_negative",
        "ck_orders_discount_amount_not_negative",
        "ck_orders_total_amount_not_negative",
    },
    "order_items": {
        "ck_order_items_unit_price_not_negative",
        "ck_order_items_line_total_not_negative",
        "ck_order_items_discount_amount_not_negative",
    },
}
#: The money columns, by table (all of them Money).
MONEY_COLUMNS = {
    "orders": ("subtotal", "discount_amount", "total_amount"),
    "order_items": ("unit_price", "line_total", "discount_amount"),
    "applied_discounts": ("amount",),
    "items": ("unit_price",),
    "prices": ("amount",),
}


def _below_0005() -> str:
    """The revision 0005 follows (0003 on this branch; the lead may chain it after 0004)."""
    module = importlib.import_module("rulec.storage.migrations.versions.0005_money_places")
    return str(module.down_revision)


def _money_types(db) -> set[tuple[int | None, int | None]]:
    """(precision, scale) of every money column (PostgreSQL; SQLite stores text)."""
    return {
        (c["type"].precision, c["type"].scale)
        for table, names in MONEY_COLUMNS.items()
        for c in inspect(db).get_columns(table)
        if c["name"] in names
    }


def _old_rows(db) -> None:
    """Rows as an older rulec stored them, written below revision 0005."""
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO orders (id, currency, subtotal, discount_amount, total_amount, "
                "created_at, status) VALUES "
                "(1, 'EUR', 12.5, 1.25, 11.25, '2026-11-26', 'new'),"
                "(2, 'JPY', 1999, 300, 1699, '2026-11-26', 'new'),"
                "(3, 'EUR', 10.005, 0, 10.005, '2026-11-26', 'new'),"
                "(4, 'EUR', 0, 0, 0, '2026-11-26', 'new')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO order_items (order_id, description, quantity, unit_price, "
                "line_total, discount_amount) VALUES (1, 'Fuel', 3, 1.4790, 4.437, 0.5)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO applied_discounts (order_id, rule_name, rule_file, rule_line, "
                "rule_set_version, kind, amount, description, created_at) VALUES "
                "(2, 'r', 'f', 1, 'v', 'percentage', 300.0, 'd', '2026-11-26')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO items (name, unit_price, currency) VALUES "
                "('Album', 150, 'EUR'), ('Tea', 30.0, 'KWD')"
            )
        )
        conn.execute(text("INSERT INTO prices (name, amount, currency) VALUES ('P', 100, 'EUR')"))


class TestRevision0006:
    """Coupon codes on orders, the counters and claims of usage limits; and back."""

    def test_upgrade_adds_the_tables_and_downgrade_drops_them_keeping_the_orders(
        self, db, sessions
    ):
        with sessions.begin() as s:
            order = Order(subtotal=Decimal("20.00"))
            order.coupon_codes = ["spring10", "Welcome"]
            s.add(order)
        with sessions() as s:
            stored = s.scalars(select(Order)).one()
            assert stored.coupon_codes == ["SPRING10", "WELCOME"]
        migrate.downgrade(db, "0005")
        try:
            assert migrate.current(db) == "0005"
            assert not TABLES_0006 & set(inspect(db).get_table_names())
            with db.connect() as conn:  # the order stays, without its codes
                assert conn.execute(text("SELECT subtotal FROM orders")).scalar() is not None
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()
        assert set(inspect(db).get_table_names()) >= TABLES_0006
        with sessions() as s:
            assert s.scalars(select(Order)).one().coupon_codes == []

    def test_a_counter_is_unique_per_rule_and_scope(self, db):
        with db.begin() as conn:
            conn.execute(text("INSERT INTO usage_counters (rule, scope) VALUES ('r', 'total')"))
        with pytest.raises(IntegrityError), db.begin() as conn:
            conn.execute(text("INSERT INTO usage_counters (rule, scope) VALUES ('r', 'total')"))


class TestRevision0009:
    """Stacking groups in the audit: a discount's group and base; and back."""

    def test_upgrade_adds_the_columns_and_downgrade_drops_them_keeping_the_rows(self, db, sessions):
        from rulec.storage.models import AppliedDiscount

        with sessions.begin() as s:
            order = Order(subtotal=Decimal("100.00"))
            order.applied_discounts = [
                AppliedDiscount(
                    rule_name="Winter code",
                    rule_file="p.rules",
                    rule_line=3,
                    rule_set_version="v",
                    kind="percentage",
                    percentage=Decimal("20"),
                    amount=Decimal("19.00"),
                    description="Winter code",
                    stacking_group="Winter",
                    base=Decimal("95.00"),
                )
            ]
            s.add(order)
        migrate.downgrade(db, "0008_coupon_audit")
        try:
            columns = {c["name"] for c in inspect(db).get_columns("applied_discounts")}
            assert not {"stacking_group", "base"} & columns
            with db.connect() as conn:  # the row stays
                row = conn.execute(text("SELECT rule_name, amount FROM applied_discounts")).one()
                assert (row[0], Decimal(str(row[1]))) == ("Winter code", Decimal("19"))
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()
        with sessions() as s:
            (row,) = s.scalars(select(AppliedDiscount))
            assert (row.stacking_group, row.base) == (None, None)


class TestRevision0008:
    """Coupon audit: each code's outcome, the code of an audit row and of a claim,
    counters per code; and back."""

    def test_upgrade_adds_the_columns_and_downgrade_drops_them_keeping_the_codes(
        self, db, sessions
    ):
        with sessions.begin() as s:
            order = Order(subtotal=Decimal("20.00"))
            order.coupon_codes = ["spring10"]
            s.add(order)
        with db.begin() as conn:
            scope = "code:" + "P" * 100  # a long generated code fits the scope
            conn.execute(
                text("INSERT INTO usage_counters (rule, scope) VALUES ('r', :s), ('r', 'total')"),
                {"s": scope},
            )
        migrate.downgrade(db, "0007_shipping")
        try:
            columns = {c["name"] for c in inspect(db).get_columns("order_coupons")}
            assert columns == {"order_id", "code"}
            claims = {c["name"] for c in inspect(db).get_columns("usage_claims")}
            assert "code" not in claims
            with db.connect() as conn:  # the codes stay; the counters per code go
                assert conn.execute(text("SELECT code FROM order_coupons")).scalar() == "SPRING10"
                scopes = conn.execute(text("SELECT scope FROM usage_counters")).scalars()
                assert list(scopes) == ["total"]
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()
        with sessions() as s:
            stored = s.scalars(select(Order)).one()
            assert [(c.code, c.outcome) for c in stored.coupons] == [("SPRING10", None)]


class TestRevision0007:
    """An order's shipping charge and shipping discount; and back."""

    def test_upgrade_adds_the_columns_at_zero_and_downgrade_drops_them(self, db, sessions):
        migrate.downgrade(db, "0006")
        try:
            assert migrate.current(db) == "0006"
            columns = {c["name"] for c in inspect(db).get_columns("orders")}
            assert not {"shipping_amount", "shipping_discount"} & columns
            assert _check_names(db, "orders") == CHECKS_0005["orders"]
            with db.begin() as conn:  # an order stored before shipping existed
                conn.execute(
                    text(
                        "INSERT INTO orders (currency, subtotal, discount_amount, total_amount,"
                        " created_at, status) VALUES ('EUR', 50.00, 5.00, 45.00,"
                        " CURRENT_TIMESTAMP, 'new')"
                    )
                )
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()
        assert _check_names(db, "orders") == CHECKS_0005["orders"] | CHECKS_0007
        with sessions() as s:
            order = s.scalars(select(Order)).one()
            assert order.shipping_amount == 0 and order.shipping_discount == 0
            assert (order.subtotal, order.total_amount) == (Decimal("50.00"), Decimal("45.00"))
        with sessions.begin() as s:
            order = s.scalars(select(Order)).one()
            order.shipping_amount = Decimal("4.95")
        migrate.downgrade(db, "0006")
        try:  # the order stays, without its shipping
            columns = {c["name"] for c in inspect(db).get_columns("orders")}
            assert not {"shipping_amount", "shipping_discount"} & columns
            with db.connect() as conn:
                row = conn.execute(text("SELECT subtotal, total_amount FROM orders")).one()
                assert [Decimal(str(v)) for v in row] == [Decimal(50), Decimal(45)]
        finally:
            migrate.upgrade(db)

    def test_the_database_refuses_a_negative_shipping_charge(self, db):
        with pytest.raises(IntegrityError), db.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO orders (currency, subtotal, discount_amount, total_amount,"
                    " created_at, status, shipping_amount) VALUES ('EUR', 10, 0, 10,"
                    " CURRENT_TIMESTAMP, 'new', -1)"
                )
            )

    def test_the_model_writes_the_charge_with_its_currencys_places(self, sessions):
        with sessions.begin() as s:
            s.add(Order(currency="EUR", subtotal=Decimal("20"), shipping_amount=Decimal("4.9")))
        with sessions() as s:
            order = s.scalars(select(Order)).one()
            assert str(order.shipping_amount) == "4.90"
            assert str(order.shipping_discount) == "0.00"


class TestRevision0005:
    """Money keeps its currency's places and is never negative; and back."""

    def test_upgrade_adds_the_checks_and_downgrade_drops_them(self, db):
        assert _check_names(db, "orders") == CHECKS_0005["orders"] | CHECKS_0007
        assert CHECKS_0005["order_items"] < _check_names(db, "order_items")
        if db.dialect.name == "postgresql":
            assert _money_types(db) == {(None, None)}  # NUMERIC: each value keeps its places
        migrate.downgrade(db, _below_0005())
        try:
            assert migrate.current(db) == _below_0005()
            assert _check_names(db, "orders") == set()
            assert _check_names(db, "order_items") == {"ck_order_items_quantity_positive"}
            if db.dialect.name == "postgresql":
                assert _money_types(db) == {(14, 4)}
            with db.begin() as conn:  # no CHECK below 0005: a negative subtotal goes in
                conn.execute(
                    text(
                        "INSERT INTO orders (currency, subtotal, discount_amount, total_amount, "
                        "created_at, status) VALUES ('EUR', -5, 0, 0, '2026-11-26', 'new')"
                    )
                )
                conn.execute(text("DELETE FROM orders"))
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()
        assert _check_names(db, "orders") == CHECKS_0005["orders"] | CHECKS_0007

    def test_stored_amounts_get_their_currencys_places(self, db, sessions, caplog):
        migrate.downgrade(db, _below_0005())
        try:
            _old_rows(db)
        finally:
            with caplog.at_level("WARNING", logger="rulec.storage"):
                migrate.upgrade(db)
        with sessions() as s:
            orders = s.scalars(select(Order).order_by(Order.id)).all()
            got = [[str(getattr(o, c)) for c in MONEY_COLUMNS["orders"]] for o in orders]
            assert got == [
                ["12.50", "1.25", "11.25"],
                ["1999", "300", "1699"],
                ["10.005", "0.00", "10.005"],  # finer than a cent: kept, and logged
                ["0.00", "0.00", "0.00"],
            ]
            [line] = s.scalars(select(OrderItem)).all()
            # 4.437 was stored by an older rulec: kept, and logged
            assert [str(line.unit_price), str(line.line_total), str(line.discount_amount)] == [
                "1.479",
                "4.437",
                "0.50",
            ]
            assert [str(a) for a in s.scalars(select(AppliedDiscount.amount))] == ["300"]
            items = s.scalars(select(Item.unit_price).order_by(Item.id))
            assert [str(x) for x in items] == ["150.00", "30.000"]
            assert [str(x) for x in s.scalars(select(Price.amount))] == ["100.00"]
        warned = [r.getMessage() for r in caplog.records if "finer" in r.getMessage()]
        assert len(warned) == 2
        assert "2 amount(s) of orders" in warned[0] and "10.005 EUR" in warned[0]
        assert "order_items" in warned[1] and "4.437 EUR" in warned[1]

    def test_the_upgrade_refuses_negative_amounts(self, db):
        migrate.downgrade(db, _below_0005())
        try:
            with db.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO orders (id, currency, subtotal, discount_amount, "
                        "total_amount, created_at, status) VALUES "
                        "(1, 'EUR', -5, 0, 0, '2026-11-26', 'new'),"
                        "(2, 'EUR', 10, 20, -10, '2026-11-26', 'new')"
                    )
                )
            with pytest.raises(
                MigrationError, match=r"orders\.subtotal \(1\), orders\.total_amount \(1\)"
            ):
                migrate.upgrade(db)
            assert migrate.current(db) == _below_0005()
            assert _check_names(db, "orders") == set()
            with db.begin() as conn:
                conn.execute(text("DELETE FROM orders"))
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()

    def test_a_failed_upgrade_changes_nothing(self, db):
        """Types, places and constraints change in one transaction, on both databases."""

        def fail_at_the_last_step(conn, cursor, statement, *args):
            sql = " ".join(statement.split()).upper()
            if sql.startswith(
                ("ALTER TABLE ORDER_ITEMS ADD CONSTRAINT", "INSERT INTO _ALEMBIC_TMP_ORDER_ITEMS")
            ):
                raise RuntimeError("injected")

        migrate.downgrade(db, _below_0005())
        try:
            _old_rows(db)
            before = _dump(db, MONEY_COLUMNS)
            event.listen(db, "before_cursor_execute", fail_at_the_last_step)
            try:
                with pytest.raises(RuntimeError, match="injected"):
                    migrate.upgrade(db)
            finally:
                event.remove(db, "before_cursor_execute", fail_at_the_last_step)
            assert migrate.current(db) == _below_0005()
            assert _check_names(db, "orders") == set()
            after = _dump(db, MONEY_COLUMNS)
            assert {
                t: [{k: str(v) for k, v in r.items()} for r in rows] for t, rows in after.items()
            } == {
                t: [{k: str(v) for k, v in r.items()} for r in rows] for t, rows in before.items()
            }
            if db.dialect.name == "postgresql":
                assert _money_types(db) == {(14, 4)}
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()


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


def _dump(db, tables=TABLES):
    """Every row of every table, in key order, as the database returns it."""
    meta = MetaData()
    meta.reflect(db)
    out = {}
    with db.connect() as conn:
        for name in sorted(tables):
            table = meta.tables[name]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            out[name] = [dict(r) for r in rows]
    return out


def _without(rows, columns):
    """``rows`` without ``columns`` (those a downgrade drops)."""
    return [{k: v for k, v in r.items() if k not in columns} for r in rows]


def _shipping_back_at_zero(after, before):
    """The orders ``after`` a downgrade below 0007_shipping and an upgrade: as
    ``before``, their shipping columns back at 0 (the server default)."""
    assert _without(after, ORDER_COLUMNS_0007) == _without(before, ORDER_COLUMNS_0007)
    assert {Decimal(str(o[c])) for o in after for c in ORDER_COLUMNS_0007} == {Decimal(0)}


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
            dropped = (
                ORDER_COLUMNS_0003 + ORDER_COLUMNS_0007
                if name == "orders"
                else DROPPED_0008.get(name, ())
            )
            assert down[name] == _without(before[name], dropped), name
            if name == "orders":
                _shipping_back_at_zero(after[name], before[name])
            else:
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


def _fill_0003(sessions):
    """Rows in every table of revision 0003, on top of :func:`_fill`'s orders."""
    _fill(sessions, n_orders=120)
    with sessions.begin() as s:
        labels = {t: Label(name=f"{t.title()}_Tag", entity_type=t) for t in LABEL_TYPES}
        pro = Professional(name="Studio", labels=[labels["professional"]])
        agent = Agent(name="Alice", email="alice@example.com", labels=[labels["agent"]])
        service = Service(name="Photography", professional=pro, labels=[labels["service"]])
        album = Item(
            name="Album", service=service, unit_price=Decimal("349.90"), labels=[labels["item"]]
        )
        s.add(Price(name="Album 2027", item=album, amount=Decimal("379.90"), year=2027))
        s.add(Price(name="Photography", service=service, amount=Decimal("1500"), year=None))
        s.add(Price(name="Tagged", amount=Decimal("1"), labels=[labels["price"]]))
        orders = s.scalars(select(Order).order_by(Order.id).limit(40)).all()
        for i, o in enumerate(orders):
            o.agent = agent if i % 2 else None
            o.wedding_date = date(2027, 1 + i % 12, 1 + i % 28)
            o.status = "confirmed" if i % 3 else "new"
            o.items.append(OrderItem(item=album, quantity=1 + i % 4))
            o.items.append(
                OrderItem(
                    description="Prints",
                    unit_price=Decimal("0.35"),
                    quantity=10 + i,
                    discount_amount=Decimal("0.10"),
                    labels=[labels["item"]],  # a line carries item labels
                )
            )
            o.status_changes.append(OrderStatusChange(old_status="new", new_status=o.status))
            o.labels.append(labels["order"])
            if i % 5 == 0:  # rule_errors reference orders too: the rebuild must keep them
                o.rule_errors.append(
                    RuleErrorRecord(
                        rule_name="Broken", rule_file="rules/x.rules", rule_line=i + 1, message="!"
                    )
                )
        s.add(ScheduledRun(event="daily", subject="order", period="2026-11-26", last_id=7))
        s.add(ScheduledRun(event="monthly", subject="customer", period="2026-11"))


class TestDataKeptAcross0003:
    def test_upgrade_downgrade_upgrade_keeps_every_other_row(self, db, sessions):
        _fill_0003(sessions)
        before = _dump(db, TABLES | TABLES_0003)
        for name in TABLES | TABLES_0003:
            assert before[name], f"{name} is empty: the test proves nothing for it"
        assert {o["status"] for o in before["orders"]} == {"new", "confirmed"}
        assert any(o["agent_id"] for o in before["orders"])

        migrate.downgrade(db, "0002")
        assert not TABLES_0003 & set(inspect(db).get_table_names())
        down = _dump(db)
        migrate.upgrade(db)
        after = _dump(db, TABLES | TABLES_0003)

        for name in TABLES:
            dropped = (
                ORDER_COLUMNS_0003 + ORDER_COLUMNS_0007
                if name == "orders"
                else DROPPED_0008.get(name, ())
            )
            assert down[name] == _without(before[name], dropped), name
        for name in TABLES - {"orders"}:
            assert after[name] == before[name], name
        # the orders' new columns come back empty (status: its default)
        _shipping_back_at_zero(
            after["orders"],
            [
                {**o, "status": "new", "agent_id": None, "wedding_date": None}
                for o in before["orders"]
            ],
        )
        for name in TABLES_0003:
            assert after[name] == [], name

    def test_the_orm_reads_everything_back_after_the_round_trip(self, db, sessions):
        _fill(sessions, n_orders=30)
        migrate.downgrade(db, "0002")
        migrate.upgrade(db)
        with sessions.begin() as s:
            o = s.scalars(select(Order).order_by(Order.id).limit(1)).one()
            assert (o.status, o.agent, o.items, o.labels, o.status_changes) == (
                "new",
                None,
                [],
                [],
                [],
            )
            o.items.append(OrderItem(item=Item(name="Album", unit_price=Decimal("10")), quantity=2))
            o.agent = Agent(name="Alice")
            oid = o.id
        with sessions() as s:
            o = s.get(Order, oid)
            assert o.items_subtotal() == Decimal("20")
            assert o.agent.name == "Alice"
            assert o.total_amount == o.calculate_total()


class TestANewerDatabase:
    """A database a newer rulec migrated: a clear error, nothing changed."""

    @pytest.fixture
    def newer(self, db):
        with db.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        yield db
        with db.begin() as conn:
            conn.execute(text(f"UPDATE alembic_version SET version_num = '{migrate.head()}'"))

    def test_upgrade_and_downgrade_say_what_to_do(self, newer):
        for step in (migrate.upgrade, migrate.downgrade):
            with pytest.raises(
                MigrationError, match=r"revision '9999'.*does not know.*newer rulec"
            ):
                step(newer)
        assert migrate.current(newer) == "9999"

    def test_rulec_db_upgrade_and_demo_exit_2_with_the_message(self, newer):
        from click.testing import CliRunner

        from rulec.cli import main

        url = newer.url.render_as_string(hide_password=False)
        for args in (["db", "upgrade", "--db", url], ["demo", "--db", url]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 2, result.output
            assert "revision '9999'" in result.stderr and "newer rulec" in result.stderr


# ------------------------------------------------------------------ 0004 --


def _unique(db, table="labels"):
    return sorted((c["name"], c["column_names"]) for c in inspect(db).get_unique_constraints(table))


UNIQUE_0003 = [("uq_labels_name", ["name"])]
UNIQUE_0004 = [("uq_labels_name_entity_type", ["name", "entity_type"])]


class TestRevision0004:
    """A label is its name and its entity type (issue 13, bug 2); and back, when it can."""

    def test_upgrade_makes_name_and_type_unique_and_downgrade_the_name_alone(self, db):
        assert _unique(db) == UNIQUE_0004
        migrate.downgrade(db, "0003")
        try:
            assert migrate.current(db) == "0003"
            assert _unique(db) == UNIQUE_0003
            assert _check_names(db, "labels") == {"ck_labels_entity_type"}
            with db.begin() as conn:  # at 0003 a name is one label
                conn.execute(
                    text("INSERT INTO labels (name, entity_type) VALUES ('Gold', 'customer')")
                )
            with pytest.raises(IntegrityError), db.begin() as conn:
                conn.execute(
                    text("INSERT INTO labels (name, entity_type) VALUES ('Gold', 'order')")
                )
        finally:
            migrate.upgrade(db)
        assert migrate.current(db) == migrate.head()
        assert _unique(db) == UNIQUE_0004
        assert _check_names(db, "labels") == {"ck_labels_entity_type"}  # kept by the rebuild
        with db.begin() as conn:
            conn.execute(text("INSERT INTO labels (name, entity_type) VALUES ('Gold', 'order')"))
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(
                    text("INSERT INTO labels (name, entity_type) VALUES ('Gold', 'order')")
                )

    def test_the_upgrade_keeps_every_row(self, db, sessions):
        _fill_0003(sessions)  # through the models of the head, then down to 0003
        migrate.downgrade(db, "0003")
        try:
            before = _dump(db, TABLES | TABLES_0003)
        finally:
            migrate.upgrade(db)
        after = _dump(db, TABLES | TABLES_0003)
        dropped = {**DROPPED_0008, "orders": ORDER_COLUMNS_0007}
        assert {t: _without(rows, dropped.get(t, ())) for t, rows in after.items()} == before
        _shipping_back_at_zero(after["orders"], before["orders"])
        for name in TABLES | TABLES_0003:
            assert before[name], f"{name} is empty: the test proves nothing for it"
        with sessions.begin() as s:  # and a second Customer_VIP, for orders, comes in
            s.add(Label(name="Customer_VIP", entity_type="order"))
        with sessions() as s:
            got = s.execute(select(Label.entity_type).where(Label.name == "Customer_VIP"))
            assert sorted(got.scalars()) == ["customer", "order"]

    def test_the_downgrade_refuses_labels_that_share_a_name(self, db, sessions):
        """0003 holds one label per name: rather than drop or rename labels (and their
        links), the downgrade stops, names them and changes nothing."""
        with sessions.begin() as s:
            gold = Label(name="Gold", entity_type="order")
            s.add_all(
                [
                    Customer(name="Ada", labels=[Label(name="Gold"), Label(name="Silver")]),
                    Order(labels=[gold]),
                    Label(name="Gold", entity_type="item"),
                    Label(name="Silver", entity_type="price"),
                    Label(name="Rush", entity_type="order"),
                ]
            )
        before = _dump(db, TABLES | TABLES_0003)
        with pytest.raises(
            MigrationError,
            match=r"^labels of several entity types share a name: 'Gold' \(customer, item, "
            r"order\), 'Silver' \(customer, price\); revision 0003 allows one label per name\. "
            r"Rename or delete labels until each name is used once, then downgrade again; "
            r"nothing was changed$",
        ):
            migrate.downgrade(db, "0003")
        assert migrate.current(db) == migrate.head()
        assert _unique(db) == UNIQUE_0004
        assert _dump(db, TABLES | TABLES_0003) == before

        with sessions.begin() as s:  # once the names are told apart, it goes through
            for label in s.scalars(select(Label).where(Label.entity_type != "customer")):
                label.name = f"{label.name}_{label.entity_type}"
        migrate.downgrade(db, "0003")
        try:
            assert _unique(db) == UNIQUE_0003
            with db.connect() as conn:
                names = conn.execute(text("SELECT name FROM labels ORDER BY name")).scalars()
                assert names.all() == [
                    "Gold",
                    "Gold_item",
                    "Gold_order",
                    "Rush_order",
                    "Silver",
                    "Silver_price",
                ]
                links = conn.execute(text("SELECT count(*) FROM order_labels")).scalar()
                assert links == 1
        finally:
            migrate.upgrade(db)

    def test_many_shared_names_are_counted_not_all_listed(self, db, sessions):
        with sessions.begin() as s:
            for n in range(25):
                s.add_all(Label(name=f"L{n:02d}", entity_type=t) for t in ("customer", "order"))
        with pytest.raises(MigrationError, match=r"'L09' \(customer, order\) and 15 more;"):
            migrate.downgrade(db, "0003")
        assert migrate.current(db) == migrate.head()

    def test_a_failed_upgrade_changes_nothing(self, db):
        def fail_at_the_end(conn, cursor, statement, *args):
            sql = " ".join(statement.split()).upper()
            if sql.startswith(
                (
                    "ALTER TABLE LABELS ADD CONSTRAINT UQ_LABELS_NAME_ENTITY_TYPE",
                    "INSERT INTO _ALEMBIC_TMP_LABELS",
                )
            ):
                raise RuntimeError("injected")

        migrate.downgrade(db, "0003")
        try:
            event.listen(db, "before_cursor_execute", fail_at_the_end)
            try:
                with pytest.raises(RuntimeError, match="injected"):
                    migrate.upgrade(db)
            finally:
                event.remove(db, "before_cursor_execute", fail_at_the_end)
            assert migrate.current(db) == "0003"
            assert _unique(db) == UNIQUE_0003
            assert not {n for n in inspect(db).get_table_names() if n.startswith("_alembic_tmp")}
        finally:
            migrate.upgrade(db)
        assert _unique(db) == UNIQUE_0004
