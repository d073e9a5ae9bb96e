"""Models: exact money, totals never below zero, masked URLs, and the old system's entities."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import CheckConstraint, UniqueConstraint, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from rulec.storage.models import (
    LABEL_LINKS,
    LABEL_TYPES,
    Agent,
    Customer,
    Item,
    Label,
    LabelTypeError,
    Order,
    OrderItem,
    OrderStatusChange,
    Price,
    Professional,
    ScheduledRun,
    Service,
)
from rulec.storage.session import mask_url


class TestMoneyColumns:
    # CLF has four decimal places, the money columns' most
    @pytest.mark.parametrize("amount", ["0.0100", "12.5000", "99999999.9999", "0.1234"])
    def test_decimals_come_back_exactly(self, sessions, amount):
        with sessions.begin() as s:
            s.add(Order(currency="CLF", subtotal=Decimal(amount), total_amount=Decimal(amount)))
        with sessions() as s:
            got = s.scalars(select(Order.subtotal)).one()
            assert got == Decimal(amount) and str(got) == amount
            assert isinstance(got, Decimal)

    def test_a_float_is_refused(self, sessions):
        with pytest.raises(TypeError, match="money must be a Decimal"):
            Order(subtotal=0.1)
        with pytest.raises(StatementError, match="money must be a Decimal"), sessions.begin() as s:
            s.execute(insert(Order).values(subtotal=0.1))  # past the models: the column refuses

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("0.00001", "at most 4 decimal places"),
            ("10000000000", "below 10\\*\\*10"),
        ],
    )
    def test_the_columns_limits_hold_on_every_database(self, sessions, value, message):
        with pytest.raises(StatementError, match=message), sessions.begin() as s:
            s.execute(insert(Order).values(currency="ZZZ", subtotal=Decimal(value)))


class TestOrder:
    def test_calculate_total_never_goes_below_zero(self):
        o = Order(subtotal=Decimal("10.00"), discount_amount=Decimal("15.00"))
        assert o.calculate_total() == Decimal("0")
        o.discount_amount = Decimal("2.50")
        assert o.calculate_total() == Decimal("7.50")

    def test_labels_are_unique_by_name(self, sessions):
        from sqlalchemy.exc import IntegrityError

        with sessions.begin() as s:
            s.add(Label(name="Customer_VIP"))
        with pytest.raises(IntegrityError), sessions.begin() as s:
            s.add(Label(name="Customer_VIP"))

    def test_customer_labels_record_when_they_were_assigned(self, sessions):
        from rulec.storage.models import customer_labels

        with sessions.begin() as s:
            s.add(Customer(name="Ben", labels=[Label(name="Customer_VIP")]))
        with sessions() as s:
            assert s.execute(select(customer_labels.c.assigned_at)).scalar_one() is not None


class TestMaskUrl:
    def test_passwords_never_show(self):
        assert mask_url("postgresql+psycopg://shop:s3cret@db:5432/shop") == (
            "postgresql+psycopg://shop:***@db:5432/shop"
        )
        assert "s3cret" not in mask_url("not a url but s3cret@host")


# ------------------------------------------------- the old system's entities --


class TestLabelTypes:
    def test_the_seven_types_of_the_old_system(self):
        assert LABEL_TYPES == (
            "customer",
            "professional",
            "agent",
            "service",
            "item",
            "price",
            "order",
        )

    def test_every_type_is_accepted(self, sessions):
        with sessions.begin() as s:
            s.add_all(Label(name=f"L_{t}", entity_type=t) for t in LABEL_TYPES)
        with sessions() as s:
            got = s.scalars(select(Label.entity_type).order_by(Label.id)).all()
        assert tuple(got) == LABEL_TYPES

    @pytest.mark.parametrize("entity_type", ["bogus", "Customer", "order_item", ""])
    def test_an_unknown_type_is_refused_by_the_database(self, sessions, entity_type):
        with pytest.raises(IntegrityError), sessions.begin() as s:
            s.add(Label(name="X", entity_type=entity_type))
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(Label)) == 0

    def test_the_check_constraint_is_named_by_the_convention(self):
        names = {c.name for c in Label.__table__.constraints if isinstance(c, CheckConstraint)}
        assert names == {"ck_labels_entity_type"}

    def test_labels_keep_their_display_fields(self, sessions):
        with sessions.begin() as s:
            s.add(
                Label(
                    name="Item_Premium",
                    entity_type="item",
                    description="premium items",
                    color="#d4af37",
                    visible_to_client=True,
                )
            )
        with sessions() as s:
            got = s.scalars(select(Label)).one()
            assert (got.entity_type, got.description, got.color, got.visible_to_client) == (
                "item",
                "premium items",
                "#d4af37",
                True,
            )


class TestRoundTrips:
    def test_people_catalog_and_prices(self, sessions):
        with sessions.begin() as s:
            pro = Professional(name="Studio Lumière", email="studio@example.com")
            agent = Agent(name="Alice (agent)")
            service = Service(name="Photography", professional=pro)
            item = Item(name="Album", service=service, unit_price=Decimal("349.90"))
            prices = [
                Price(name="Album 2027", item=item, amount=Decimal("379.90"), year=2027),
                Price(name="Photography, any year", service=service, amount=Decimal("1500")),
            ]
            s.add_all([agent, item, *prices])
        with sessions() as s:
            pro = s.scalars(select(Professional)).one()
            assert (pro.name, pro.email) == ("Studio Lumière", "studio@example.com")
            assert [x.name for x in pro.services] == ["Photography"]
            agent = s.scalars(select(Agent)).one()
            assert (agent.name, agent.email) == ("Alice (agent)", None)
            item = s.scalars(select(Item)).one()
            assert (item.unit_price, item.currency) == (Decimal("349.90"), "EUR")
            assert isinstance(item.unit_price, Decimal)
            assert item.service is not None and item.service.professional is not None
            assert item.service.professional.name == "Studio Lumière"
            got = [
                (p.name, p.amount, p.currency, p.year, p.item_id, p.service_id)
                for p in s.scalars(select(Price).order_by(Price.id))
            ]
            assert got == [
                ("Album 2027", Decimal("379.90"), "EUR", 2027, item.id, None),
                ("Photography, any year", Decimal("1500"), "EUR", None, None, item.service_id),
            ]

    def test_an_order_placed_by_an_agent_without_a_customer(self, sessions):
        with sessions.begin() as s:
            o = Order(agent=Agent(name="Alice"), wedding_date=date(2027, 6, 12))
            s.add(o)
        with sessions() as s:
            got = s.get(Order, o.id)
            assert got is not None
            assert (got.customer_id, got.agent.name, got.wedding_date) == (
                None,
                "Alice",
                date(2027, 6, 12),
            )
            assert got.status == "new"
            assert [x.id for x in got.agent.orders] == [o.id]

    def test_status_and_its_history(self, sessions):
        with sessions.begin() as s:
            o = Order(subtotal=Decimal("100"))
            s.add(o)
        with sessions.begin() as s:
            o = s.get(Order, o.id)
            o.status = "confirmed"
            o.status_changes.append(
                OrderStatusChange(
                    old_status="new",
                    new_status="confirmed",
                    rule_name="Confirm paid orders",
                    rule_file="rules/status.rules",
                    rule_line=3,
                    rule_set_version="abc123",
                )
            )
            o.status_changes.append(OrderStatusChange(old_status="confirmed", new_status="done"))
        with sessions() as s:
            o = s.get(Order, o.id)
            assert o.status == "confirmed"
            got = [
                (c.old_status, c.new_status, c.rule_name, c.rule_file, c.rule_line)
                for c in o.status_changes
            ]
            assert got == [
                ("new", "confirmed", "Confirm paid orders", "rules/status.rules", 3),
                ("confirmed", "done", None, None, None),
            ]
            assert all(c.changed_at is not None for c in o.status_changes)
            assert o.status_changes[0].rule_set_version == "abc123"

    def test_a_status_row_written_without_the_orm_gets_its_time(self, sessions):
        with sessions.begin() as s:
            o = Order()
            s.add(o)
        with sessions.begin() as s:
            s.execute(
                OrderStatusChange.__table__.insert().values(order_id=o.id, new_status="cancelled")
            )
        with sessions() as s:
            assert s.scalars(select(OrderStatusChange.changed_at)).one() is not None

    def test_reprs(self):
        for obj in (
            Professional(name="P"),
            Agent(name="A"),
            Service(name="S"),
            Item(name="I", unit_price=Decimal("1")),
            Price(name="Pr", amount=Decimal("1")),
            OrderItem(description="D", unit_price=Decimal("2"), quantity=2),
            OrderStatusChange(old_status="new", new_status="done"),
            ScheduledRun(event="daily", subject="order", period="2026-11-26"),
        ):
            assert repr(obj).startswith(type(obj).__name__ + "(")
        assert "4" in repr(OrderItem(description="D", unit_price=Decimal("2"), quantity=2))


class TestDeletes:
    def test_deleting_an_order_deletes_its_items_and_history(self, sessions):
        with sessions.begin() as s:
            item = Item(name="Album", unit_price=Decimal("10"))
            orders = [
                Order(
                    items=[OrderItem(item=item)],
                    status_changes=[OrderStatusChange(new_status="new")],
                )
                for _ in range(2)
            ]
            s.add_all(orders)
        with sessions.begin() as s:
            s.delete(s.get(Order, orders[0].id))  # the ORM
        with sessions.begin() as s:
            s.execute(delete(Order).where(Order.id == orders[1].id))  # the database's CASCADE
        with sessions() as s:
            for model in (OrderItem, OrderStatusChange):
                assert s.scalar(select(func.count()).select_from(model)) == 0
            assert s.scalar(select(func.count()).select_from(Item)) == 1

    def test_deleting_catalog_and_people_keeps_orders_and_lines(self, sessions):
        with sessions.begin() as s:
            pro = Professional(name="P")
            service = Service(name="S", professional=pro)
            item = Item(name="Album", service=service, unit_price=Decimal("10.00"))
            price = Price(name="2027", item=item, amount=Decimal("12.00"), year=2027)
            agent = Agent(name="A")
            o = Order(agent=agent, items=[OrderItem(item=item, quantity=3)])
            s.add_all([o, price])
        with sessions.begin() as s:
            s.execute(delete(Professional))
            s.execute(delete(Item))
            s.execute(delete(Agent))
        with sessions() as s:
            assert s.get(Service, service.id).professional_id is None  # SET NULL
            assert s.scalar(select(func.count()).select_from(Price)) == 0  # CASCADE
            o = s.get(Order, o.id)
            assert o.agent_id is None
            (line,) = o.items
            assert (line.item_id, line.description, line.unit_price, line.line_total) == (
                None,
                "Album",
                Decimal("10.00"),
                Decimal("30.00"),
            )

    def test_deleting_a_service_cascades_to_its_prices_and_unlinks_its_items(self, sessions):
        with sessions.begin() as s:
            service = Service(name="S")
            item = Item(name="I", service=service, unit_price=Decimal("1"))
            s.add_all([item, Price(name="P", service=service, amount=Decimal("2"))])
        with sessions.begin() as s:
            s.delete(s.get(Service, service.id))
        with sessions() as s:
            assert s.get(Item, item.id).service_id is None
            assert s.scalar(select(func.count()).select_from(Price)) == 0


class TestOrderItems:
    def test_the_price_is_copied_at_order_time(self, sessions):
        with sessions.begin() as s:
            item = Item(name="Wedding album", unit_price=Decimal("1200.00"))
            line = OrderItem(item=item, quantity=2)
            assert (line.unit_price, line.description, line.line_total) == (
                Decimal("1200.00"),
                "Wedding album",
                Decimal("2400.00"),
            )
            s.add(Order(items=[line]))
        with sessions.begin() as s:
            s.get(Item, item.id).unit_price = Decimal("1500.00")  # the catalog changes
        with sessions.begin() as s:
            s.add(Order(items=[OrderItem(item=s.get(Item, item.id))]))
        with sessions() as s:
            first, second = s.scalars(select(OrderItem).order_by(OrderItem.id)).all()
            assert (first.item_id, first.unit_price, first.line_total) == (
                item.id,
                Decimal("1200.00"),
                Decimal("2400.00"),
            )
            assert (second.unit_price, second.line_total, second.quantity) == (
                Decimal("1500.00"),
                Decimal("1500.00"),
                1,
            )

    def test_a_given_price_and_description_win_over_the_catalog(self):
        item = Item(name="Album", unit_price=Decimal("100"))
        line = OrderItem(item=item, unit_price=Decimal("80"), description="Album (promo)")
        assert (line.unit_price, line.description, line.line_total) == (
            Decimal("80"),
            "Album (promo)",
            Decimal("80"),
        )

    @pytest.mark.parametrize(
        ("unit_price", "quantity", "exact", "total"),
        [
            ("0.1", 3, "0.3", "0.30"),
            ("19.99", 7, "139.93", "139.93"),
            ("0.0001", 9999, "0.9999", "1.00"),
            ("33.3333", 3, "99.9999", "100.00"),
            ("0.335", 3, "1.005", "1.01"),  # half-up
            ("9999999.99", 1, "9999999.99", "9999999.99"),
        ],
    )
    def test_line_totals_are_rounded_half_up_in_the_orders_currency(
        self, sessions, unit_price, quantity, exact, total
    ):
        line = OrderItem(description="x", unit_price=Decimal(unit_price), quantity=quantity)
        assert line.line_total == line.compute_line_total() == Decimal(exact)  # no currency yet
        assert isinstance(line.line_total, Decimal)
        order = Order(items=[line])  # EUR: a line's total is paid, in cents
        assert str(line.line_total) == str(line.compute_line_total()) == total
        with sessions.begin() as s:
            s.add(order)
        with sessions() as s:
            got = s.scalars(select(OrderItem)).one()
            assert str(got.line_total) == total and isinstance(got.line_total, Decimal)
            assert str(got.discount_amount) == "0.00"

    def test_compute_line_total_follows_the_quantity(self):
        line = OrderItem(description="x", unit_price=Decimal("2.50"), quantity=2)
        line.quantity = 5
        assert line.compute_line_total() == Decimal("12.50")
        assert line.line_total == Decimal("5.00")  # not set behind the caller's back

    def test_a_float_price_is_refused(self):
        with pytest.raises(TypeError, match="money must be a Decimal"):
            OrderItem(description="x", unit_price=1.1, quantity=1)
        with pytest.raises(TypeError, match="money must be a Decimal"):
            OrderItem(item=Item(name="x", unit_price=0.5))

    def test_a_line_needs_a_price(self):
        with pytest.raises(ValueError, match="unit price"):
            OrderItem(description="x").compute_line_total()

    @pytest.mark.parametrize("quantity", [0, -1])
    def test_a_quantity_below_one_is_refused(self, sessions, quantity):
        with sessions.begin() as s:
            o = Order()
            s.add(o)
        with pytest.raises(IntegrityError), sessions.begin() as s:
            s.add(
                OrderItem(
                    order_id=o.id,
                    description="x",
                    quantity=quantity,
                    unit_price=Decimal("1"),
                    line_total=Decimal("0"),
                )
            )
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(OrderItem)) == 0

    def test_the_discount_share_is_kept(self, sessions):
        with sessions.begin() as s:
            line = OrderItem(
                description="x", unit_price=Decimal("10"), discount_amount=Decimal("1.25")
            )
            s.add(Order(items=[line]))
        with sessions() as s:
            assert s.scalars(select(OrderItem.discount_amount)).one() == Decimal("1.25")


class TestItemsSubtotal:
    def test_no_items_is_zero(self):
        got = Order().items_subtotal()
        assert got == Decimal("0") and isinstance(got, Decimal)

    def test_the_sum_of_the_line_totals(self, sessions):
        album = Item(name="Album", unit_price=Decimal("349.90"))
        o = Order(
            items=[
                OrderItem(item=album, quantity=2),
                OrderItem(description="Prints", unit_price=Decimal("0.35"), quantity=120),
                OrderItem(description="Frame", unit_price=Decimal("19.99"), quantity=3),
            ]
        )
        assert o.items_subtotal() == Decimal("699.80") + Decimal("42.00") + Decimal("59.97")
        with sessions.begin() as s:
            s.add(o)
        with sessions() as s:
            got = s.get(Order, o.id).items_subtotal()
            assert got == Decimal("801.77") and isinstance(got, Decimal)


def _holder(name, s):
    """A stored holder of kind ``name`` (its parents, if it needs any, too)."""
    match name:
        case "customer":
            obj = Customer(name="C")
        case "professional":
            obj = Professional(name="P")
        case "agent":
            obj = Agent(name="A")
        case "service":
            obj = Service(name="S")
        case "item":
            obj = Item(name="I", unit_price=Decimal("1"))
        case "price":
            obj = Price(name="P", amount=Decimal("1"))
        case "order":
            obj = Order()
        case "order_item":
            obj = OrderItem(order=Order(), description="x", unit_price=Decimal("1"))
    s.add(obj)
    s.flush()
    return obj


class TestLabelLinks:
    def test_every_holder_has_its_table(self):
        assert set(LABEL_LINKS) == {*LABEL_TYPES, "order_item"}
        for holder, table in LABEL_LINKS.items():
            assert table.name == f"{holder}_labels"
            assert {c.name for c in table.primary_key.columns} == {f"{holder}_id", "label_id"}
            assert table.c.assigned_at.server_default is not None
            for fk in table.foreign_keys:
                assert fk.ondelete == "CASCADE"

    def test_the_reverse_lookup_is_indexed(self):
        for holder, table in LABEL_LINKS.items():
            if holder != "customer":  # revision 0001's table is left as it was
                assert any([c.name for c in ix.columns] == ["label_id"] for ix in table.indexes), (
                    holder
                )

    @pytest.mark.parametrize("holder", sorted(LABEL_LINKS))
    def test_labels_link_and_cascade(self, sessions, holder):
        table = LABEL_LINKS[holder]
        key = table.c[f"{holder}_id"]
        entity_type = "item" if holder == "order_item" else holder  # a line: item labels
        with sessions.begin() as s:
            gold = Label(name="Gold", entity_type=entity_type)
            other = Label(name="Other", entity_type=entity_type)
            kept, by_orm, by_db = (_holder(holder, s) for _ in range(3))
            for obj in (kept, by_orm, by_db):
                obj.labels.extend([gold, other])
        with sessions() as s:
            got = s.get(type(kept), kept.id)
            assert sorted(x.name for x in got.labels) == ["Gold", "Other"]
            rows = s.execute(select(key, table.c.assigned_at).where(key == kept.id)).all()
            assert len(rows) == 2 and all(at is not None for _, at in rows)
            holders = s.scalars(select(key).where(table.c.label_id == gold.id).order_by(key))
            assert holders.all() == sorted([kept.id, by_orm.id, by_db.id])

        with sessions.begin() as s:  # the holder goes: its links go
            s.delete(s.get(type(by_orm), by_orm.id))
        with sessions.begin() as s:
            s.execute(delete(type(by_db).__table__).where(type(by_db).id == by_db.id))
        with sessions.begin() as s:  # a label goes: its links go
            s.execute(delete(Label).where(Label.id == other.id))
        with sessions() as s:
            assert s.execute(select(key, table.c.label_id)).all() == [(kept.id, gold.id)]
            assert [x.name for x in s.get(type(kept), kept.id).labels] == ["Gold"]


# ------------------------------------------- a label's identity and its type --

#: The entity type of the labels each holder carries: its own; an order line's are
#: its item's (what a line's labels mean to the rules: ``item.labels``).
CARRIES = {holder: "item" if holder == "order_item" else holder for holder in LABEL_LINKS}
#: How an error names each kind of holder.
HOLDER_NAMES = {
    holder: "order line" if holder == "order_item" else holder for holder in LABEL_LINKS
}


def _link_counts(s):
    return {h: s.scalar(select(func.count()).select_from(t)) for h, t in LABEL_LINKS.items()}


class TestLabelIdentity:
    """Issue 13, bug 2: a label is its name and its entity type."""

    def test_one_name_may_name_a_label_of_every_type(self, sessions):
        with sessions.begin() as s:
            s.add(Label(name="Gold", entity_type="customer", color="gold"))
        with sessions.begin() as s:
            s.add_all(Label(name="Gold", entity_type=t) for t in LABEL_TYPES if t != "customer")
        with sessions() as s:
            got = s.execute(select(Label.name, Label.entity_type, Label.color).order_by(Label.id))
            assert [tuple(r) for r in got] == [
                ("Gold", t, "gold" if t == "customer" else None) for t in LABEL_TYPES
            ]

    def test_a_name_is_unique_within_its_type(self, sessions):
        with sessions.begin() as s:
            s.add_all([Label(name="Gold", entity_type="order"), Label(name="Gold")])
        with pytest.raises(IntegrityError), sessions.begin() as s:
            s.add(Label(name="Gold", entity_type="order"))
        with pytest.raises(IntegrityError), sessions.begin() as s:
            s.add(Label(name="Gold", entity_type="customer"))
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(Label)) == 2

    def test_the_unique_constraint_is_on_name_and_type(self):
        unique = [
            (c.name, [col.name for col in c.columns])
            for c in Label.__table__.constraints
            if isinstance(c, UniqueConstraint)
        ]
        assert unique == [("uq_labels_name_entity_type", ["name", "entity_type"])]
        assert not Label.__table__.c.name.unique

    def test_a_label_without_a_type_is_a_customer_label_at_once(self):
        """Its type is known before the INSERT, so linking it is checked at once."""
        assert Label(name="Loyal").entity_type == "customer"
        assert Label(name="Rush", entity_type="order").entity_type == "order"


class TestLabelTypeEnforced:
    """Issue 13, bug 1: a holder carries only labels of its entity type; any other link is
    refused when it is made, naming the label, its type and the holder."""

    @pytest.mark.parametrize("holder", sorted(LABEL_LINKS))
    def test_a_label_of_the_holders_type_is_linked(self, sessions, holder):
        with sessions.begin() as s:
            row = _holder(holder, s)
            row.labels.append(Label(name="Ok", entity_type=CARRIES[holder]))
        with sessions() as s:
            got = s.get(type(row), row.id)
            assert [(x.name, x.entity_type) for x in got.labels] == [("Ok", CARRIES[holder])]

    @pytest.mark.parametrize("holder", sorted(LABEL_LINKS))
    @pytest.mark.parametrize("how", ["append", "extend", "assign", "insert"])
    def test_a_label_of_another_type_is_refused(self, sessions, holder, how):
        with sessions() as s:
            row = _holder(holder, s)
            ok = Label(name="Ok", entity_type=CARRIES[holder])
            row.labels.append(ok)
            for kind in LABEL_TYPES:
                if kind == CARRIES[holder]:
                    continue
                wrong = Label(name=f"Tag_{kind}", entity_type=kind)
                message = (
                    f"cannot link label 'Tag_{kind}' of entity type '{kind}' to "
                    f"{HOLDER_NAMES[holder]} {row!r}: {HOLDER_NAMES[holder]}s carry only "
                    f"labels of entity type '{CARRIES[holder]}'"
                )
                with pytest.raises(LabelTypeError) as caught:
                    match how:
                        case "append":
                            row.labels.append(wrong)
                        case "extend":
                            row.labels.extend([wrong])
                        case "assign":
                            row.labels = [ok, wrong]
                        case "insert":
                            row.labels.insert(0, wrong)
                assert str(caught.value) == message
                assert isinstance(caught.value, ValueError)
                assert row.labels == [ok]
            s.commit()
        with sessions() as s:
            assert s.get(type(row), row.id).labels[0].name == "Ok"
            assert sum(_link_counts(s).values()) == 1

    def test_a_wrong_label_given_to_the_constructor_is_refused(self, sessions):
        """The issue's reproduction: nothing is built, nothing is stored."""
        with pytest.raises(LabelTypeError, match=r"^cannot link label 'Customer_VIP' of entity"):
            Customer(name="A", labels=[Label(name="Customer_VIP", entity_type="order")])
        with pytest.raises(LabelTypeError, match=" to order line OrderItem"):
            OrderItem(
                description="Card",
                unit_price=Decimal("1"),
                labels=[Label(name="Rush", entity_type="order")],
            )
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(Label)) == 0

    def test_removing_a_wrongly_typed_link_is_allowed(self, sessions):
        """A link written without the ORM (it refuses them) can be undone through it."""
        with sessions.begin() as s:
            ada, rush = Customer(name="Ada"), Label(name="Rush", entity_type="order")
            s.add_all([ada, rush])
        with sessions.begin() as s:
            s.execute(LABEL_LINKS["customer"].insert().values(customer_id=ada.id, label_id=rush.id))
        with sessions.begin() as s:
            ada = s.get(Customer, ada.id)
            [wrong] = ada.labels
            ada.labels.remove(wrong)
        with sessions() as s:
            assert _link_counts(s)["customer"] == 0


