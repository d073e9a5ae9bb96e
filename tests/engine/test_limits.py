"""Usage limits and budgets, claimed in the order's transaction (rulec.engine.db.limits).

Each test runs on the reference models and on a backend's own models bound
to rulec (its rows in rulec's own tables), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import rulec
from rulec.engine.db.attach import Engine
from rulec.engine.db.limits import claims_of, usage

SPRING = """\
rule "Spring"
  limit 3 uses
  limit 1 use per customer
  budget 25.00 EUR
  uses given back when cancelled
  on order_created
  when order has coupon "SPRING10"
  then discount 10% "Spring"
end
"""

WELCOME = """\
rule "Welcome"
  limit 2 uses
  on order_created
  when order has coupon WELCOME
  then discount 5.00 EUR "Welcome"
end
"""

#: A lesser discount for everyone: what an order gets once the code is spent.
EVERYONE = 'on order_created when order subtotal >= 10.00 then discount 1% "Everyone"\n'


@pytest.fixture
def engine(shop):
    return attach(shop, SPRING + WELCOME)


def attach(shop, text: str) -> Engine:
    decisions: list[Any] = []
    e = Engine(rulec.load_text(text, "promo.rules"), binding=shop.binding)
    e.add_listener(lambda order, facts, d: decisions.append(d))
    e.decisions = decisions  # type: ignore[attr-defined]
    e.attach(shop.sessions)
    return e


def place(shop, codes=("SPRING10",), subtotal="100.00", name="Ada"):
    """One order of a new customer with ``codes``, committed; its key, discount, row."""
    with shop.sessions.begin() as s:
        o = shop.order(s, shop.customer(s, name), subtotal=subtotal, codes=codes)
    with shop.sessions() as s:
        stored = shop.get(s, shop.key(o))
        return shop.key(o), shop.figures(stored)[1], stored


def outcome(engine) -> tuple[str, str]:
    (c,) = engine.decisions[-1].coupons
    return c.reason_code, c.reason


def used(shop, rule="Spring", scope="total") -> tuple[int, int]:
    with shop.sessions() as s:
        return usage(s, rule, shop.binding, scope)


class TestTotalLimit:
    def test_a_code_is_used_its_limit_then_refused_with_the_reason(self, shop, engine):
        amounts = [place(shop, ("WELCOME",), name=f"C{n}")[1] for n in range(4)]
        assert amounts == [Decimal("5.00")] * 2 + [Decimal("0.00")] * 2
        assert outcome(engine) == ("limit_reached", "the code was used its 2 times: none is left")
        assert used(shop, "Welcome") == (2, 0)

    def test_a_refused_rule_leaves_the_order_to_the_next_best(self, shop):
        engine = attach(shop, WELCOME + EVERYONE)
        placed = [place(shop, ("WELCOME",), name=f"C{n}") for n in range(3)]
        assert [p[1] for p in placed] == [Decimal("5.00"), Decimal("5.00"), Decimal("1.00")]
        lost = [(x.rule, x.reason) for x in engine.decisions[-1].lost]
        assert lost == [("Welcome", "the code was used its 2 times: none is left")]
        with shop.sessions() as s:  # one audit row, for the rule that applied
            (last,) = shop.audit(s, shop.get(s, placed[2][0]))
            assert last["rule_name"] == "promo.rules:7"
            assert last["rule_set_version"] == engine.rules.version


class TestPerCustomerAndBudget:
    def test_one_use_per_customer(self, shop, engine):
        key, amount, _ = place(shop)
        assert amount == Decimal("10.00")
        with shop.sessions.begin() as s:
            o = shop.get(s, key)
            customer = o.buyer if shop.name == "foreign" else o.customer
            shop.order(s, customer, subtotal="50.00", codes=["spring10"])
        assert outcome(engine) == (
            "customer_limit_reached",
            "the customer has used the code 1 time already",
        )
        assert used(shop) == (1, 0)

    def test_two_orders_of_a_new_customer_in_one_flush_take_one_use(self, shop, engine):
        with shop.sessions.begin() as s:
            c = shop.customer(s, "New")
            a = shop.order(s, c, subtotal="100.00", codes=["SPRING10"])
            b = shop.order(s, c, subtotal="100.00", codes=["SPRING10"])
        with shop.sessions() as s:
            got = sorted(shop.figures(shop.get(s, shop.key(o)))[1] for o in (a, b))
        assert got == [Decimal("0.00"), Decimal("10.00")]
        assert used(shop) == (1, 0)

    def test_an_order_without_a_customer_cannot_take_a_use_limited_per_customer(self, shop, engine):
        with shop.sessions.begin() as s:
            shop.order(s, None, subtotal="100.00", codes=["SPRING10"])
        assert outcome(engine)[0] == "customer_limit_reached"
        assert used(shop) == (0, 0)

    def test_a_budget_is_spent_to_the_cent_and_never_beyond(self, shop, engine):
        amounts = [place(shop, name=f"C{n}", subtotal="100.00")[1] for n in range(2)]
        assert amounts == [Decimal("10.00")] * 2
        assert place(shop, name="C3", subtotal="60.00")[1] == Decimal("0.00")  # 6.00 > 5.00 left
        assert outcome(engine) == (
            "budget_spent",
            "the promotion's budget of 25.00 EUR is spent",
        )
        # exactly what is left
        assert place(shop, name="C4", subtotal="50.00")[1] == Decimal("5.00")
        assert used(shop, scope="budget:EUR") == (3, 2500)
        assert used(shop) == (3, 0)

    def test_a_currency_without_a_budget_is_not_limited_by_one(self, shop, engine):
        currency = {"currency" if shop.name == "reference" else "currency_code": "USD"}
        with shop.sessions.begin() as s:
            c = shop.customer(s, "Ann")
            o = shop.order(s, c, subtotal="1000.00", codes=["SPRING10"], **currency)
        with shop.sessions() as s:
            assert shop.figures(shop.get(s, shop.key(o)))[1] == Decimal("100.00")
        assert used(shop, scope="budget:USD") == (0, 0)


class TestIdempotence:
    def test_deciding_an_order_again_claims_nothing_twice(self, shop, engine):
        key, _, _ = place(shop)
        for subtotal in ("100.00", "90.00", "80.00"):
            with shop.sessions.begin() as s:
                shop.set_field(shop.get(s, key), "subtotal", Decimal(subtotal))
                if subtotal == "100.00":
                    engine.fire("order_updated", shop.get(s, key), s)  # fired by hand as well
        assert used(shop) == (1, 0)
        assert used(shop, scope="budget:EUR") == (1, 800)  # the money follows the new amount
        with shop.sessions() as s:
            (claim,) = claims_of(s, shop.get(s, key), shop.binding).values()
            assert (claim.total, claim.currency, claim.spent_minor) == (True, "EUR", 800)

    def test_a_decision_that_drops_the_rule_gives_its_use_back(self, shop, engine):
        key, _, _ = place(shop)
        with shop.sessions.begin() as s:  # 0.00: 10% of nothing, no discount applied
            shop.set_field(shop.get(s, key), "subtotal", Decimal("0.00"))
        assert used(shop) == (0, 0) and used(shop, scope="budget:EUR") == (0, 0)
        with shop.sessions() as s:
            assert claims_of(s, shop.get(s, key), shop.binding) == {}

    def test_a_rolled_back_order_consumes_nothing(self, shop, engine):
        with shop.sessions() as s, s.begin():
            shop.order(s, shop.customer(s, "Ann"), subtotal="100.00", codes=["SPRING10"])
            s.flush()
            assert usage(s, "Spring", shop.binding) == (1, 0)  # claimed inside the transaction
            s.rollback()
        assert used(shop) == (0, 0)
        assert place(shop, name="Ann")[1] == Decimal("10.00")  # the use is still there


class TestCancelling:
    def test_a_cancelled_order_gives_its_use_back_when_the_rule_says_so(self, shop, engine):
        spring, _, _ = place(shop)
        welcome, _, _ = place(shop, ("WELCOME",), name="Ben")
        for key in (spring, welcome):
            with shop.sessions.begin() as s:
                shop.set_field(shop.get(s, key), "status", "cancelled")
        assert used(shop) == (0, 0) and used(shop, scope="budget:EUR") == (0, 0)
        assert used(shop, "Welcome") == (1, 0)  # this rule does not give uses back
        with shop.sessions.begin() as s:  # deciding the cancelled order again claims nothing
            shop.set_field(shop.get(s, spring), "subtotal", Decimal("70.00"))
        assert used(shop) == (0, 0)
        with shop.sessions.begin() as s:  # Ada may use the code again
            o = shop.get(s, spring)
            again = shop.order(
                s,
                o.buyer if shop.name == "foreign" else o.customer,
                subtotal="40.00",
                codes=["SPRING10"],
            )
        with shop.sessions() as s:
            assert shop.figures(shop.get(s, shop.key(again)))[1] == Decimal("4.00")
        assert used(shop) == (1, 0)


class TestPreview:
    def test_a_basket_decided_now_shows_the_code_spent_and_claims_nothing(self, shop, engine):
        for n in range(2):
            place(shop, ("WELCOME",), name=f"C{n}")
        with shop.sessions() as s:
            o = shop.order(s, shop.customer(s, "Late"), subtotal="100.00", codes=["WELCOME"])
            d = engine.evaluate("order_created", o, s)
            assert d.discount_amount == Decimal("0.00")
            assert [(c.code, c.reason_code) for c in d.coupons] == [("WELCOME", "limit_reached")]
            s.rollback()
        assert used(shop, "Welcome") == (2, 0)

    def test_an_order_holding_its_use_still_shows_it(self, shop, engine):
        key, _, _ = place(shop)
        with shop.sessions() as s:
            d = engine.evaluate("order_updated", shop.get(s, key), s)
            assert d.discount_amount == Decimal("10.00")
            assert [c.reason_code for c in d.coupons] == ["applied"]


PARTNER = """\
coupon family Partner is "PARTNER-*", "FRIENDS"

