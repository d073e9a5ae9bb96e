"""The basket view: the stored numbers of an order, the same on every page."""

import pathlib
import re
from decimal import Decimal

import pytest
from sqlalchemy import event

import rulec
from rulec.engine.db.attach import Engine
from rulec.engine.db.basket import Basket, BasketLine, basket, percentage_text, render_basket
from rulec.storage.models import Agent, Customer, Label, Order, OrderItem

RULES = (
    "label Customer_VIP, Half for customer\n"
    "on order_created when customer has label Customer_VIP "
    'then discount 10% "VIP New Order Discount"\n'
    "on order_created when customer has label Half "
    'then discount 12.5% "Twelve and a half"\n'
    'rule "agent orders wait" on order_created when order created by agent is true'
    " and order placed by customer is false then set order status to pending end\n"
)


@pytest.fixture
def engine(sessions):
    e = Engine(rulec.load_text(RULES, "rules/basket.rules"))
    e.attach(sessions)
    return e


@pytest.fixture
def people(sessions):
    with sessions.begin() as s:
        vip = Label(name="Customer_VIP", entity_type="customer")
        half = Label(name="Half", entity_type="customer")
        ada, ben, cleo = (
            Customer(name="Ada"),
            Customer(name="Ben", labels=[vip]),
            Customer(name="Cleo", labels=[half]),
        )
        tom = Agent(name="Tom")
        s.add_all([ada, ben, cleo, tom])
    return {"ada": ada.id, "ben": ben.id, "cleo": cleo.id, "tom": tom.id}


def place(sessions, **kw):
    """Store an order (the engine decides it); its basket then, and read back afresh."""
    with sessions.begin() as s:
        o = Order(**kw)
        s.add(o)
        s.flush()
        first = basket(o)
    with sessions() as s:
        again = basket(s.get(Order, o.id))
    assert again == first  # every page gets the same numbers
    assert render_basket(again) == render_basket(first)
    return again


class TestPercentageText:
    @pytest.mark.parametrize(
        ("stored", "text"),
        [
            ("12.5", "12.5%"),
            ("12.5000", "12.5%"),  # as NUMERIC(7, 4) gives it back
            ("10.00", "10%"),
            ("100", "100%"),
            ("0.25", "0.25%"),
            ("33.3333", "33.3333%"),
        ],
    )
    def test_never_rounded(self, stored, text):
        assert percentage_text(Decimal(stored)) == text

    def test_no_percentage(self):
        assert percentage_text(None) == ""


