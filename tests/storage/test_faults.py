"""Database faults during the engine's flush roll everything back (SQLite and PostgreSQL).

Each test injects one fault while the engine is attached (``Engine.attach``):
a constraint violation (an order, or an audit row, that the database
refuses), a trigger that raises for a marked order, or a dropped connection.
Afterwards the database holds no order without its decision and no decision
or audit row without its order; the same session rolls back and the next
order goes through.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

import rulec
from rulec.engine.db.attach import Engine
from rulec.storage.models import AppliedDiscount, Customer, Label, Order, RuleErrorRecord

VIP_RULES = (
    "label Customer_VIP for customer\n"
    "on order_created when customer has label Customer_VIP "
    'then discount 10% "VIP New Order Discount"\n'
)

#: Faults injected, by (kind, database); every test checks its own fired.
INJECTED: Counter[tuple[str, str]] = Counter()


@pytest.fixture
def engine(sessions):
    e = Engine(rulec.load_text(VIP_RULES, "rules/vip.rules"))
    e.attach(sessions)
    yield e
    e.detach(sessions)


@pytest.fixture
def people(sessions):
    """Ada (no label), Ben (VIP) and Mallory (VIP, the marked customer)."""
    with sessions.begin() as s:
        vip = Label(name="Customer_VIP", entity_type="customer")
        people = [
            Customer(name="Ada"),
            Customer(name="Ben", labels=[vip]),
            Customer(name="Mallory", labels=[vip]),
        ]
        s.add_all(people)
    return {c.name: c.id for c in people}


@pytest.fixture
def fault(db):
    """Count the fault a test injects, and check that it was injected."""
    before = sum(INJECTED.values())

    def inject(kind: str) -> None:
        INJECTED[kind, db.dialect.name] += 1

    yield inject
    assert sum(INJECTED.values()) > before, "the fault was never injected"


def committed(sessions, customer_id, subtotal="120.00"):
    with sessions.begin() as s:
        o = Order(customer_id=customer_id, subtotal=Decimal(subtotal), currency="EUR")
        s.add(o)
    return o.id


def assert_consistent(sessions, people, orders):
    """Exactly ``orders`` are stored, each with its decision and audit rows; nothing else."""
    with sessions() as s:
        stored = s.scalars(select(Order).order_by(Order.id)).all()
        assert [o.id for o in stored] == sorted(orders)
        vips = {people["Ben"], people["Mallory"]}
        for o in stored:
            assert o.rule_set_version is not None, f"order {o.id} has no decision"
            audit = o.applied_discounts
            if o.customer_id in vips:
                assert [a.amount for a in audit] == [o.discount_amount]
                assert o.discount_amount == (o.subtotal / 10).quantize(Decimal("0.01"))
            else:
                assert audit == [] and o.discount_amount == 0
            assert o.total_amount == o.calculate_total()
        for model in (AppliedDiscount, RuleErrorRecord):
            orphans = s.scalar(
                select(func.count())
                .select_from(model)
                .where(model.order_id.not_in(select(Order.id)))
            )
            assert orphans == 0, f"{model.__tablename__} rows without their order"
        total_audit = s.scalar(select(func.count()).select_from(AppliedDiscount))
        assert total_audit == sum(len(o.applied_discounts) for o in stored)


def fail_then_recover(sessions, people, build, expected=DBAPIError, *, between=None):
    """Flush ``build()``'s order into a fault, roll back, then place Ben's next order.

    ``between(session, order)`` runs after the order is added, before the commit.
    Returns the id of the order placed after the fault, and the fault's exception.
    """
    s = sessions()
    try:
        order = build()
        s.add(order)
        if between is not None:
            between(s, order)
        with pytest.raises(expected) as caught:
            s.commit()
        s.rollback()
        after = Order(customer_id=people["Ben"], subtotal=Decimal("50.00"), currency="EUR")
        s.add(after)
        s.commit()
        assert after.discount_amount == Decimal("5.00")
        assert [a.amount for a in after.applied_discounts] == [Decimal("5.00")]
        return after.id, caught.value
    finally:
        s.close()


class TestConstraintViolations:
    def test_an_order_the_database_refuses(self, engine, people, sessions, fault):
        first = committed(sessions, people["Ben"])

        def build():
            fault("order: foreign key")
            return Order(customer_id=10**9, subtotal=Decimal("80.00"))  # no such customer

        after, _ = fail_then_recover(sessions, people, build, IntegrityError)
        assert_consistent(sessions, people, [first, after])

    def test_an_audit_row_the_database_refuses(self, engine, people, sessions, fault):
        """The order's INSERT succeeds, its audit row's fails: the order goes too."""
        first = committed(sessions, people["Ben"])

        def spoil_audit_rows(session, _ctx, _instances):
            for obj in session.new:
                if isinstance(obj, AppliedDiscount) and obj.order.subtotal == Decimal("66.60"):
                    fault("audit row: NOT NULL")
                    obj.description = None  # NOT NULL

        event.listen(sessions, "before_flush", spoil_audit_rows)  # runs after the engine's
        try:
            after, _ = fail_then_recover(
                sessions,
                people,
                lambda: Order(customer_id=people["Ben"], subtotal=Decimal("66.60")),
                IntegrityError,
            )
        finally:
            event.remove(sessions, "before_flush", spoil_audit_rows)
        assert_consistent(sessions, people, [first, after])

    @pytest.mark.parametrize("table", ["orders", "applied_discounts"])
    def test_a_trigger_that_raises_for_a_marked_order(
        self, engine, people, sessions, db, fault, table
    ):
        first = committed(sessions, people["Ben"])
        with _trigger(db, table):
            fault(f"trigger on {table}")
            after, err = fail_then_recover(
                sessions,
                people,
                lambda: Order(customer_id=people["Mallory"], subtotal=Decimal("70.00")),
            )
            assert "injected fault" in str(err)
            # the marked customer's orders keep failing; nobody else's do
            with pytest.raises(DBAPIError, match="injected fault"):
                committed(sessions, people["Mallory"])
            third = committed(sessions, people["Ada"])
        assert_consistent(sessions, people, [first, after, third])

    def test_the_same_order_can_be_retried_after_the_fault(
        self, engine, people, sessions, db, fault
    ):
        """A retried order gets one decision and one audit row, not two."""
        with _trigger(db, "applied_discounts"):
            o = Order(customer_id=people["Mallory"], subtotal=Decimal("70.00"), currency="EUR")
            with sessions() as s:
                s.add(o)
                fault("trigger on applied_discounts (retry)")
                with pytest.raises(DBAPIError, match="injected fault"):
                    s.commit()
                s.rollback()
            with sessions.begin() as s:  # the trigger only stops Mallory's orders
                s.get(Customer, people["Mallory"]).name = "Mallory (cleared)"
            with sessions.begin() as s:
                s.add(o)
        assert len(o.applied_discounts) == 1
        assert_consistent(sessions, people, [o.id])


class TestDroppedConnection:
    def test_the_connection_drops_on_the_audit_insert(self, engine, people, sessions, db, fault):
        """SQLite: the driver fails on the audit INSERT; PostgreSQL: the backend is killed."""
        first = committed(sessions, people["Ben"])

        def drop(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("INSERT INTO APPLIED_DISCOUNTS"):
                event.remove(db, "before_cursor_execute", drop)  # once
                fault("connection dropped on the audit INSERT")
                if db.dialect.name == "sqlite":
                    raise sqlite3.OperationalError("disk I/O error (injected)")
                _terminate(db, conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())

        event.listen(db, "before_cursor_execute", drop)
        try:
            after, _ = fail_then_recover(
                sessions,
                people,
                lambda: Order(customer_id=people["Ben"], subtotal=Decimal("90.00")),
                OperationalError,
            )
        finally:
            if event.contains(db, "before_cursor_execute", drop):
                event.remove(db, "before_cursor_execute", drop)
        assert_consistent(sessions, people, [first, after])

    @pytest.mark.parametrize("when", ["before the flush", "after the flush"])
    def test_the_connection_drops_before_the_commit(
        self, engine, people, sessions, db, fault, when
    ):
        """The transaction is open (facts read, maybe rows written) when the connection goes."""
        first = committed(sessions, people["Ben"])

        def cut(s, order):
            if when == "after the flush":
                s.flush()  # the order and its audit row are written, not committed
                written = select(func.count()).where(AppliedDiscount.order_id == order.id)
                assert s.scalar(written) == 1
            fault(f"connection dropped {when}")
            if db.dialect.name == "sqlite":
                _fail_next_step(db, "commit" if when == "after the flush" else "statement")
            else:
                _terminate(db, s.execute(text("SELECT pg_backend_pid()")).scalar())

        after, _ = fail_then_recover(
            sessions,
            people,
            lambda: Order(customer_id=people["Ben"], subtotal=Decimal("90.00")),
            # SQLAlchemy wraps driver errors from statements, not from a commit event
            (OperationalError, sqlite3.OperationalError),
            between=cut,
        )
        assert_consistent(sessions, people, [first, after])


def _fail_next_step(db, step):
    """SQLite has no server to lose: the driver's next statement, or the commit, fails."""
    name = "before_cursor_execute" if step == "statement" else "commit"

    def fail(*_args):
        event.remove(db, name, fail)
        raise sqlite3.OperationalError("disk I/O error (injected)")

    event.listen(db, name, fail)