class TestScheduledRun:
    def test_round_trip_and_defaults(self, sessions):
        with sessions.begin() as s:
            run = ScheduledRun(event="daily", subject="order", period="2026-11-26")
            s.add(run)
        with sessions.begin() as s:
            run = s.get(ScheduledRun, run.id)
            assert (run.last_id, run.processed, run.finished_at) == (0, 0, None)
            assert run.started_at is not None
            run.last_id, run.processed = 41, 12
            run.finished_at = datetime.now(UTC)
        with sessions() as s:
            run = s.get(ScheduledRun, run.id)
            assert (run.event, run.subject, run.period) == ("daily", "order", "2026-11-26")
            assert (run.last_id, run.processed) == (41, 12)
            assert run.finished_at is not None

    def test_one_run_per_event_subject_and_period(self, sessions):
        with sessions.begin() as s:
            s.add_all(
                [
                    ScheduledRun(event="daily", subject="order", period="2026-11-26"),
                    ScheduledRun(event="daily", subject="order", period="2026-11-27"),
                    ScheduledRun(event="daily", subject="customer", period="2026-11-26"),
                    ScheduledRun(event="monthly", subject="order", period="2026-11"),
                ]
            )
        with pytest.raises(IntegrityError), sessions.begin() as s:
            s.add(ScheduledRun(event="daily", subject="order", period="2026-11-26"))
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(ScheduledRun)) == 4
