"""Issue 6 in the engine: every entity's labels, order lines, status, agents, label events.

Every test runs on SQLite and PostgreSQL (the ``sessions`` fixture).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

import rulec
from rulec.engine.db.attach import Engine
from rulec.storage.models import (
    Agent,
    Customer,
    Item,
    Label,
    Order,
    OrderItem,
    OrderStatusChange,
)

RULES = """
label Customer_VIP, Blocked, Welcomed for customer
label Rush for order
label Fragile, Bulky for item
label Senior for agent

on order_created when customer has label Customer_VIP then discount 10% "VIP"
on order_created when order has label Rush then set order status to confirmed
on order_created when any item has label Fragile then add label Rush to order
rule "bulk"
  on order_created when order item count >= 10 then discount 5% "Bulk order"
end
rule "agent orders wait"
  on order_created when order created by agent is true and not customer has label Blocked
  then set order status to pending
end
on order_created when agent has label Senior then add label Senior_Sale to order
on customer_labeled when label is Customer_VIP then add label Welcomed to customer
on customer_unlabeled when label is Customer_VIP then remove label Welcomed from customer
"""


@pytest.fixture
def engine(sessions):
    rules = rulec.load_text(RULES.replace("Senior_Sale", "Rush"), "rules/shop.rules")
    e = Engine(rules)
    e.attach(sessions)
    return e


def label(s, name, kind):
    found = s.execute(
        select(Label).where(Label.name == name, Label.entity_type == kind)
    ).scalar_one_or_none()
    if found is None:
        found = Label(name=name, entity_type=kind)
        s.add(found)
    return found


def stored(sessions, order_id):
    with sessions() as s:
        o = s.get(Order, order_id)
        assert o is not None
        o.items  # noqa: B018 - load while the session is open
        o.status_changes  # noqa: B018
        o.applied_discounts  # noqa: B018
        return o, sorted(x.name for x in o.labels)


class TestOrderLines:
    def test_the_subtotal_comes_from_the_lines_and_the_discount_is_allocated(
        self, engine, sessions
    ):
        with sessions.begin() as s:
            vip = Customer(name="Ada", labels=[label(s, "Customer_VIP", "customer")])
            cake = Item(name="Cake", unit_price=Decimal("33.33"))
            o = Order(customer=vip, subtotal=Decimal("999"))  # ignored: the lines decide
            o.items = [
                OrderItem(item=cake, quantity=1),
                OrderItem(item=cake, quantity=1),
                OrderItem(description="Flowers", quantity=1, unit_price=Decimal("33.34")),
            ]
            s.add(o)
        o, _ = stored(sessions, o.id)
        assert o.subtotal == Decimal("100.00")
        assert o.discount_amount == Decimal("10.00")
        shares = [line.discount_amount for line in o.items]
        assert shares == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")]
        assert sum(shares) == o.discount_amount  # no cent lost or invented

    def test_a_line_keeps_the_price_it_was_sold_at(self, engine, sessions):
        with sessions.begin() as s:
            cake = Item(name="Cake", unit_price=Decimal("20.00"))
            o = Order(items=[OrderItem(item=cake, quantity=2)])
            s.add(o)
        with sessions.begin() as s:
            s.get(Item, cake.id).unit_price = Decimal("25.00")
        o, _ = stored(sessions, o.id)
        assert (o.items[0].unit_price, o.subtotal) == (Decimal("20.00"), Decimal("40.00"))

    def test_any_item_and_item_count(self, engine, sessions):
        with sessions.begin() as s:
            vase = Item(
                name="Vase", unit_price=Decimal("10.00"), labels=[label(s, "Fragile", "item")]
            )
            o = Order(items=[OrderItem(item=vase, quantity=10)])
            s.add(o)
        o, labels = stored(sessions, o.id)
        # Fragile line -> Rush label; Rush order -> confirmed (the same firing
        # reads the labels as they were: the status waits for the next one)
        assert labels == ["Rush"]
        assert o.discount_description == "Bulk order"
        assert o.discount_amount == Decimal("5.00")
        assert sum(line.discount_amount for line in o.items) == Decimal("5.00")

    def test_a_line_label_counts_as_well_as_its_items(self, engine, sessions):
        with sessions.begin() as s:
            line = OrderItem(description="Glass", unit_price=Decimal("3.00"))
            line.labels.append(label(s, "Fragile", "item"))
            o = Order(items=[line])
            s.add(o)
        assert stored(sessions, o.id)[1] == ["Rush"]

    def test_adding_a_line_to_a_stored_order_decides_it_again(self, engine, sessions):
        with sessions.begin() as s:
            o = Order(items=[OrderItem(description="Tea", unit_price=Decimal("4.00"))])
            s.add(o)
        with sessions.begin() as s:
            again = s.get(Order, o.id)
            again.items.append(
                OrderItem(description="Cups", quantity=9, unit_price=Decimal("1.00"))
            )
        o, _ = stored(sessions, o.id)
        assert o.subtotal == Decimal("13.00")
        assert o.discount_description == "Bulk order"  # 10 items now


class TestStatus:
    def test_a_rule_sets_the_status_with_a_history_row(self, engine, sessions):
        with sessions.begin() as s:
            o = Order(subtotal=Decimal("10.00"), labels=[label(s, "Rush", "order")])
            s.add(o)
        o, _ = stored(sessions, o.id)
        assert o.status == "confirmed"
        assert [(c.old_status, c.new_status, c.rule_name) for c in o.status_changes] == [
            ("new", "confirmed", "shop.rules:8")
        ]

    def test_deciding_again_adds_no_second_history_row(self, engine, sessions):
        with sessions.begin() as s:
            o = Order(subtotal=Decimal("10.00"), labels=[label(s, "Rush", "order")])
            s.add(o)
        with sessions.begin() as s:
            s.get(Order, o.id).subtotal = Decimal("11.00")
        o, _ = stored(sessions, o.id)
        assert len(o.status_changes) == 1


class TestOrdersWithoutACustomer:
    def test_an_agent_order_gets_what_its_rules_say_and_nothing_crashes(self, engine, sessions):
        with sessions.begin() as s:
            bob = Agent(name="Bob", labels=[label(s, "Senior", "agent")])
            o = Order(agent=bob, subtotal=Decimal("50.00"))
            s.add(o)
        o, labels = stored(sessions, o.id)
        assert o.customer_id is None
        assert o.discount_amount == Decimal("0.00")  # the VIP rule needs a customer
        assert o.status == "pending"  # 'not customer has label Blocked' holds
        assert labels == ["Rush"]  # the agent's label counts

    def test_customer_conditions_never_match_without_a_customer(self):
        rs = rulec.load_text(
            "label Blocked for customer\n"
            'rule "lacks" on order_created when customer lacks label Blocked '
            'then discount 1% "a" end\n'
            'rule "count" on order_created when customer order count != 3 '
            'then discount 2% "b" end\n'
            'rule "not has" on order_created when not customer has label Blocked '
            'then discount 3% "c" end\n',
            "x.rules",
        )
        facts = {"order.subtotal": Decimal("100.00"), "customer.absent": True}
        assert [r.name for r in rs.matching("order_created", facts)] == ["not has"]
        with_customer = {"order.subtotal": Decimal("100.00"), "customer.order_count": 1}
        assert [r.name for r in rs.matching("order_created", with_customer)] == [
            "lacks",
            "count",
            "not has",
        ]


class TestLabelEvents:
    def test_linking_a_label_fires_customer_labeled(self, engine, sessions):
        with sessions.begin() as s:
            ada = Customer(name="Ada")
            s.add(ada)
        with sessions.begin() as s:
            again = s.get(Customer, ada.id)
            again.labels.append(label(s, "Customer_VIP", "customer"))
        with sessions() as s:
            assert sorted(x.name for x in s.get(Customer, ada.id).labels) == [
                "Customer_VIP",
                "Welcomed",
            ]
        with sessions.begin() as s:
            c = s.get(Customer, ada.id)
            c.labels.remove(next(x for x in c.labels if x.name == "Customer_VIP"))
        with sessions() as s:
            assert [x.name for x in s.get(Customer, ada.id).labels] == []

    def test_a_new_customer_created_with_a_label_is_labeled_too(self, engine, sessions):
        with sessions.begin() as s:
            ada = Customer(name="Ada", labels=[label(s, "Customer_VIP", "customer")])
            s.add(ada)
        with sessions() as s:
            assert "Welcomed" in {x.name for x in s.get(Customer, ada.id).labels}

    def test_other_labels_do_not_match_label_is(self, engine, sessions):
        with sessions.begin() as s:
            ada = Customer(name="Ada", labels=[label(s, "Blocked", "customer")])
            s.add(ada)
        with sessions() as s:
            assert [x.name for x in s.get(Customer, ada.id).labels] == ["Blocked"]

    def test_undoing_a_link_to_a_label_of_another_type_fires_no_event(self, engine, sessions):
        """A customer linked (with Core: the ORM refuses it) to the *order* label
        Customer_VIP never had the customer label: taking that link away is no
        ``customer_unlabeled``, and Welcomed stays."""
        from rulec.storage.models import customer_labels

        with sessions.begin() as s:
            ada = Customer(name="Ada", labels=[label(s, "Customer_VIP", "customer")])
            wrong = Label(name="Customer_VIP", entity_type="order")
            s.add_all([ada, wrong])
        with sessions.begin() as s:
            s.execute(customer_labels.insert().values(customer_id=ada.id, label_id=wrong.id))
        with sessions.begin() as s:
            c = s.get(Customer, ada.id)
            c.labels.remove(next(x for x in c.labels if x.entity_type == "order"))
        with sessions() as s:
            got = sorted((x.name, x.entity_type) for x in s.get(Customer, ada.id).labels)
            assert got == [("Customer_VIP", "customer"), ("Welcomed", "customer")]

    def test_label_events_without_rules_cost_nothing(self, sessions):
        e = Engine(rulec.load_text("", "empty.rules"))
        e.attach(sessions)
        with sessions.begin() as s:
            ada = Customer(name="Ada")
            s.add(ada)
        with sessions.begin() as s:
            got = e.fire_label(s, "customer", s.get(Customer, ada.id), "X", True)
        assert got is None


def test_status_history_rows_name_the_rule_set_version(engine, sessions):
    with sessions.begin() as s:
        o = Order(subtotal=Decimal("1.00"), labels=[label(s, "Rush", "order")])
        s.add(o)
    with sessions() as s:
        change = s.execute(select(OrderStatusChange)).scalar_one()
        assert change.rule_set_version == engine.rules.version


class TestChangingLines:
    """A stored order's lines change: the order is decided again, from its live lines."""

    RULE = 'on order_created when order item count >= 3 then discount 10% "Bulk"\n'

    @pytest.fixture
    def bulk(self, sessions):
        e = Engine(rulec.load_text(self.RULE, "bulk.rules"))
        e.attach(sessions)
        with sessions.begin() as s:
            o = Order(
                items=[
                    OrderItem(description="a", quantity=2, unit_price=Decimal("10.00")),
                    OrderItem(description="b", quantity=1, unit_price=Decimal("5.00")),
                ]
            )
            s.add(o)
        return o.id

    def figures(self, sessions, order_id):
        with sessions() as s:
            o = s.get(Order, order_id)
            lines = [(x.description, x.line_total, x.discount_amount) for x in o.items]
            return o.subtotal, o.discount_amount, lines

    def test_deleting_a_line_decides_the_order_without_it(self, sessions, bulk):
        assert self.figures(sessions, bulk)[:2] == (Decimal("25.00"), Decimal("2.50"))
        with sessions.begin() as s:
            s.delete(s.execute(select(OrderItem).where(OrderItem.description == "b")).scalar_one())
        assert self.figures(sessions, bulk) == (
            Decimal("20.00"),
            Decimal("0.00"),  # two items left: no bulk discount
            [("a", Decimal("20.00"), Decimal("0.00"))],
        )

    def test_changing_a_quantity_updates_the_line_total_and_the_order(self, sessions, bulk):
        with sessions.begin() as s:
            line = s.execute(select(OrderItem).where(OrderItem.description == "a")).scalar_one()
            line.quantity = 5
        subtotal, discount, lines = self.figures(sessions, bulk)
        assert (subtotal, discount) == (Decimal("55.00"), Decimal("5.50"))
        assert lines[0][1] == Decimal("50.00")
        assert sum(x[2] for x in lines) == discount

    def test_a_line_added_by_order_id_counts(self, sessions, bulk):
        with sessions.begin() as s:
            s.add(OrderItem(order_id=bulk, description="c", quantity=2, unit_price=Decimal("1.00")))
        subtotal, discount, lines = self.figures(sessions, bulk)
        assert (subtotal, discount) == (Decimal("27.00"), Decimal("2.70"))
        assert sum(x[2] for x in lines) == discount

    def test_removing_every_line_leaves_nothing_to_pay(self, sessions, bulk):
        with sessions.begin() as s:
            o = s.get(Order, bulk)
            o.items.clear()
        assert self.figures(sessions, bulk) == (Decimal("0.00"), Decimal("0.00"), [])