class TestBasket:
    def test_twelve_and_a_half_percent_stays_twelve_and_a_half(self, engine, people, sessions):
        b = place(sessions, customer_id=people["cleo"], subtotal=Decimal("100.00"))
        assert b.discount_percentage == Decimal("12.5")
        assert str(b.discount_percentage) == "12.5"
        assert b.percentage_text == "12.5%"
        assert (b.discount_amount, b.total_amount) == (Decimal("12.50"), Decimal("87.50"))
        [d] = b.applied
        assert (d.rule, d.description, d.amount, d.percentage_text) == (
            "basket.rules:3",
            "Twelve and a half",
            Decimal("12.50"),
            "12.5%",
        )
        text = render_basket(b)
        assert "Twelve and a half (12.5%)" in text and "13%" not in text

    def test_currency_minor_units(self, engine, people, sessions):
        b = place(sessions, customer_id=people["ben"], subtotal=Decimal("1999"), currency="JPY")
        assert b.currency == "JPY"
        assert [str(x) for x in (b.subtotal, b.discount_amount, b.total_amount)] == [
            "1999",
            "200",  # 199.9 rounds half up to a whole yen
            "1799",
        ]
        assert render_basket(b).splitlines()[-1] == f"  {'Total':<40}{'1799':>12} JPY"

    def test_no_discount(self, engine, people, sessions):
        b = place(sessions, customer_id=people["ada"], subtotal=Decimal("100.00"))
        assert not b.has_discount
        assert (b.discount_percentage, b.discount_description, b.applied) == (None, None, ())
        assert (str(b.discount_amount), str(b.total_amount)) == ("0.00", "100.00")
        assert b.percentage_text == ""
        text = render_basket(b, "Ada")
        assert text.splitlines() == [
            f"Basket: order #{b.order_id} for Ada, status new",
            f"  {'Subtotal':<40}{'100.00':>12} EUR",
            f"  {'Total':<40}{'100.00':>12} EUR",
        ]

    def test_shipping_and_its_discount_stored_and_fresh(self, people, sessions):
        # the stored basket shows the charge, its discount and the total as the
        # engine wrote them; the fresh one, made now, the same numbers
        text = RULES + (
            'rule "Half shipping" on order_created when customer has label Customer_VIP\n'
            '  then discount 50% on shipping "Half-price shipping" end\n'
        )
        e = Engine(rulec.load_text(text, "rules/basket.rules"))
        e.attach(sessions)
        try:
            b = place(
                sessions,
                customer_id=people["ben"],
                subtotal=Decimal("100.00"),
                shipping_amount=Decimal("4.95"),
            )
            assert (b.shipping_amount, b.shipping_discount) == (Decimal("4.95"), Decimal("2.48"))
            assert b.total_amount == Decimal("92.47")  # 100.00 - 10.00 + 4.95 - 2.48
            assert render_basket(b).splitlines()[1:] == [
                f"  {'Subtotal':<40}{'100.00':>12} EUR",
                f"  {'VIP New Order Discount (10%)':<40}{'-10.00':>12} EUR",
                f"  {'Shipping':<40}{'4.95':>12} EUR",
                f"  {'Half-price shipping (50%)':<40}{'-2.48':>12} EUR",
                f"  {'Total':<40}{'92.47':>12} EUR",
            ]
            with sessions() as s:  # an order not flushed yet: decided now, not written
                o = Order(
                    customer_id=people["ben"],
                    subtotal=Decimal("100.00"),
                    shipping_amount=Decimal("4.95"),
                )
                s.add(o)
                fresh = basket(o, e)
            assert fresh.source == "fresh"
            assert (fresh.shipping_discount, fresh.total_amount) == (
                b.shipping_discount,
                b.total_amount,
            )
        finally:
            e.detach(sessions)

    def test_lines_with_quantities(self, engine, people, sessions):
        b = place(
            sessions,
            customer_id=people["ben"],
            items=[
                OrderItem(description="Album", quantity=2, unit_price=Decimal("150.00")),
                OrderItem(description="Photographer", quantity=1, unit_price=Decimal("1000.00")),
                OrderItem(description="Favours", quantity=3, unit_price=Decimal("3.37")),
            ],
        )
        assert b.subtotal == Decimal("1310.11")
        assert (b.discount_amount, b.total_amount) == (Decimal("131.01"), Decimal("1179.10"))
        assert [(x.quantity, x.unit_price, x.line_total) for x in b.lines] == [
            (2, Decimal("150.00"), Decimal("300.00")),
            (1, Decimal("1000.00"), Decimal("1000.00")),
            (3, Decimal("3.37"), Decimal("10.11")),
        ]
        # each line's share of the discount, as the engine stored it; they add up exactly
        assert [x.discount_amount for x in b.lines] == [
            Decimal("30.00"),
            Decimal("100.00"),
            Decimal("1.01"),
        ]
        assert b.lines_discount_total == b.discount_amount
        assert [x.total for x in b.lines] == [
            Decimal("270.00"),
            Decimal("900.00"),
            Decimal("9.10"),
        ]
        assert sum(x.total for x in b.lines) == b.total_amount
        text = render_basket(b)
        assert f"  {'2 x Album (150.00 each)':<40}{'300.00':>12} EUR" in text
        assert f"  {'    less discount':<40}{'-30.00':>12} EUR" in text
        assert f"  {'1 x Photographer':<40}{'1000.00':>12} EUR" in text

    def test_an_agent_order_without_a_customer(self, engine, people, sessions):
        b = place(sessions, agent_id=people["tom"], subtotal=Decimal("80.00"))
        assert b.status == "pending"
        assert (b.discount_amount, b.total_amount, b.applied) == (
            Decimal("0.00"),
            Decimal("80.00"),
            (),
        )
        assert render_basket(b).startswith(f"Basket: order #{b.order_id}, status pending\n")

    def test_the_order_detail_page_gets_the_discounted_total(self, engine, people, sessions):
        """The old system's order-detail page showed the undiscounted total: not here."""
        b = place(sessions, customer_id=people["ben"], subtotal=Decimal("120.00"))
        assert (b.subtotal, b.discount_amount, b.total_amount) == (
            Decimal("120.00"),
            Decimal("12.00"),
            Decimal("108.00"),
        )
        assert b.discount_percentage == Decimal("10") and b.percentage_text == "10%"
        assert render_basket(b).splitlines()[-2:] == [
            f"  {'VIP New Order Discount (10%)':<40}{'-12.00':>12} EUR",
            f"  {'Total':<40}{'108.00':>12} EUR",
        ]


class TestReadOnly:
    def test_basket_writes_nothing_and_does_not_flush(self, db, engine, people, sessions):
        with sessions.begin() as s:
            o = Order(
                customer_id=people["ben"],
                items=[OrderItem(description="Album", quantity=2, unit_price=Decimal("9.99"))],
            )
            s.add(o)
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        with sessions() as s:
            stored = s.get(Order, o.id)
            s.add(Customer(name="Not flushed"))
            event.listen(db, "before_cursor_execute", count)
            try:
                b = basket(stored)
            finally:
                event.remove(db, "before_cursor_execute", count)
            assert s.new and not s.dirty
        assert statements and all(x.lstrip().upper().startswith("SELECT") for x in statements)
        assert b.lines_discount_total == b.discount_amount == Decimal("2.00")

    def test_an_order_the_engine_never_decided(self):
        o = Order(subtotal=Decimal("50.00"), currency="EUR", discount_amount=Decimal("5.00"))
        b = basket(o)
        assert (b.order_id, b.status, b.total_amount) == (None, "new", Decimal("45.00"))
        assert b.lines == () and b.lines_discount_total == Decimal("0.00")
        assert render_basket(b).startswith("Basket: order (new), status new\n")

    def test_a_basket_is_a_frozen_value(self):
        b = basket(Order(subtotal=Decimal("1.00"), currency="EUR"))
        assert isinstance(b, Basket)
        with pytest.raises(AttributeError):
            b.total_amount = Decimal(0)  # type: ignore[misc]
        line = BasketLine("x", 1, Decimal(1), Decimal(1), Decimal(0), Decimal(1))
        assert hash(line) == hash(
            BasketLine("x", 1, Decimal(1), Decimal(1), Decimal(0), Decimal(1))
        )


