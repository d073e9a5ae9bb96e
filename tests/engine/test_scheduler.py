"""Scheduled runs (``daily`` / ``monthly``) over real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

import rulec
from rulec.engine.core.rules import LabelChange_, Rule_
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db import runs
from rulec.engine.db import scheduled as scheduler
from rulec.engine.db.scheduled import (
    BatchInfo,
    Progress,
    RunStatus,
    SubjectReport,
    check_period,
    current_period,
    period_start,
    run_scheduled,
)
from rulec.engine.vocabulary import DEFAULT_VOCABULARY
from rulec.storage.models import (
    Agent,
    Base,
    Customer,
    Item,
    Label,
    Order,
    OrderItem,
    OrderStatusChange,
    ScheduledRun,
)

RULES = """\
label Trial, Loyal, Gold, VIP for customer
on daily for customer when customer has label Trial and customer order count >= 3 \
then remove label Trial from customer, add label Loyal to customer
on daily for customer when customer has label Gold then add label VIP to customer
on monthly for order when order status is pending then set order status to cancelled
"""
DAY = "2026-11-26"
MONTH = "2026-11"
N = 30


@pytest.fixture
def rules():
    return rulec.load_text(RULES, "rules/scheduled.rules")


def seed(sessions, n: int = N) -> None:
    """``n`` customers ``c00``…: Trial every 2nd, Gold every 5th (VIP already every 10th),
    ``i % 5`` orders each, the first one pending every 3rd customer."""
    with sessions.begin() as s:
        labels = {n: Label(name=n, entity_type="customer") for n in ("Trial", "Gold", "VIP")}
        for i in range(n):
            names = [
                name for name, every in (("Trial", 2), ("Gold", 5), ("VIP", 10)) if i % every == 0
            ]
            c = Customer(name=f"c{i:03d}", labels=[labels[x] for x in names])
            s.add(c)
            for k in range(i % 5):
                status = "pending" if k == 0 and i % 3 == 0 else "new"
                c.orders.append(Order(subtotal=Decimal(f"{i}.{k:02d}"), status=status))


def snapshot(sessions) -> dict[str, Any]:
    """Everything a run may change, by name and subtotal (ids differ between seedings)."""
    with sessions() as s:
        customers = {
            c.name: sorted(lb.name for lb in c.labels)
            for c in s.scalars(select(Customer).options(selectinload(Customer.labels)))
        }
        orders = {
            f"{o.subtotal:.2f}": (
                o.status,
                [(h.old_status, h.new_status, h.rule_name) for h in o.status_changes],
            )
            for o in s.scalars(select(Order).options(selectinload(Order.status_changes)))
        }
    return {"customers": customers, "orders": orders}


def run_row(sessions, event: str, subject: str, period: str) -> ScheduledRun | None:
    with sessions() as s:
        return s.execute(
            select(ScheduledRun).where(
                ScheduledRun.event == event,
                ScheduledRun.subject == subject,
                ScheduledRun.period == period,
            )
        ).scalar_one_or_none()


def empty(db) -> None:
    with db.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


class Crash(Exception):
    pass


class Recorder(Progress):
    """Keeps what it is told; raises Crash after batch ``crash_after``."""

    def __init__(self, crash_after: int | None = None, hook: Callable[[], None] | None = None):
        self.started: list[tuple[str, int, int]] = []
        self.batches: list[BatchInfo] = []
        self.finished: list[SubjectReport] = []
        self.crash_after = crash_after
        self.hook = hook

    def start(self, event, subject, period, remaining, resumed_after):
        self.started.append((subject, remaining, resumed_after))

    def batch(self, info):
        self.batches.append(info)
        if self.hook is not None:
            self.hook()
        if self.crash_after is not None and info.number == self.crash_after:
            raise Crash(f"crash after batch {info.number}")

    def finish(self, report):
        self.finished.append(report)


def expected_customers(n: int = N) -> dict[str, list[str]]:
    out = {}
    for i in range(n):
        labels = {
            name for name, every in (("Trial", 2), ("Gold", 5), ("VIP", 10)) if i % every == 0
        }
        if "Trial" in labels and i % 5 >= 3:
            labels = (labels - {"Trial"}) | {"Loyal"}
        if "Gold" in labels:
            labels.add("VIP")
        out[f"c{i:03d}"] = sorted(labels)
    return out


# ------------------------------------------------------------------ periods --


class TestPeriods:
    def test_the_current_period_is_the_utc_day_or_month(self):
        now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
        assert current_period("daily", now) == "2026-11-30"
        assert current_period("monthly", now) == "2026-11"

    def test_a_period_starts_at_midnight_utc(self):
        assert period_start("daily", "2026-02-28") == datetime(2026, 2, 28, tzinfo=UTC)
        assert period_start("monthly", "2026-02") == datetime(2026, 2, 1, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("event", "period"),
        [
            ("daily", "2026-11"),
            ("daily", "2026-02-30"),
            ("daily", "2026-1-05"),
            ("monthly", "2026-11-26"),
            ("monthly", "2026-13"),
            ("monthly", ""),
            ("weekly", "2026-11"),
        ],
    )
    def test_bad_periods_and_events_are_refused(self, event, period):
        with pytest.raises(ValueError, match=r"period|event"):
            check_period(event, period)

    def test_bad_arguments_are_refused_before_touching_the_database(self, rules):
        def no_sessions():
            raise AssertionError("no session expected")

        with pytest.raises(ValueError, match="unknown scheduled event"):
            run_scheduled(no_sessions, rules, "hourly")
        with pytest.raises(ValueError, match="batch size"):
            run_scheduled(no_sessions, rules, "daily", batch_size=0)
        with pytest.raises(ValueError, match="invalid daily period"):
            run_scheduled(no_sessions, rules, "daily", period="2026-11")


# ---------------------------------------------------------------- customers --


class TestCustomers:
    def test_labels_are_added_and_removed_on_the_right_customers(self, sessions, rules):
        seed(sessions)
        report = run_scheduled(sessions, rules, "daily", period=DAY, batch_size=7)
        assert snapshot(sessions)["customers"] == expected_customers()
        [customers] = report.subjects  # no daily rules for orders: orders are left alone
        assert (customers.subject, customers.status) == ("customer", RunStatus.DONE)
        loyal = sum("Loyal" in v for v in expected_customers().values())
        gold_without_vip = sum(1 for i in range(N) if i % 5 == 0 and i % 10 != 0)
        assert (customers.processed, customers.changed, customers.errors) == (
            N,
            loyal + gold_without_vip,
            0,
        )
        assert customers.batches == -(-N // 7)
        assert run_row(sessions, "daily", "order", DAY) is None
        row = run_row(sessions, "daily", "customer", DAY)
        assert row is not None and row.finished_at is not None
        assert (row.processed, row.last_id) == (N, max_id(sessions, Customer))

    def test_a_change_that_changes_nothing_costs_nothing_and_is_not_counted(self, sessions, rules):
        seed(sessions)
        run_scheduled(sessions, rules, "daily", period=DAY)
        # the next day, every Gold customer matches again, but already has VIP
        report = run_scheduled(sessions, rules, "daily", period="2026-11-27")
        assert (report.processed, report.changed) == (N, 0)
        assert snapshot(sessions)["customers"] == expected_customers()

    def test_validity_windows_are_read_at_the_start_of_the_period(self, sessions):
        rules = rulec.load_text(
            "label January for customer\n"
            'rule "January only"\n'
            "  from 2026-01-01 until 2026-02-01\n"
            "  on daily for customer\n"
            "  then add label January to customer\n"
            "end\n"
        )
        with sessions.begin() as s:
            s.add(Customer(name="Ada"))
        assert run_scheduled(sessions, rules, "daily", period="2026-03-01").changed == 0
        assert run_scheduled(sessions, rules, "daily", period="2026-01-15").changed == 1
        assert snapshot(sessions)["customers"] == {"Ada": ["January"]}

    def test_without_rules_for_the_event_nothing_runs(self, sessions, rules):
        seed(sessions, 3)
        report = run_scheduled(sessions, rulec.load_text(""), "daily", period=DAY)
        assert report.subjects == ()
        assert report.summary() == "daily: no daily rules, nothing to do"
        with sessions() as s:
            assert s.scalars(select(ScheduledRun)).all() == []


def order_labels() -> dict[str, Label]:
    """New labels for the order tests, by name: Rush (order), Senior (agent),
    Fragile (item), VIP (customer)."""
    kinds = {"Rush": "order", "Senior": "agent", "Fragile": "item", "VIP": "customer"}
    return {n: Label(name=n, entity_type=t) for n, t in kinds.items()}


def max_id(sessions, model) -> int:
    with sessions() as s:
        return max(s.scalars(select(model.id)))


# ------------------------------------------------------------------- orders --


class TestOrders:
    def test_status_is_set_with_a_history_row(self, sessions, rules):
        seed(sessions)
        report = run_scheduled(sessions, rules, "monthly", period=MONTH, batch_size=4)
        pending = {
            f"{i}.00" for i in range(N) if i % 3 == 0 and i % 5 > 0
        }  # customers with orders, first order pending
        orders = snapshot(sessions)["orders"]
        for subtotal, (status, history) in orders.items():
            if subtotal in pending:
                assert status == "cancelled"
                assert history == [("pending", "cancelled", "scheduled.rules:4")]
            else:
                assert (status, history) == ("new", [])
        [o] = report.subjects
        assert (o.subject, o.processed, o.changed) == ("order", len(orders), len(pending))
        with sessions() as s:
            h = s.scalars(select(OrderStatusChange)).first()
            assert h is not None
            assert (h.rule_file, h.rule_line, h.rule_set_version) == (
                "rules/scheduled.rules",
                4,
                rules.version,
            )
        row = run_row(sessions, "monthly", "order", MONTH)
        assert row is not None and row.period == "2026-11" and row.finished_at is not None

    def test_order_facts_come_from_the_order_its_customer_agent_and_items(self, sessions):
        rules = rulec.load_text(
            "label Rush, Checked for order\n"
            "label Senior for agent\n"
            "label Fragile for item\n"
            "label VIP for customer\n"
            "on daily for order when order has label Rush and agent has label Senior"
            " and customer has label VIP and order wedding year = 2027"
            " and order item count = 5 and order line count = 2"
            " and any item has label Fragile and customer order count = 1"
            ' and agent name is "Alice" and order subtotal > 100 and order currency is EUR'
            " then add label Checked to order\n"
            "on daily for order when order placed by customer is false"
            " and agent has label Senior then set order status to confirmed\n"
            "label Gift for item\nlabel Wrapped for order\n"
            "on daily for order when any item has label Gift and any item quantity >= 3"
            " then add label Wrapped to order\n"
        )
        with sessions.begin() as s:
            lb = order_labels()
            alice = Agent(name="Alice", labels=[lb["Senior"]])
            ben = Customer(name="Ben", labels=[lb["VIP"]])
            vase = Item(name="Vase", unit_price=Decimal("60.00"), labels=[lb["Fragile"]])
            full = Order(
                customer=ben,
                agent=alice,
                subtotal=Decimal("200.00"),
                labels=[lb["Rush"]],
                wedding_date=date(2027, 6, 12),
                items=[
                    OrderItem(item=vase, quantity=2),
                    OrderItem(
                        description="Card",
                        unit_price=Decimal("1.00"),
                        quantity=3,
                        labels=[Label(name="Gift", entity_type="item")],
                    ),
                ],
            )
            # ben placed one order before this one: its customer order count is 1
            other = Order(
                customer=ben, subtotal=Decimal("5.00"), created_at=datetime(2026, 1, 1, tzinfo=UTC)
            )
            agent_only = Order(agent=alice, subtotal=Decimal("7.00"))
            no_wedding = Order(
                customer=Customer(name="Cy", labels=[lb["VIP"]]),
                agent=alice,
                subtotal=Decimal("300.00"),
                labels=[lb["Rush"]],
                items=[OrderItem(item=vase, quantity=5)],
            )
            s.add_all([full, other, agent_only, no_wedding])
        report = run_scheduled(sessions, rules, "daily", period=DAY, batch_size=2)
        assert (report.processed, report.changed, report.errors) == (4, 2, 0)
        with sessions() as s:
            got = {
                o.id: (o.status, sorted(lb.name for lb in o.labels))
                for o in s.scalars(select(Order))
            }
        assert got == {
            full.id: ("new", ["Checked", "Rush", "Wrapped"]),
            other.id: ("new", []),
            agent_only.id: ("confirmed", []),
            no_wedding.id: ("new", ["Rush"]),
        }

    @pytest.mark.parametrize("batch_size", [1, 2, 100])
    def test_later_rows_of_a_batch_see_the_labels_earlier_rows_changed(self, sessions, batch_size):
        rules = rulec.load_text(
            "label Seen for customer\nlabel First for order\n"
            "on daily for order when customer lacks label Seen"
            " then add label Seen to customer, add label First to order\n"
        )
        with sessions.begin() as s:
            ada, ben = Customer(name="Ada"), Customer(name="Ben")
            for k in range(3):
                s.add_all([Order(customer=ada, subtotal=Decimal(k)), Order(customer=ben)])
        report = run_scheduled(sessions, rules, "daily", period=DAY, batch_size=batch_size)
        assert report.changed == 2  # each customer's first order, whatever the batch size
        with sessions() as s:
            firsts = [
                (o.customer.name, o.subtotal)
                for o in s.scalars(select(Order).order_by(Order.id))
                if o.labels
            ]
        assert firsts == [("Ada", Decimal("0.00")), ("Ben", Decimal("0.00"))]
        assert snapshot(sessions)["customers"] == {"Ada": ["Seen"], "Ben": ["Seen"]}

    @pytest.mark.parametrize("batch_size", [1, 100])
    def test_one_label_name_for_two_entities_links_each_its_own(self, sessions, batch_size):
        """Issue 13, bug 2: ``Gold`` for customers and ``Gold`` for orders are two
        labels; within a batch each rule links the one of the entity it names."""
        rules = rulec.load_text(
            "label Gold for customer\nlabel Gold for order\n"
            "on daily for order then add label Gold to order, add label Gold to customer\n"
        )
        with sessions.begin() as s:
            ada, ben = Customer(name="Ada"), Customer(name="Ben")
            s.add_all([Order(customer=ada), Order(customer=ben), Order(customer=ada)])
        report = run_scheduled(sessions, rules, "daily", period=DAY, batch_size=batch_size)
        assert (report.processed, report.errors) == (3, 0)
        with sessions() as s:
            assert sorted(s.execute(select(Label.name, Label.entity_type)).all()) == [
                ("Gold", "customer"),
                ("Gold", "order"),
            ]
            orders = s.scalars(select(Order).order_by(Order.id)).all()
            assert [[x.entity_type for x in o.labels] for o in orders] == [["order"]] * 3
            customers = s.scalars(select(Customer).order_by(Customer.id)).all()
            assert [[x.entity_type for x in c.labels] for c in customers] == [["customer"]] * 2


# ------------------------------------------------------------ once a period --


class TestOncePerPeriod:
    def test_a_second_run_of_the_period_changes_nothing_and_says_so(self, sessions, rules):
        seed(sessions)
        first = run_scheduled(sessions, rules, "daily", period=DAY)
        after = snapshot(sessions)
        with sessions.begin() as s:  # the data changes, but the period is done
            trial = s.execute(select(Label).where(Label.name == "Trial")).scalar_one()
            s.add(Customer(name="late", labels=[trial]))
        again = run_scheduled(sessions, rules, "daily", period=DAY)
        after["customers"]["late"] = ["Trial"]
        assert snapshot(sessions) == after
        [s] = again.subjects
        assert (s.status, s.processed, s.changed, s.total) == (RunStatus.ALREADY_DONE, 0, 0, N)
        assert again.summary().endswith("0 changed (customers already done for 2026-11-26)")
        assert first.summary().startswith(f"daily: {N} customers in ")

    def test_the_monthly_period_is_the_month(self, sessions, rules):
        seed(sessions, 5)
        now = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
        report = run_scheduled(sessions, rules, "monthly", now=now)
        assert report.period == "2026-12"
        row = run_row(sessions, "monthly", "order", "2026-12")
        assert row is not None and row.finished_at is not None
        again = run_scheduled(sessions, rules, "monthly", now=datetime(2026, 12, 1, tzinfo=UTC))
        assert [s.status for s in again.subjects] == [RunStatus.ALREADY_DONE]
        nxt = run_scheduled(sessions, rules, "monthly", now=datetime(2027, 1, 1, tzinfo=UTC))
        assert (nxt.period, [s.status for s in nxt.subjects]) == ("2027-01", [RunStatus.DONE])


# ------------------------------------------------------------------ crashes --


class TestCrashes:
    @pytest.mark.parametrize("crash_after", [1, 3])
    def test_a_crash_after_a_batch_resumes_after_it(self, db, sessions, rules, crash_after):
        seed(sessions)
        rec = Recorder(crash_after=crash_after)
        with pytest.raises(Crash):
            run_scheduled(sessions, rules, "daily", period=DAY, batch_size=4, progress=rec)
        row = run_row(sessions, "daily", "customer", DAY)
        assert row is not None and row.finished_at is None
        assert (row.last_id, row.processed) == (rec.batches[-1].last_id, 4 * crash_after)

        rec2 = Recorder()
        report = run_scheduled(sessions, rules, "daily", period=DAY, batch_size=4, progress=rec2)
        [s] = report.subjects
        assert (s.status, s.resumed_after, s.processed, s.total) == (
            RunStatus.DONE,
            row.last_id,
            N - 4 * crash_after,
            N,
        )
        assert rec2.started == [("customer", N - 4 * crash_after, row.last_id)]
        assert rec2.batches[0].last_id > row.last_id
        resumed = snapshot(sessions)

        empty(db)
        seed(sessions)
        run_scheduled(sessions, rules, "daily", period=DAY, batch_size=4)
        assert resumed == snapshot(sessions)
        assert resumed["customers"] == expected_customers()

    def test_a_crash_inside_a_batch_rolls_that_batch_back(self, db, sessions, rules, monkeypatch):
        seed(sessions)
        calls = []
        real = scheduler.apply_effects

        def failing(session, decision, targets, *rest, **kw):
            calls.append(1)
            if len(calls) == 5:
                raise Crash("the database went away")
            real(session, decision, targets, *rest, **kw)

        monkeypatch.setattr(scheduler, "apply_effects", failing)
        with pytest.raises(Crash):
            run_scheduled(sessions, rules, "monthly", period=MONTH, batch_size=5)
        row = run_row(sessions, "monthly", "order", MONTH)
        assert row is not None and row.finished_at is None
        with sessions() as s:  # exactly the committed batches' orders were changed
            changed = s.scalars(select(OrderStatusChange.order_id)).all()
            assert changed and all(oid <= row.last_id for oid in changed)
        monkeypatch.setattr(scheduler, "apply_effects", real)
        run_scheduled(sessions, rules, "monthly", period=MONTH, batch_size=5)
        resumed = snapshot(sessions)

        empty(db)
        seed(sessions)
        run_scheduled(sessions, rules, "monthly", period=MONTH, batch_size=5)
        assert resumed == snapshot(sessions)

    def test_an_unfinished_earlier_period_is_reported(self, sessions, rules, caplog):
        seed(sessions, 10)
        with pytest.raises(Crash):
            run_scheduled(
                sessions, rules, "daily", period="2026-11-25", batch_size=3, progress=Recorder(1)
            )
        with caplog.at_level(logging.WARNING, logger="rulec.engine"):
            report = run_scheduled(sessions, rules, "daily", period=DAY)
        assert report.unfinished == (("customer", "2026-11-25"),)
        assert "daily customers for 2026-11-25 never finished" in caplog.text


# -------------------------------------------------------------- concurrency --


class TestConcurrentRuns:
    def test_a_run_started_between_batches_takes_over_and_the_first_stops(
        self, db, sessions, rules
    ):
        seed(sessions)
        second: list[Any] = []

        def start_another():
            if not second:
                second.append(run_scheduled(sessions, rules, "daily", period=DAY, batch_size=4))

        rec = Recorder(hook=start_another)
        first = run_scheduled(sessions, rules, "daily", period=DAY, batch_size=4, progress=rec)
        [a], [b] = first.subjects, second[0].subjects
        assert (a.status, a.processed) == (RunStatus.HELD, 4)
        assert (b.status, b.resumed_after, b.processed) == (
            RunStatus.DONE,
            rec.batches[0].last_id,
            N - 4,
        )
        assert "customers held by another run" in first.summary()
        row = run_row(sessions, "daily", "customer", DAY)
        assert row is not None and row.processed == N and row.finished_at is not None
        assert snapshot(sessions)["customers"] == expected_customers()

    def test_a_run_started_during_a_batch_never_doubles_it(self, db, sessions, rules, monkeypatch):
        """PostgreSQL: the second run finds the run row locked and stops at once.
        SQLite: the second run does the whole period; the first one's batch then
        fails its compare-and-set, is rolled back, and it stops."""
        seed(sessions)
        others: list[Any] = []
        real = scheduler._read_orders

        def reading(conn, plan, last, limit):
            got = real(conn, plan, last, limit)
            if not others:  # the first run has read its first batch, not written it
                others.append(None)
                others[0] = run_scheduled(sessions, rules, "monthly", period=MONTH)
            return got

        monkeypatch.setattr(scheduler, "_READERS", {**scheduler._READERS, "order": reading})
        first = run_scheduled(sessions, rules, "monthly", period=MONTH, batch_size=5)
        [a], [b] = first.subjects, others[0].subjects
        row = run_row(sessions, "monthly", "order", MONTH)
        assert row is not None and row.finished_at is not None
        orders = snapshot(sessions)["orders"]
        assert row.processed == len(orders) == a.processed + b.processed
        if db.dialect.name == "postgresql":
            assert (b.status, b.processed) == (RunStatus.HELD, 0)
            assert a.status is RunStatus.DONE
        else:
            assert (a.status, a.processed) == (RunStatus.HELD, 0)
            assert b.status is RunStatus.DONE
        histories = [h for _, h in orders.values() if h]
        assert histories and all(len(h) == 1 for h in histories)

    def test_two_runs_creating_the_run_row_at_once(self, sessions, rules, monkeypatch):
        """The loser of the INSERT race hits the unique constraint and reads the winner's row."""
        seed(sessions, 6)
        with pytest.raises(Crash):
            run_scheduled(sessions, rules, "daily", period=DAY, batch_size=4, progress=Recorder(1))
        real, blind = runs._find_run, [True]

        def find_run(conn, event, subject, period, *rest):
            if blind:  # the row did not exist yet when this run looked
                blind.clear()
                return None
            return real(conn, event, subject, period, *rest)

        monkeypatch.setattr(runs, "_find_run", find_run)
        report = run_scheduled(sessions, rules, "daily", period=DAY, batch_size=4)
        [s] = report.subjects
        assert (s.status, s.processed, s.total) == (RunStatus.DONE, 2, 6)
        row = run_row(sessions, "daily", "customer", DAY)
        assert row is not None and row.finished_at is not None
        assert 0 < s.resumed_after == row.last_id - 2  # after the 4 of the crashed run
        with sessions() as sess:
            assert len(sess.scalars(select(ScheduledRun)).all()) == 1