class TestLabelsCreatedInTheSameFlush:
    """The engine decides during a flush: labels not written yet must not be created twice."""

    RULES = (
        "label Trusted for agent\n"
        "label Checked for order\n"
        "on order_created when agent has label Trusted then add label Trusted to agent\n"
        "on order_created then add label Checked to order\n"
    )

    @pytest.fixture
    def engine(self, sessions):
        e = Engine(rulec.load_text(self.RULES, "same.rules"))
        e.attach(sessions)
        return e

    def test_a_label_the_application_just_created_is_reused(self, engine, sessions):
        with sessions.begin() as s:
            al = Agent(name="Al", labels=[Label(name="Trusted", entity_type="agent")])
            s.add(Order(agent=al, subtotal=Decimal("1.00")))
        with sessions() as s:
            assert s.execute(select(Label.name)).scalars().all().count("Trusted") == 1

    def test_two_orders_of_one_flush_share_the_label_their_rule_creates(self, engine, sessions):
        with sessions.begin() as s:
            s.add_all([Order(subtotal=Decimal("1.00")), Order(subtotal=Decimal("2.00"))])
        with sessions() as s:
            checked = s.execute(select(Label).where(Label.name == "Checked")).scalar_one()
            orders = s.execute(select(Order)).scalars().all()
            assert [[x.name for x in o.labels] for o in orders] == [["Checked"], ["Checked"]]
            assert checked.entity_type == "order"