class TestBeforeAFlush:
    """A basket is one consistent set of numbers: the stored decision, or a fresh
    decision of the order as it is now, and it says which (issue 13, bug 3)."""

    @pytest.fixture
    def stored(self, engine, people, sessions):
        with sessions.begin() as s:
            o = Order(customer_id=people["ben"], subtotal=Decimal("120.00"), currency="EUR")
            s.add(o)
        return o.id

    def test_a_changed_order_shows_its_stored_decision_and_says_a_change_waits(
        self, engine, sessions, stored
    ):
        with sessions() as s:
            o = s.get(Order, stored)
            o.subtotal = Decimal("200.00")  # not flushed
            b = basket(o)
            assert (b.subtotal, b.discount_amount, b.total_amount) == (
                Decimal("120.00"),
                Decimal("12.00"),
                Decimal("108.00"),
            )
            assert (b.source, b.pending) == ("stored", True)
            assert o in s.dirty  # nothing was flushed

    def test_with_an_engine_it_shows_a_fresh_decision_of_the_order_as_it_is(
        self, engine, sessions, stored
    ):
        with sessions() as s:
            o = s.get(Order, stored)
            o.subtotal = Decimal("200.00")
            b = basket(o, engine)
            assert (b.subtotal, b.discount_amount, b.total_amount) == (
                Decimal("200.00"),
                Decimal("20.00"),
                Decimal("180.00"),
            )
            assert (b.source, b.pending) == ("fresh", False)
            assert [a.amount for a in b.applied] == [Decimal("20.00")]
            assert o.discount_amount == Decimal("12.00")  # the fresh decision is not written
        with sessions() as s:
            assert s.get(Order, stored).total_amount == Decimal("108.00")

    def test_a_line_added_and_not_flushed(self, engine, people, sessions):
        with sessions.begin() as s:
            o = Order(
                customer_id=people["ben"],
                items=[OrderItem(description="Album", quantity=1, unit_price=Decimal("100"))],
            )
            s.add(o)
        with sessions() as s:
            o = s.get(Order, o.id)
            o.items.append(OrderItem(description="Frame", quantity=2, unit_price=Decimal("25")))
            stored, fresh = basket(o), basket(o, engine)
            assert [line.description for line in stored.lines] == ["Album"]
            assert (stored.subtotal, stored.total_amount, stored.pending) == (
                Decimal("100.00"),
                Decimal("90.00"),
                True,
            )
            assert [(line.description, line.discount_amount) for line in fresh.lines] == [
                ("Album", Decimal("10.00")),
                ("Frame", Decimal("5.00")),
            ]
            assert (fresh.subtotal, fresh.total_amount, fresh.source) == (
                Decimal("150.00"),
                Decimal("135.00"),
                "fresh",
            )
            assert fresh.lines_discount_total == fresh.discount_amount

    def test_an_unchanged_order_shows_what_is_stored_even_with_an_engine(
        self, engine, sessions, stored
    ):
        with sessions() as s:
            o = s.get(Order, stored)
            b = basket(o, engine)
            assert (b.source, b.pending, b.total_amount) == ("stored", False, Decimal("108.00"))

    def test_a_new_order_with_an_engine_is_decided_as_its_flush_would(
        self, engine, people, sessions
    ):
        with sessions() as s:
            o = Order(customer_id=people["ben"], subtotal=Decimal("50.00"), currency="EUR")
            s.add(o)
            b = basket(o, engine)
            assert (b.order_id, b.source, b.total_amount) == (None, "fresh", Decimal("45.00"))
            assert basket(o).source == "undecided" and basket(o).pending


class TestDocs:
    def test_the_documented_basket_is_what_render_basket_prints(self, engine, people, sessions):
        doc = (pathlib.Path(__file__).parents[2] / "docs" / "discounts.md").read_text("utf-8")
        section = doc.split("\n## The basket\n", 1)[1].split("\n## ", 1)[0]
        [shown] = re.findall(r"```text\n(.*?)```", section, re.S)
        b = place(
            sessions,
            customer_id=people["ben"],
            items=[
                OrderItem(description="Wedding album", quantity=2, unit_price=Decimal("150")),
                OrderItem(description="Photographer, one day", unit_price=Decimal("1000")),
            ],
        )
        text = render_basket(b, "Cleo (VIP)").replace(f"#{b.order_id} ", "#4 ")
        assert text + "\n" == shown
