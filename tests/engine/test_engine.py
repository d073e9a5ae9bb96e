"""The engine attached to real databases (SQLite and PostgreSQL)."""

import logging
from decimal import Decimal

import attrs
import pytest
import sqlalchemy
from sqlalchemy import event, func, select

import rulec
from rulec.engine.db.attach import Engine
from rulec.storage.models import AppliedDiscount, Customer, Label, Order, RuleErrorRecord

VIP_RULES = (
    "label Customer_VIP for customer\n"
    "on order_created when customer has label Customer_VIP "
    'then discount 10% "VIP New Order Discount"\n'
)


@pytest.fixture
def engine(sessions):
    e = Engine(rulec.load_text(VIP_RULES, "rules/vip.rules"))
    e.attach(sessions)
    return e


@pytest.fixture
def people(sessions):
    with sessions.begin() as s:
        vip = Label(name="Customer_VIP", entity_type="customer")
        ada, ben = Customer(name="Ada"), Customer(name="Ben", labels=[vip])
        s.add_all([ada, ben])
    return ada.id, ben.id


def order(sessions, customer_id, subtotal="120.00", currency="EUR"):
    with sessions.begin() as s:
        o = Order(customer_id=customer_id, subtotal=Decimal(subtotal), currency=currency)
        s.add(o)
    with sessions() as s:  # read back what was stored
        o = s.get(Order, o.id)
        o.applied_discounts  # noqa: B018 - load while the session is open
        return o


class TestOldSystemChecks:
    def test_a_customer_without_the_label_gets_no_discount(self, engine, people, sessions):
        o = order(sessions, people[0])
        assert o.discount_amount == Decimal("0.00")
        assert o.discount_percentage is None
        assert o.discount_description is None
        assert o.total_amount == Decimal("120.00")
        assert o.applied_discounts == []

    def test_a_vip_gets_ten_percent_stored_on_the_order(self, engine, people, sessions):
        o = order(sessions, people[1])
        assert o.discount_percentage == Decimal("10")
        assert o.discount_amount == Decimal("12.00")
        assert o.discount_description == "VIP New Order Discount"
        assert o.total_amount == Decimal("108.00")
        assert o.calculate_total() == Decimal("108.00")
        assert o.rule_set_version == engine.rules.version
        [a] = o.applied_discounts
        assert (a.rule_name, a.rule_file, a.rule_line, a.kind) == (
            "vip.rules:2",
            "rules/vip.rules",
            2,
            "percentage",
        )
        assert (a.percentage, a.amount, a.description) == (
            Decimal("10"),
            Decimal("12.00"),
            "VIP New Order Discount",
        )

    @pytest.mark.parametrize(
        ("subtotal", "discount", "total"),
        [("19.99", "2.00", "17.99"), ("0.05", "0.01", "0.04"), ("1234.56", "123.46", "1111.10")],
    )
    def test_amounts_are_exact(self, engine, people, sessions, subtotal, discount, total):
        o = order(sessions, people[1], subtotal)
        assert (o.subtotal, o.discount_amount, o.total_amount) == (
            Decimal(subtotal),
            Decimal(discount),
            Decimal(total),
        )

    def test_removing_the_label_affects_only_new_orders(self, engine, people, sessions):
        first = order(sessions, people[1])
        with sessions.begin() as s:
            ben = s.get(Customer, people[1])
            ben.labels.clear()
        second = order(sessions, people[1], "80.00")
        assert second.discount_amount == Decimal("0.00")
        assert second.total_amount == Decimal("80.00")
        with sessions() as s:
            again = s.get(Order, first.id)
            assert again.discount_amount == Decimal("12.00")
            assert again.total_amount == Decimal("108.00")