@pytest.mark.parametrize(
    ("holder", "model"),
    [
        ("professional", "Professional"),
        ("service", "Service"),
        ("price", "Price"),
        ("item", "Item"),
    ],
)
def test_every_label_holder_fires_its_label_events(sessions, holder, model):
    """Linking a label to any holder runs its <holder>_labeled rules on that row."""
    from rulec.storage import models

    rules = rulec.load_text(
        f"label Star, Seen for {holder}\n"
        f"on {holder}_labeled when label is Star then add label Seen to {holder}\n"
        f"on {holder}_unlabeled when label is Star then remove label Seen from {holder}\n",
        "h.rules",
    )
    Engine(rules).attach(sessions)
    cls = getattr(models, model)
    extra = {"amount": Decimal("1.00")} if holder == "price" else {}
    if holder == "item":
        extra = {"unit_price": Decimal("1.00")}
    with sessions.begin() as s:
        row = cls(name="x", **extra)
        s.add(row)
    with sessions.begin() as s:
        again = s.get(cls, row.id)
        again.labels.append(label(s, "Star", holder))
    with sessions.begin() as s:
        again = s.get(cls, row.id)
        assert sorted(x.name for x in again.labels) == ["Seen", "Star"]
        again.labels.remove(next(x for x in again.labels if x.name == "Star"))
    with sessions() as s:
        assert [x.name for x in s.get(cls, row.id).labels] == []