rule "Partner"
  limit 1 use per code
  uses given back when cancelled
  on order_created
  when order has coupon in Partner
  then discount 15% "Partner"
end
"""


class TestPerCode:
    """``limit 1 use per code``: each generated code of a family is single-use."""

    @pytest.fixture
    def partner(self, shop):
        return attach(shop, PARTNER + EVERYONE)

    def test_each_code_of_a_family_is_used_once(self, shop, partner):
        first = place(shop, ("partner-7",), name="Ada")[1]
        other = place(shop, ("PARTNER-8",), name="Ben")[1]
        again = place(shop, ("Partner-7",), name="Cy")[1]
        assert (first, other, again) == (Decimal("15.00"), Decimal("15.00"), Decimal("1.00"))
        assert outcome(partner) == (
            "code_limit_reached",
            "the code PARTNER-7 was used its 1 time: none is left",
        )
        assert used(shop, "Partner", "code:PARTNER-7") == (1, 0)
        assert used(shop, "Partner", "code:PARTNER-8") == (1, 0)
        (lost,) = [x for x in partner.decisions[-1].lost if x.rule == "Partner"]
        assert lost.reason == "the code PARTNER-7 was used its 1 time: none is left"

    def test_deciding_again_claims_nothing_twice_and_cancelling_gives_the_code_back(
        self, shop, partner
    ):
        key, _, _ = place(shop, ("FRIENDS",))
        with shop.sessions.begin() as s:
            shop.set_field(shop.get(s, key), "subtotal", Decimal("90.00"))
        assert used(shop, "Partner", "code:FRIENDS") == (1, 0)
        with shop.sessions() as s:
            (claim,) = claims_of(s, shop.get(s, key), shop.binding).values()
            assert claim.code == "FRIENDS"
        with shop.sessions.begin() as s:
            shop.set_field(shop.get(s, key), "status", "cancelled")
        assert used(shop, "Partner", "code:FRIENDS") == (0, 0)
        assert place(shop, ("friends",), name="Ben")[1] == Decimal("15.00")

    def test_a_basket_shows_a_spent_code_and_claims_nothing(self, shop, partner):
        place(shop, ("PARTNER-1",))
        with shop.sessions() as s:
            o = shop.order(s, shop.customer(s, "Late"), subtotal="100.00", codes=["PARTNER-1"])
            d = partner.evaluate("order_created", o, s)
            assert [(c.code, c.reason_code) for c in d.coupons] == [
                ("PARTNER-1", "code_limit_reached")
            ]
            s.rollback()
        assert used(shop, "Partner", "code:PARTNER-1") == (1, 0)