class TestTransactions:
    def test_the_engine_adds_one_select_and_one_insert_per_discount(
        self, engine, people, sessions, db
    ):
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement.split()[0].upper())

        event.listen(db, "before_cursor_execute", count)
        try:
            with sessions.begin() as s:
                s.add(Order(customer_id=people[1], subtotal=Decimal("50.00"), currency="EUR"))
        finally:
            event.remove(db, "before_cursor_execute", count)
        assert statements.count("SELECT") == 1
        assert statements.count("INSERT") == 2  # the order and its one audit row

    def test_a_rolled_back_order_leaves_nothing(self, engine, people, sessions):
        with sessions() as s:
            s.add(Order(customer_id=people[1], subtotal=Decimal("50.00"), currency="EUR"))
            s.flush()
            s.rollback()
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(Order)) == 0
            assert s.scalar(select(func.count()).select_from(AppliedDiscount)) == 0

    def test_the_engine_never_commits(self, engine, people, sessions):
        with sessions() as s:
            s.add(Order(customer_id=people[1], subtotal=Decimal("50.00"), currency="EUR"))
            s.flush()
            # not committed: a second session does not see the order
            with sessions() as other:
                assert other.scalar(select(func.count()).select_from(Order)) == 0
            s.rollback()

    def test_firing_twice_changes_nothing(self, engine, people, sessions):
        o = order(sessions, people[1])
        with sessions.begin() as s:
            again = s.get(Order, o.id)
            ids = [a.id for a in again.applied_discounts]
            engine.fire("order_created", again, s)
            engine.fire("order_created", again, s)
        with sessions() as s:
            after = s.get(Order, o.id)
            assert [a.id for a in after.applied_discounts] == ids
            assert after.discount_amount == Decimal("12.00")

    def test_changing_the_subtotal_re_decides_the_order(self, engine, people, sessions):
        o = order(sessions, people[1])
        with sessions.begin() as s:
            s.get(Order, o.id).subtotal = Decimal("50.00")
        with sessions() as s:
            after = s.get(Order, o.id)
            assert after.discount_amount == Decimal("5.00")
            assert after.total_amount == Decimal("45.00")
            assert [a.amount for a in after.applied_discounts] == [Decimal("5.00")]


class TestLabelsInTheSession:
    """Labels already in the session cost no query and count even before a flush."""

    def statements(self, db, sessions, build):
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement.split()[0].upper())

        with sessions() as s:
            order = build(s)
            event.listen(db, "before_cursor_execute", count)
            try:
                s.add(order)
                s.flush()
            finally:
                event.remove(db, "before_cursor_execute", count)
            result = (order.discount_amount, len(order.applied_discounts))
            s.rollback()
        return seen, result

    def test_a_label_added_in_the_same_transaction_counts(self, engine, people, sessions, db):
        def build(s):
            ada = s.get(Customer, people[0])
            ada.labels.append(s.scalars(select(Label)).one())  # not flushed yet
            s.info["keep"] = ada  # the identity map holds objects weakly
            return Order(customer_id=people[0], subtotal=Decimal("50.00"))

        seen, result = self.statements(db, sessions, build)
        assert result == (Decimal("5.00"), 1)
        assert "SELECT" not in seen  # the labels in memory are the truth

    def test_a_label_removed_in_the_same_transaction_counts(self, engine, people, sessions, db):
        def build(s):
            ben = s.get(Customer, people[1])
            ben.labels.clear()  # not flushed yet
            s.info["keep"] = ben  # the identity map holds objects weakly
            return Order(customer_id=people[1], subtotal=Decimal("50.00"))

        seen, result = self.statements(db, sessions, build)
        assert result == (Decimal("0.00"), 0)
        assert "SELECT" not in seen

    def test_a_customer_in_the_session_with_unloaded_labels_is_queried(
        self, engine, people, sessions, db
    ):
        def build(s):
            s.info["keep"] = s.get(Customer, people[1])  # labels not loaded
            return Order(customer_id=people[1], subtotal=Decimal("50.00"))

        seen, result = self.statements(db, sessions, build)
        assert result == (Decimal("5.00"), 1)
        assert seen.count("SELECT") == 1

    def test_labels_written_with_core_in_the_same_transaction_count(
        self, engine, people, sessions, db
    ):
        from rulec.storage.models import customer_labels

        def build(s):
            vip = s.scalars(select(Label)).one()
            s.execute(customer_labels.insert().values(customer_id=people[0], label_id=vip.id))
            return Order(customer_id=people[0], subtotal=Decimal("50.00"))

        _seen, result = self.statements(db, sessions, build)
        assert result == (Decimal("5.00"), 1)


