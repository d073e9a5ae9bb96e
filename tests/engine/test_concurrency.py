"""The engine under concurrency: orders while labels change, reloads while orders fire.

The orders-and-labels runs use ``bench/concurrency.py`` (processes on
PostgreSQL, threads on SQLite) at a small size; the script runs the same
check at a larger one. Nothing here sleeps: workers start and stop on
barriers, events and their stdin.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import attrs
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

import rulec
from rulec import Decision, Engine, Facts
from rulec.storage.models import AppliedDiscount, Customer, Label, Order

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    """bench/concurrency.py, imported once (it is a script, not a package)."""
    name = "rulec_bench_concurrency"
    if name not in sys.modules:
        bench = str(ROOT / "bench")
        if bench not in sys.path:  # the script imports bench/benchlib.py, as when run
            sys.path.append(bench)
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "concurrency.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


#: An audit row's columns, but its ids.
AUDIT = (
    "rule_name",
    "rule_file",
    "rule_line",
    "rule_set_version",
    "kind",
    "percentage",
    "amount",
    "description",
)


def _url(db) -> str:
    return db.url.render_as_string(hide_password=False)


VIP_RULES = (
    "label Customer_VIP for customer\n"
    "on order_created when customer has label Customer_VIP "
    'then discount 10% "VIP New Order Discount"\n'
)


# ---------------------------------------------------------------- listener --


class TestDecisionListener:
    @pytest.fixture
    def vip(self, sessions):
        with sessions.begin() as s:
            ben = Customer(name="Ben", labels=[Label(name="Customer_VIP")])
            s.add(ben)
        return ben.id

    def test_it_sees_the_order_written_the_facts_read_and_the_decision(self, sessions, vip):
        seen = []

        def listener(order, facts, decision):
            # called after the write: the order already carries the decision
            seen.append((order, dict(facts), decision, order.discount_amount))

        engine = Engine(rulec.load_text(VIP_RULES, "vip.rules"), on_decision=listener)
        engine.attach(sessions)
        with sessions.begin() as s:
            o = Order(customer_id=vip, subtotal=Decimal("50.00"))
            s.add(o)
        [(order, facts, decision, amount)] = seen
        assert order is o and amount == Decimal("5.00")
        assert facts["customer.labels"] == frozenset({"Customer_VIP"})
        assert isinstance(decision, Decision) and decision.event == "order_created"
        assert engine.rules.evaluate("order_created", facts) == decision

    def test_listeners_are_added_and_removed_and_run_in_order(self, sessions, vip):
        calls = []
        first, second = (lambda *_: calls.append(1)), (lambda *_: calls.append(2))
        engine = Engine(rulec.load_text(VIP_RULES, "vip.rules"), on_decision=first)
        engine.add_listener(second)
        engine.attach(sessions)
        with sessions.begin() as s:
            s.add(Order(customer_id=vip, subtotal=Decimal("50.00")))
        assert calls == [1, 2]
        engine.remove_listener(first)
        with sessions.begin() as s:
            s.add(Order(customer_id=vip, subtotal=Decimal("50.00")))
        assert calls == [1, 2, 2]
        with pytest.raises(ValueError, match="not a listener"):
            engine.remove_listener(first)

    def test_a_failing_listener_fails_the_flush_and_nothing_is_stored(self, sessions, vip):
        def listener(*_):
            raise RuntimeError("listener bug")

        Engine(rulec.load_text(VIP_RULES, "vip.rules"), on_decision=listener).attach(sessions)
        with pytest.raises(RuntimeError, match="listener bug"), sessions.begin() as s:
            s.add(Order(customer_id=vip, subtotal=Decimal("50.00")))
        with sessions() as s:
            assert s.scalars(select(Order)).all() == []

    def test_evaluate_does_not_call_listeners(self, sessions, vip):
        calls = []
        engine = Engine(rulec.load_text(VIP_RULES, "vip.rules"), on_decision=calls.append)
        with sessions() as s:
            d = engine.evaluate("order_created", Order(customer_id=vip, subtotal=Decimal(10)), s)
        assert d.discount_amount == Decimal("1.00") and calls == []


# ------------------------------------------------ orders while labels change --


class TestOrdersWhileLabelsChange:
    """Every committed order is stored with the decision evaluation gives for its facts."""

    def test_creators_and_label_flippers_at_once(self, db):
        bench = _bench()
        if db.dialect.name == "postgresql":  # processes, each with its own connection
            report = bench.run_processes(
                _url(db), creators=2, orders=60, flippers=1, customers=4, timeout=120
            )
            created = 2 * 60
        else:  # threads, each with its own sessionmaker, on one SQLite file
            report = bench.run_threads(_url(db), creators=3, orders=40, flippers=2, customers=4)
            created = 3 * 40
        assert report.problems == []
        assert report.ok
        assert report.created == report.checked == created
        assert report.flips > 0  # the flippers ran while the orders were created
        assert report.label_sets > 1

    def test_the_check_finds_wrong_missing_and_duplicated_orders(self, db):
        """The harness's own check is not blind: tamper with a clean run's orders."""
        bench = _bench()
        report = bench.run_threads(_url(db), creators=1, orders=12, flippers=0, customers=4)
        assert report.ok and report.checked == 12
        records = report.records
        discounted = [r["id"] for r in records if r["decision"]["applied"]]
        assert len(discounted) >= 2
        wrong, doubled = discounted[:2]
        gone = next(r["id"] for r in records if r["id"] not in (wrong, doubled))
        with Session(db) as s, s.begin():
            s.get(Order, wrong).discount_amount += Decimal("0.01")
            for a in s.get(Order, doubled).applied_discounts:
                s.add(AppliedDiscount(order_id=doubled, **{k: getattr(a, k) for k in AUDIT}))
            s.delete(s.get(Order, gone))
        again = bench.Report("tampered")
        bench.check(_url(db), bench.load_rules(), records, again)
        assert (again.mismatches, again.duplicates, again.missing) == (1, 1, 1)
        assert not again.ok


# ------------------------------------------------------ reload while firing --


A_RULES = (
    "label Customer_VIP for customer\n"
    'on order_created when customer has label Customer_VIP then discount 10% "A"\n'
    'rule "A extra" combinable on order_created then discount 1.00 EUR "A extra" end\n'
)
B_RULES = (
    "label Customer_VIP for customer\n"
    'on order_created when customer has label Customer_VIP then discount 20% "B"\n'
    'rule "B extra" combinable on order_created then discount 2.00 EUR "B extra" end\n'
)
#: What a VIP order of 100.00 EUR gets from each version: descriptions and amounts.
EXPECTED = {
    "A": ((("A", Decimal("10.00")), ("A extra", Decimal("1.00"))), Decimal("89.00")),
    "B": ((("B", Decimal("20.00")), ("B extra", Decimal("2.00"))), Decimal("78.00")),
}
RELOADS = 100


class TestReloadWhileFiring:
    """``reload`` swaps whole rule sets: no decision mixes two versions."""

    @pytest.fixture
    def folders(self, tmp_path):
        out = {}
        for name, text in (("A", A_RULES), ("B", B_RULES), ("broken", A_RULES)):
            folder = tmp_path / name
            folder.mkdir()
            (folder / "shop.rules").write_text(
                text.replace("discount 10%", "discont 10%") if name == "broken" else text
            )
            out[name] = folder
        return out

    def test_every_decision_comes_from_one_version(self, folders, sessions):
        engine = Engine.from_paths([folders["A"]])
        version_a = engine.rules.version
        assert engine.reload([folders["B"]])
        version_b = engine.rules.version
        assert engine.reload([folders["A"]])
        names = {version_a: "A", version_b: "B"}

        with sessions.begin() as s:
            vip = Customer(name="Ben", labels=[Label(name="Customer_VIP")])
            s.add(vip)
        decisions: list[Decision] = []
        progress = threading.Condition()
        done = threading.Event()
        start = threading.Barrier(4)
        errors: list[BaseException] = []
        engine.add_listener(lambda _o, _f, d: decisions.append(d))

        def fired() -> int:
            return len(decisions)

        def in_memory() -> None:
            """fire() on new orders whose customer's labels are in memory (no database)."""
            label = Label(name="Customer_VIP")
            start.wait()
            with Session() as s:
                while not done.is_set():
                    o = Order(customer=Customer(name="x", labels=[label]), subtotal=Decimal(100))
                    engine.fire("order_created", o, s)
                    with progress:
                        progress.notify_all()

        def in_database() -> None:
            """Orders created through an attached session, read back afterwards."""
            start.wait()
            while not done.is_set():
                with sessions.begin() as s:
                    s.add(Order(customer_id=vip.id, subtotal=Decimal(100)))
                with progress:
                    progress.notify_all()

        def guard(fn):
            def run():
                try:
                    fn()
                except BaseException as e:  # reported by the test
                    errors.append(e)
                    done.set()
                    start.abort()

            return run

        engine.attach(sessions)
        workers = [threading.Thread(target=guard(f)) for f in (in_memory, in_memory, in_database)]
        for t in workers:
            t.start()
        failed = 0
        try:
            start.wait()
            for n in range(RELOADS):
                with progress:  # let some orders fire on the current rule set
                    target = fired() + 3
                    assert progress.wait_for(lambda t=target: fired() >= t or done.is_set(), 30)
                assert not errors
                assert engine.reload([folders["B" if n % 2 == 0 else "A"]]) is True
                if n % 10 == 5:  # a broken file keeps the rule set in use
                    before = engine.rules
                    assert engine.reload([folders["broken"]]) is False
                    assert engine.rules is before
                    failed += 1
        finally:
            done.set()
            for t in workers:
                t.join()
            engine.detach(sessions)
        assert errors == []
        assert failed == 10
        assert engine.rules.version == version_a  # 100 swaps: back to A

        seen = Counter()
        for d in decisions:
            name = names[d.version]  # KeyError: a version that is neither
            seen[name] += 1
            applied, total = EXPECTED[name]
            assert tuple((a.description, a.amount) for a in d.applied) == applied
            assert d.total_amount == total
        assert seen["A"] > 0 and seen["B"] > 0

        with sessions() as s:
            orders = s.scalars(select(Order)).all()
            assert orders
            for o in orders:
                name = names[o.rule_set_version]
                applied, total = EXPECTED[name]
                rows = o.applied_discounts
                assert tuple((a.description, a.amount) for a in rows) == applied
                assert {a.rule_set_version for a in rows} == {o.rule_set_version}
                assert o.total_amount == total