# --------------------------------------------------------------- statements --


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement, *_args) -> None:
        self.statements.append(" ".join(statement.split()))


@pytest.fixture
def counter(db):
    c = StatementCounter()
    event.listen(db, "before_cursor_execute", c)
    yield c
    event.remove(db, "before_cursor_execute", c)


def per_batch(counter: StatementCounter, rules, sessions, event_name, period, batch_size):
    """Statements of each batch but the first (which also claims the run row)."""
    marks: list[int] = []

    class Marks(Progress):
        def batch(self, info):
            marks.append(len(counter.statements))

    run_scheduled(
        sessions, rules, event_name, period=period, batch_size=batch_size, progress=Marks()
    )
    return [counter.statements[a:b] for a, b in itertools.pairwise(marks)], marks


class TestStatementsPerBatch:
    def test_customers_cost_the_same_statements_for_10_or_100_rows(self, sessions, counter, rules):
        with sessions.begin() as s:
            gold, vip = (
                Label(name="Gold", entity_type="customer"),
                Label(name="VIP", entity_type="customer"),
            )
            for i in range(300):  # every rule matches a third of them, and changes nothing
                c = Customer(name=f"c{i}", labels=[gold, vip] if i % 3 == 0 else [])
                c.orders = [Order(subtotal=Decimal(1)) for _ in range(i % 3)]
                s.add(c)
        small, _ = per_batch(counter, rules, sessions, "daily", "2026-11-01", 10)
        large, _ = per_batch(counter, rules, sessions, "daily", "2026-11-02", 100)
        assert len(small) == 29 and len(large) == 2
        sizes = {len(b) for b in small + large}
        assert sizes == {5}, sizes
        kinds = [s.split()[0] for s in large[0]]
        assert kinds == ["SELECT", "SELECT", "SELECT", "SELECT", "UPDATE"]

    def test_orders_cost_the_same_statements_for_10_or_100_rows(self, sessions, counter):
        rules = rulec.load_text(
            "label Rush for order\nlabel Senior for agent\nlabel Fragile for item\n"
            "label VIP for customer\n"
            "on daily for order when order has label Rush and agent has label Senior"
            " and customer has label VIP and order item count > 100"
            " and any item has label Fragile and customer order count > 100"
            ' and agent name is "Nobody" then set order status to cancelled\n'
        )
        with sessions.begin() as s:
            lb = order_labels()
            alice = Agent(name="Alice", labels=[lb["Senior"]])
            vase = Item(name="Vase", unit_price=Decimal("6.00"), labels=[lb["Fragile"]])
            for i in range(300):
                c = Customer(name=f"c{i // 3}", labels=[lb["VIP"]])
                s.add(
                    Order(
                        customer=c if i % 4 else None,
                        agent=alice if i % 2 else None,
                        labels=[lb["Rush"]],
                        items=[OrderItem(item=vase, quantity=1 + i % 3)],
                    )
                )
        small, _ = per_batch(counter, rules, sessions, "daily", "2026-11-01", 10)
        large, _ = per_batch(counter, rules, sessions, "daily", "2026-11-02", 100)
        assert len(small) == 29 and len(large) == 2
        sizes = {len(b) for b in small + large}
        # lock, orders, 3 label kinds, order count, agent names, line counts, 3 for items, update
        assert sizes == {12}, sizes

    def test_only_the_facts_the_rules_read_are_queried(self, sessions, counter):
        rules = rulec.load_text(
            RULES + "label Fragile for item\n"
            'on order_created when any item has label Fragile then discount 5% "Fragile"\n',
            "rules/scheduled.rules",
        )
        assert {"item.all", "customer.labels", "customer.order_count"} < rules.fact_keys
        seed(sessions)
        batches, _ = per_batch(counter, rules, sessions, "monthly", MONTH, 5)
        # the monthly rule reads the order status only (the other rules' facts
        # are not loaded): lock, the orders, the compare-and-set; plus the changes
        quiet = [b for b in batches if not any("order_status_changes" in s for s in b)]
        assert quiet and all(len(b) == 3 for b in quiet)