class TestFailures:
    @staticmethod
    def attach_a_failing_rule(sessions):
        """The VIP rule and a rule "boom" (rules/vip.rules:3) whose test raises."""
        rs = rulec.load_text(
            VIP_RULES + 'rule "boom" on order_created then discount 50% "boom" end\n',
            "rules/vip.rules",
        )

        def explode(_facts):
            raise ZeroDivisionError("division by zero")

        rules = [attrs.evolve(r, test=explode) if r.name == "boom" else r for r in rs.rules]
        engine = Engine(
            rulec.RuleSet.build(rules, rs.version, rs.modules, rulec.DEFAULT_VOCABULARY)
        )
        engine.attach(sessions)

    def test_a_failing_rule_does_not_lose_the_order(self, sessions, people, caplog):
        self.attach_a_failing_rule(sessions)
        with caplog.at_level(logging.ERROR, logger="rulec.engine"):
            o = order(sessions, people[1])
        assert o.discount_amount == Decimal("12.00")
        with sessions() as s:
            [err] = s.scalars(select(RuleErrorRecord)).all()
            assert (err.order_id, err.rule_name, err.rule_line) == (o.id, "boom", 3)
            assert "ZeroDivisionError" in err.message
        assert f"rule 'boom' (rules/vip.rules:3) failed on order {o.id}" in caplog.text

    def test_a_retried_order_keeps_one_record_per_rule_error(self, sessions, people, caplog):
        # The first flush fails after the engine ran; the same order is added
        # again and flushed: one error row, not one per attempt.
        self.attach_a_failing_rule(sessions)
        with caplog.at_level(logging.ERROR, logger="rulec.engine"), sessions() as s:
            o = Order(customer_id=people[1], subtotal=Decimal("120.00"), currency="EUR")
            s.add(o)
            s.add(Label(name="Customer_VIP", entity_type="customer"))  # a duplicate name
            with pytest.raises(sqlalchemy.exc.IntegrityError):
                s.flush()
            s.rollback()
            s.add(o)
            s.commit()
            order_id = o.id
        with sessions() as s:
            errors = s.scalars(select(RuleErrorRecord)).all()
            assert [(e.order_id, e.rule_name) for e in errors] == [(order_id, "boom")]

    def test_reload_keeps_the_old_rule_set_when_the_new_one_has_errors(self, tmp_path, caplog):
        f = tmp_path / "vip.rules"
        f.write_text(VIP_RULES)
        engine = Engine.from_paths([tmp_path])
        old = engine.rules
        f.write_text(VIP_RULES.replace("discount 10%", "discont 10%"))
        with caplog.at_level(logging.ERROR, logger="rulec.engine"):
            assert engine.reload() is False
        assert engine.rules is old
        assert "R202" in caplog.text
        f.write_text(VIP_RULES.replace("10%", "20%"))
        assert engine.reload() is True
        assert engine.rules.version != old.version


class TestEmbedding:
    def test_the_readme_snippet_runs(self, db, tmp_path, monkeypatch):
        """The README's embedding example, run as written."""
        import pathlib
        import re

        readme = pathlib.Path(__file__).parents[2].joinpath("README.md").read_text()
        snippet = re.search(r"```python embed\n(.*?)```", readme, re.S).group(1)
        monkeypatch.chdir(tmp_path)  # from any folder, not only a checkout
        namespace = {"DATABASE_URL": db.url.render_as_string(hide_password=False)}
        try:
            exec(compile(snippet, "README.md", "exec"), namespace)
        finally:
            if "db" in namespace:
                namespace["db"].dispose()
        assert namespace["order"].total_amount == Decimal("108.00")


class TestThreads:
    def test_one_engine_serves_many_threads_and_sessions(self, engine, people, sessions):
        from concurrent.futures import ThreadPoolExecutor

        def place(n):
            customer = people[n % 2]
            with sessions.begin() as s:
                o = Order(customer_id=customer, subtotal=Decimal(f"{10 + n}.00"), currency="EUR")
                s.add(o)
            return o.id, customer, n

        with ThreadPoolExecutor(max_workers=4) as pool:
            placed = list(pool.map(place, range(24)))
        with sessions() as s:
            for oid, customer, n in placed:
                o = s.get(Order, oid)
                expected = Decimal(f"{10 + n}.00") / 10 if customer == people[1] else Decimal(0)
                assert o.discount_amount == expected.quantize(Decimal("0.01"))
                assert len(o.applied_discounts) == (1 if customer == people[1] else 0)


# ------------------------------------------------------ labels and their type --


def stored_order(sessions):
    """The one stored order, its discount, its audit rows and its labels (name, type)."""
    with sessions() as s:
        [o] = s.scalars(select(Order)).all()
        audits = [(a.rule_name, a.amount) for a in o.applied_discounts]
        labels = sorted((x.name, x.entity_type) for x in o.labels)
        return o.discount_amount, o.total_amount, audits, labels