# ------------------------------------------------ a failing rule, in threads --


class TestFailingRuleInThreads:
    def test_a_rule_that_raises_is_isolated_in_every_thread(self):
        rs = rulec.load_text(
            VIP_RULES + 'rule "boom" on order_created then discount 50% "boom" end\n',
            "rules/vip.rules",
        )

        def explode(facts):
            if facts["order.subtotal"] > 50:
                raise ZeroDivisionError("division by zero")
            return True

        rules = [attrs.evolve(r, test=explode) if r.name == "boom" else r for r in rs.rules]
        engine = Engine(
            rulec.RuleSet.build(rules, rs.version, rs.modules, rulec.DEFAULT_VOCABULARY)
        )
        start = threading.Barrier(4)
        results: list[tuple[Decimal, Decision, Order, Facts]] = []
        engine.add_listener(lambda o, f, d: results.append((o.subtotal, d, o, f)))

        def place(seed: int) -> None:
            label = Label(name="Customer_VIP")
            start.wait()
            with Session() as s:
                for n in range(200):
                    subtotal = Decimal(seed * 200 + n + 1) / 4
                    o = Order(customer=Customer(name="x", labels=[label]), subtotal=subtotal)
                    engine.fire("order_created", o, s)

        threads = [threading.Thread(target=place, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 800
        for subtotal, d, o, facts in results:
            assert d == engine.rules.evaluate("order_created", facts)
            if subtotal > 50:  # boom raised: recorded once, the VIP discount applies
                assert [e.rule for e in d.errors] == ["boom"]
                assert [e.rule_name for e in o.rule_errors] == ["boom"]
                assert [a.description for a in d.applied] == ["VIP New Order Discount"]
            else:  # boom matched and, the larger discount, won
                assert d.errors == () and o.rule_errors == []
                assert [a.description for a in d.applied] == ["boom"]
            assert [a.description for a in o.applied_discounts] == [
                a.description for a in d.applied
            ]


# ------------------------------------- label actions of concurrent orders --


class TestLabelActionsOfConcurrentOrders:
    """Two orders of one customer whose rule adds (removes) the same label, at once.

    The first order's transaction has written the label change and not
    committed when the second order's engine reads the labels; the first
    commits just before the second writes. The second order used to fail
    (a unique violation, or a DELETE that matched no row): now it is stored.
    """

    @pytest.mark.parametrize("add", [True, False], ids=["add", "remove"])
    def test_the_second_order_is_not_lost(self, db, sessions, add):
        action = "add label Loyal to customer" if add else "remove label Loyal from customer"
        rules = rulec.load_text(f"label Loyal for customer\non order_created then {action}\n")
        Engine(rules).attach(sessions)
        with sessions.begin() as s:
            loyal = Label(name="Loyal")
            ada = Customer(name="Ada", labels=[] if add else [loyal])
            s.add_all([loyal, ada])

        first = sessions()
        first.add(Order(customer_id=ada.id, subtotal=Decimal(10)))
        first.flush()  # the label change is written, not committed
        writing = threading.Event()
        outcome: list[object] = []

        def about_to_write(_conn, _cursor, statement, *_args):
            if statement.lstrip().upper().startswith(("INSERT", "DELETE")):
                writing.set()

        def second() -> None:
            try:
                with sessions.begin() as s:
                    o = Order(customer_id=ada.id, subtotal=Decimal(20))
                    s.add(o)
                outcome.append(o.id)
            except Exception as e:  # checked below
                outcome.append(e)
                writing.set()

        event.listen(db, "before_cursor_execute", about_to_write)
        try:
            other = threading.Thread(target=second)
            other.start()
            assert writing.wait(60)
            first.commit()  # before (PostgreSQL) or while (SQLite) the second writes
            first.close()
            other.join()
        finally:
            event.remove(db, "before_cursor_execute", about_to_write)
        [got] = outcome
        assert isinstance(got, int), got
        with sessions() as s:
            assert len(s.scalars(select(Order)).all()) == 2
            names = [label.name for label in s.get(Customer, ada.id).labels]
            assert names == (["Loyal"] if add else [])