def test_label_changes_rules_make_outside_a_flush_fire_no_label_event(sessions):
    """A scheduled run changes labels through the ORM before the flush: still the rules'
    change, not the application's, so the attached engine fires no label event."""
    from rulec.engine.db.write import change_label

    rules = rulec.load_text(
        "label Loyal, Thanked for customer\n"
        "on customer_labeled when label is Loyal then add label Thanked to customer\n",
        "l.rules",
    )
    Engine(rules).attach(sessions)
    with sessions.begin() as s:
        ada, ben = Customer(name="Ada", labels=[]), Customer(name="Ben", labels=[])
        s.add_all([ada, ben])
    with sessions.begin() as s:
        by_rule, by_app = s.get(Customer, ada.id), s.get(Customer, ben.id)
        by_rule.labels  # noqa: B018 - loaded: the change goes through the ORM
        change_label(s, "customer", by_rule, "Loyal", True)
        by_app.labels.append(label(s, "Loyal", "customer"))
    with sessions() as s:
        assert [x.name for x in s.get(Customer, ada.id).labels] == ["Loyal"]
        assert sorted(x.name for x in s.get(Customer, ben.id).labels) == ["Loyal", "Thanked"]


def test_engine_evaluate_reads_an_orders_changed_lines_without_writing(sessions):
    e = Engine(rulec.load_text('on order_created then discount 10% "Ten"\n', "t.rules"))
    e.attach(sessions)
    with sessions.begin() as s:
        o = Order(items=[OrderItem(description="a", quantity=1, unit_price=Decimal("10.00"))])
        s.add(o)
    with sessions() as s:
        o = s.get(Order, o.id)
        o.items[0].quantity = 3  # not flushed
        d = e.evaluate("order_created", o, s)
        assert (d.subtotal, d.discount_amount) == (Decimal("30.00"), Decimal("3.00"))
        assert o.subtotal == Decimal("10.00")  # nothing written