class TestALabelCountsOnlyForItsEntity:
    """Issue 13, bug 1: a label typed for orders never satisfies ``customer has label``."""

    def test_linking_an_order_label_to_a_customer_is_refused(self, engine, sessions):
        from rulec.storage import models

        with (
            pytest.raises(
                models.LabelTypeError,
                match=r"^cannot link label 'Customer_VIP' of entity type 'order' to customer "
                r"Customer\(None, 'A'\): customers carry only labels of entity type "
                r"'customer'$",
            ),
            sessions.begin() as s,
        ):
            s.add(
                Order(
                    customer=Customer(
                        name="A", labels=[Label(name="Customer_VIP", entity_type="order")]
                    ),
                    subtotal=Decimal("100.00"),
                )
            )
        with sessions() as s:  # nothing was stored, no discount given
            assert s.scalar(select(func.count()).select_from(Order)) == 0
            assert s.scalar(select(func.count()).select_from(AppliedDiscount)) == 0
            assert s.scalar(select(func.count()).select_from(Customer)) == 0

    @pytest.mark.parametrize("in_memory", [False, True], ids=["queried", "loaded"])
    def test_a_link_written_by_other_means_never_counts(self, engine, sessions, in_memory):
        """A link the ORM would refuse, written with Core (an import, a backend's own
        SQL): the customer's order label is not a customer label, queried or loaded."""
        from sqlalchemy.orm import selectinload

        from rulec.storage.models import customer_labels

        with sessions.begin() as s:
            a = Customer(name="A")
            wrong = Label(name="Customer_VIP", entity_type="order")
            s.add_all([a, wrong])
        with sessions.begin() as s:
            s.execute(customer_labels.insert().values(customer_id=a.id, label_id=wrong.id))
        with sessions.begin() as s:
            if in_memory:
                query = select(Customer).options(selectinload(Customer.labels))
                customer = s.execute(query).scalar_one()
                assert [x.name for x in customer.labels] == ["Customer_VIP"]
                s.add(Order(customer=customer, subtotal=Decimal("100.00")))
            else:
                s.add(Order(customer_id=a.id, subtotal=Decimal("100.00")))
        assert stored_order(sessions) == (Decimal("0"), Decimal("100.00"), [], [])


class TestOneNameForTwoEntities:
    """Issue 13, bug 2: a label is (name, entity type); ``Gold`` may be a customer's and
    an order's label at once, and a rule links the one of the entity it names."""

    RULES = (
        "label Gold for customer\n"
        "label Gold for order\n"
        "on order_created when customer has label Gold then add label Gold to order\n"
        'on order_created when order has label Gold then discount 5% "Gold order"\n'
    )

    @pytest.fixture
    def gold_engine(self, sessions):
        e = Engine(rulec.load_text(self.RULES, "rules/gold.rules"))
        e.attach(sessions)
        yield e
        e.detach(sessions)

    def test_a_rule_adds_the_order_label_not_the_customer_one(self, gold_engine, sessions):
        with sessions.begin() as s:
            ada = Customer(name="Ada", labels=[Label(name="Gold", entity_type="customer")])
            s.add(ada)
        with sessions.begin() as s:
            s.add(Order(customer_id=ada.id, subtotal=Decimal("100.00")))
        # the label change counts from the next event: no discount on this order
        assert stored_order(sessions) == (
            Decimal("0"),
            Decimal("100.00"),
            [],
            [("Gold", "order")],
        )
        with sessions() as s:
            got = s.execute(select(Label.name, Label.entity_type).order_by(Label.id)).all()
            assert [tuple(r) for r in got] == [("Gold", "customer"), ("Gold", "order")]
            assert [x.entity_type for x in s.get(Customer, ada.id).labels] == ["customer"]

    def test_both_labels_may_exist_before_the_rule_runs(self, gold_engine, sessions):
        with sessions.begin() as s:
            ada = Customer(name="Ada", labels=[Label(name="Gold", entity_type="customer")])
            s.add_all([ada, Label(name="Gold", entity_type="order", color="gold")])
        with sessions.begin() as s:
            s.add(Order(customer_id=ada.id, subtotal=Decimal("100.00")))
        with sessions() as s:
            [o] = s.scalars(select(Order)).all()
            assert [(x.name, x.entity_type, x.color) for x in o.labels] == [
                ("Gold", "order", "gold")
            ]
            assert s.scalar(select(func.count()).select_from(Label)) == 2