# ------------------------------------------------------------------ errors --


def with_failing_rule(rules: RuleSet) -> RuleSet:
    """``rules`` and a rule that raises on customers with the Gold label."""

    def boom(facts):
        if "Gold" in facts["customer.labels"]:
            raise ZeroDivisionError("division by zero")
        return False

    failing = Rule_(
        id="rule_9999",
        name="boom.rules:1",
        file="boom.rules",
        line=1,
        column=1,
        event="daily:customer",
        test=boom,
        actions=(LabelChange_("customer", "Never", True),),
    )
    return RuleSet.build((*rules.rules, failing), rules.version, rules.modules, DEFAULT_VOCABULARY)


class TestRuleErrors:
    def test_a_rule_that_raises_is_logged_with_the_id_and_the_batch_goes_on(
        self, sessions, rules, caplog
    ):
        seed(sessions)
        with caplog.at_level(logging.ERROR, logger="rulec.engine"):
            report = run_scheduled(sessions, with_failing_rule(rules), "daily", period=DAY)
        gold = [i for i in range(N) if i % 5 == 0]
        assert report.errors == len(gold)
        assert snapshot(sessions)["customers"] == expected_customers()  # the others applied
        with sessions() as s:
            ids = dict(s.execute(select(Customer.name, Customer.id)).all())
        records = [r for r in caplog.records if r.name == "rulec.engine"]
        assert len(records) == len(gold)
        assert f"failed on customer {ids['c000']} (daily:customer)" in records[0].getMessage()
        assert "boom.rules:1" in records[0].getMessage()
        assert ", 6 rule errors" in report.summary()

    def test_an_order_that_cannot_be_evaluated_is_logged_and_skipped(self, sessions, rules, caplog):
        with sessions.begin() as s:
            bad = Order(subtotal=Decimal(1), currency="ZZZ", status="pending")
            good = Order(subtotal=Decimal(2), status="pending")
            s.add_all([bad, good])
        with caplog.at_level(logging.ERROR, logger="rulec.engine"):
            report = run_scheduled(sessions, rules, "monthly", period=MONTH)
        assert (report.processed, report.changed, report.errors) == (2, 1, 1)
        assert (
            f"monthly:order failed on order {bad.id}: CurrencyError: unknown currency 'ZZZ'"
            in caplog.text
        )
        with sessions() as s:
            assert s.get(Order, good.id).status == "cancelled"
            assert s.get(Order, bad.id).status == "pending"