def test_a_rule_failing_on_an_order_label_event_is_recorded_on_the_order(sessions, caplog):
    import attrs

    from rulec.storage.models import RuleErrorRecord

    rs = rulec.load_text(
        "label Rush for order\n"
        'rule "boom" on order_labeled when label is Rush then set order status to confirmed end\n',
        "boom.rules",
    )

    def explode(_facts):
        raise ZeroDivisionError("division by zero")

    broken = [attrs.evolve(r, test=explode) for r in rs.rules]
    e = Engine(rulec.RuleSet.build(broken, rs.version, rs.modules, rulec.DEFAULT_VOCABULARY))
    e.attach(sessions)
    with sessions.begin() as s:
        o = Order(subtotal=Decimal("1.00"))
        s.add(o)
    with sessions.begin() as s:
        again = s.get(Order, o.id)
        again.labels.append(label(s, "Rush", "order"))
    with sessions() as s:
        o = s.get(Order, o.id)
        assert o.status == "new"  # the order and the label link are kept
        assert [x.name for x in o.labels] == ["Rush"]
        rows = s.execute(select(RuleErrorRecord)).scalars().all()
        assert [(r.rule_name, r.message) for r in rows] == [
            ("boom", "ZeroDivisionError: division by zero")
        ]
    assert "rule 'boom' (boom.rules:2) failed on order" in caplog.text


def test_an_order_in_an_unknown_currency_is_refused_at_flush(sessions):
    """Issue 21: it used to be stored undiscounted, with a rule error row; now the
    flush raises and, rolled back, leaves nothing."""
    from rulec.engine.core.errors import CurrencyError
    from rulec.storage.models import RuleErrorRecord

    Engine(rulec.load_text('on order_created then discount 10% "Ten"\n', "c.rules")).attach(
        sessions
    )
    with sessions() as s:
        s.add(Order(subtotal=Decimal("10.00"), currency="ZZZ"))
        with pytest.raises(CurrencyError, match=r"unknown currency 'ZZZ' in order\.currency"):
            s.flush()
        s.rollback()
    with sessions() as s:
        assert s.execute(select(Order)).scalars().all() == []
        assert s.execute(select(RuleErrorRecord)).scalars().all() == []
    rs = rulec.load_text('on order_created then discount 10% "Ten"\n', "c.rules")
    with pytest.raises(CurrencyError, match="unknown currency 'ZZZ'"):
        rs.evaluate("order_created", {"order.currency": "ZZZ", "order.subtotal": 1})


def test_deciding_an_order_again_does_not_set_its_status_back(sessions):
    """order_updated recomputes discounts with the order_created rules, but the
    status an order_created rule set once is not set again over the back office's."""
    rules = rulec.load_text(
        'on order_created then set order status to confirmed, discount 10% "Ten"\n',
        "s.rules",
    )
    Engine(rules).attach(sessions)
    with sessions.begin() as s:
        o = Order(subtotal=Decimal("10.00"))
        s.add(o)
    with sessions.begin() as s:
        s.get(Order, o.id).status = "shipped"  # the back office moves it on
    with sessions.begin() as s:
        s.get(Order, o.id).subtotal = Decimal("20.00")  # decided again
    with sessions() as s:
        o = s.get(Order, o.id)
        assert (o.status, o.discount_amount) == ("shipped", Decimal("2.00"))
        assert [c.new_status for c in o.status_changes] == ["confirmed"]


def test_deciding_an_order_again_does_not_redo_its_label_actions(sessions):
    rules = rulec.load_text(
        'label Rush for order\non order_created then add label Rush to order, discount 10% "Ten"\n',
        "r.rules",
    )
    Engine(rules).attach(sessions)
    with sessions.begin() as s:
        o = Order(subtotal=Decimal("10.00"))
        s.add(o)
    with sessions.begin() as s:
        again = s.get(Order, o.id)
        assert [x.name for x in again.labels] == ["Rush"]
        again.labels.clear()  # the back office takes it off
    with sessions.begin() as s:
        s.get(Order, o.id).subtotal = Decimal("20.00")  # decided again
    with sessions() as s:
        o = s.get(Order, o.id)
        assert ([x.name for x in o.labels], o.discount_amount) == ([], Decimal("2.00"))