def _terminate(db, pid):
    """Kill the backend ``pid`` from another connection, and wait until it is gone."""
    admin = create_engine(db.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid}).scalar()
    finally:
        admin.dispose()


class _trigger:
    """A trigger that raises "injected fault" for Mallory's orders, dropped on exit."""

    def __init__(self, db, table):
        self.db, self.table = db, table
        self.marked = (
            "NEW.customer_id"
            if table == "orders"
            else "(SELECT customer_id FROM orders WHERE id = NEW.order_id)"
        )

    def __enter__(self):
        mallory = "(SELECT id FROM customers WHERE name = 'Mallory')"
        with self.db.begin() as conn:
            if self.db.dialect.name == "sqlite":
                conn.exec_driver_sql(
                    f"CREATE TRIGGER rulec_fault BEFORE INSERT ON {self.table} "
                    f"WHEN {self.marked} = {mallory} "
                    "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
                )
            else:
                conn.exec_driver_sql(
                    "CREATE FUNCTION rulec_fault() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    f"BEGIN IF {self.marked} = {mallory} THEN "
                    "RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$"
                )
                conn.exec_driver_sql(
                    f"CREATE TRIGGER rulec_fault BEFORE INSERT ON {self.table} "
                    "FOR EACH ROW EXECUTE FUNCTION rulec_fault()"
                )
        return self

    def __exit__(self, *exc):
        with self.db.begin() as conn:
            if self.db.dialect.name == "sqlite":
                conn.exec_driver_sql("DROP TRIGGER rulec_fault")
            else:
                conn.exec_driver_sql(f"DROP TRIGGER rulec_fault ON {self.table}")
                conn.exec_driver_sql("DROP FUNCTION rulec_fault()")
