import math
from decimal import Decimal
from decimal import Decimal as D
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rulec
from rulec.engine.core.money import MoneyError, allocate, minor_unit, payable, percent_of, quantize


class TestMoney:
    @pytest.mark.parametrize(
        ("amount", "percent", "currency", "expected"),
        [
            ("19.99", "25", "EUR", "5.00"),  # 4.9975 rounds half-up
            ("0.05", "10", "EUR", "0.01"),  # 0.005 rounds half-up, not to even
            ("0.04", "10", "EUR", "0.00"),
            ("120.00", "10", "EUR", "12.00"),
            ("99.99", "12.5", "EUR", "12.50"),
            ("1999", "15", "JPY", "300"),  # 299.85 -> 300 yen, no minor unit
            ("1.005", "50", "KWD", "0.503"),  # three places
            ("10.00", "33.3333", "USD", "3.33"),
        ],
    )
    def test_percent_of_rounds_half_up_to_the_minor_unit(self, amount, percent, currency, expected):
        got = percent_of(Decimal(amount), Decimal(percent), currency)
        assert got == Decimal(expected)
        assert str(got) == expected

    def test_minor_units(self):
        assert minor_unit("EUR") == Decimal("0.01")
        assert minor_unit("JPY") == Decimal("1")
        assert minor_unit("KWD") == Decimal("0.001")

    def test_unknown_currency_is_an_error(self):
        with pytest.raises(ValueError, match="unknown currency 'XYZ'"):
            quantize(Decimal("1"), "XYZ")


class TestAllocate:
    """An order's discount split over its lines: exact, by largest remainder."""

    def test_thirds_give_the_odd_cent_to_the_largest_remainder(self):
        parts = allocate(D("10.00"), [D("33.33"), D("33.33"), D("33.34")], "EUR")
        assert parts == [D("3.33"), D("3.33"), D("3.34")]
        assert allocate(D("0.05"), [D("1"), D("1"), D("1")], "EUR") == [
            D("0.02"),
            D("0.02"),
            D("0.01"),
        ]  # equal remainders: the earlier lines first

    def test_minor_units_of_the_currency(self):
        assert allocate(D("7"), [D("100"), D("200")], "JPY") == [D("2"), D("5")]
        assert allocate(D("1.000"), [D("1"), D("2")], "KWD") == [D("0.333"), D("0.667")]

    def test_nothing_to_split(self):
        assert allocate(D("0.00"), [D("0"), D("0")], "EUR") == [D("0.00"), D("0.00")]
        assert allocate(D("0"), [], "EUR") == []
        with pytest.raises(ValueError, match="worth nothing"):
            allocate(D("1.00"), [D("0")], "EUR")

    @given(
        amount=st.decimals(min_value=0, max_value=100_000, places=2),
        weights=st.lists(
            st.decimals(min_value=0, max_value=10_000, places=2), min_size=1, max_size=30
        ),
    )
    @settings(max_examples=300, deadline=None, database=None)
    def test_parts_add_up_exactly_and_stay_within_a_cent_of_the_exact_share(self, amount, weights):
        total = sum(weights, D(0))
        if total == 0:
            amount = D("0.00")
        amount = min(amount, total).quantize(D("0.01"))
        parts = allocate(amount, weights, "EUR")
        assert sum(parts, D(0)) == amount
        for part, w in zip(parts, weights, strict=True):
            exact = amount * w / total if total else D(0)
            assert abs(part - exact) < D("0.01")
            assert part >= 0 and part.as_tuple().exponent == -2


class TestTheTieRule:
    """Issue 13, bug 5: equal remainders go to the earlier line, whatever the lines' sizes.

    The remainders used to be compared as 28-digit Decimals, so a larger line's
    remainder rounded up and won a tie it should have lost.
    """

    def test_equal_remainders_go_to_the_earlier_lines_in_euros(self):
        # 66.67% of 30.00 = 20.00; each exact share is 2/3 of its line's cents
        d = rulec.load_text('on order_created then discount 66.67% "x"\n').evaluate(
            "order_created", {"order": {"subtotal": D("30.00"), "currency": "EUR"}}
        )
        assert d.discount_amount == D("20.00")
        got = allocate(d.discount_amount, [D("1.00"), D("1.00"), D("28.00")], "EUR")
        assert [str(x) for x in got] == ["0.67", "0.67", "18.66"]

    def test_equal_remainders_go_to_the_earlier_lines_in_yen(self):
        got = allocate(D("68"), [D("1"), D("1"), D("100")], "JPY")
        assert [str(x) for x in got] == ["1", "1", "66"]

    def test_a_share_never_exceeds_its_line(self):
        # USD lines of 1 x 28.9631, 3 x 38.5923 and 10 x 130.88, made free
        sold = ((1, "28.9631"), (3, "38.5923"), (10, "130.88"))
        lines = [line_cost(quantity, price, "USD") for quantity, price in sold]
        assert [str(x) for x in lines] == ["28.96", "115.78", "1308.80"]
        free = sum(lines, D(0))
        shares = allocate(free, lines, "USD")
        assert shares == lines
        assert all(share <= line for share, line in zip(shares, lines, strict=True))


def line_cost(quantity: int, unit_price: str, currency: str) -> D:
    """A line's total as the engine computes it on the way in."""
    from types import SimpleNamespace

    from rulec.engine.db.facts.catalog import line_cost as cost

    return cost(SimpleNamespace(quantity=quantity, unit_price=D(unit_price)), currency)


class TestAmountsFinerThanTheMinorUnit:
    """Issue 13, bug 4: an order subtotal must be a whole number of its currency's
    minor unit; anything else is refused, naming the value, the currency and its places."""

    @pytest.mark.parametrize(
        ("action", "subtotal", "currency", "places"),
        [
            ('discount 15080 JPY "x"', "9873.68", "JPY", 0),  # gave 9874 off 9873.68
            ('discount 100% "x"', "85.4960", "GBP", 2),  # gave 85.50 off 85.4960
            ('discount 7.6% "x"', "0.015", "JPY", 0),  # listed as applied with 0
            ('discount 10% "x"', "10.005", "EUR", 2),  # total 9.005
            ('discount 10% "x"', "100.5", "JPY", 0),  # total 90.5
            ('discount 10% "x"', "1.0005", "KWD", 3),
        ],
    )
    def test_a_subtotal_finer_than_its_currency_is_refused(
        self, action, subtotal, currency, places
    ):
        rules = rulec.load_text(f"on order_created then {action}\n")
        facts = {"order": {"subtotal": D(subtotal), "currency": currency}}
        unit = f"{places} decimal place{'' if places == 1 else 's'}"
        with pytest.raises(ValueError, match=rf"order.subtotal {subtotal} {currency}\b.*{unit}"):
            rules.evaluate("order_created", facts)

    @pytest.mark.parametrize("subtotal", ["-5.00", "-0.01"])
    def test_a_negative_subtotal_is_refused(self, subtotal):
        rules = rulec.load_text('on order_created then discount 10% "x"\n')
        facts = {"order": {"subtotal": D(subtotal), "currency": "EUR"}}
        with pytest.raises(ValueError, match=rf"order.subtotal {subtotal} EUR is negative"):
            rules.evaluate("order_created", facts)

    def test_a_float_subtotal_is_refused(self):
        rules = rulec.load_text('on order_created then discount 10% "x"\n')
        with pytest.raises(ValueError, match=r"order.subtotal 10\.5 is a float"):
            rules.evaluate("order_created", {"order": {"subtotal": 10.5, "currency": "EUR"}})

    @pytest.mark.parametrize(
        ("rule", "subtotal", "currency", "discount", "total"),
        [
            ('discount 10% "x"', "12.5", "EUR", "1.25", "11.25"),
            ('discount 10% "x"', "10.000", "EUR", "1.00", "9.00"),  # exact: not finer
            ('discount 10% "x"', "0", "EUR", "0.00", "0.00"),
            ('discount 10% "x"', "0", "JPY", "0", "0"),
            ('discount 10% "x"', "100.00", "JPY", "10", "90"),
            ('discount 50.00 EUR "x"', "20", "EUR", "20.00", "0.00"),
            ("add label X to customer", "12.5", "EUR", "0.00", "12.50"),
            ("add label X to customer", "7", "KWD", "0.000", "7.000"),
        ],
    )
    def test_figures_have_the_currencys_places(self, rule, subtotal, currency, discount, total):
        rules = rulec.load_text(f"label X for customer\non order_created then {rule}\n")
        d = rules.evaluate(
            "order_created", {"order": {"subtotal": D(subtotal), "currency": currency}}
        )
        assert (str(d.discount_amount), str(d.total_amount)) == (discount, total)
        if not d.discount_amount:
            assert str(d.subtotal) == total

    def test_no_subtotal_is_refused_not_taken_as_zero(self):
        """Issue 21: it was taken as 0 JPY; an order's money is never guessed."""
        rules = rulec.load_text('on order_created then discount 10% "x"\n')
        with pytest.raises(rulec.MissingFactError, match=r"order\.subtotal is missing"):
            rules.evaluate("order_created", {"order": {"currency": "JPY"}})


# ------------------------------------------------ the money rules, at random --
#
# An independent reference: every amount as an integer number of the currency's
# minor unit, exact fractions, half-up as floor(x + 1/2); it shares no code with
# rulec.engine.core.money. docs/discounts.md states the rules it follows.

CURRENCIES = ("EUR", "USD", "GBP", "JPY", "KWD")
PLACES = {"EUR": 2, "USD": 2, "GBP": 2, "JPY": 0, "KWD": 3}


def half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def units(amount: D, currency: str) -> Fraction:
    return Fraction(amount) * 10 ** PLACES[currency]


def as_amount(n: int, currency: str) -> D:
    return D(n).scaleb(-PLACES[currency])


@attrs.frozen
class RefRule:
    priority: int
    flag: str  # "", "exclusive" or "combinable"
    percent: D | None  # a percentage, or None for a fixed amount
    amount: D | None  # the fixed amount, or the cap
    currency: str | None  # of the fixed amount or the cap

    def text(self, n: int) -> str:
        if self.percent is None:
            action = f"discount {self.amount} {self.currency}"
        else:
            cap = f" up to {self.amount} {self.currency}" if self.amount is not None else ""
            action = f"discount {self.percent}%{cap}"
        head = f'rule "r{n}" priority {self.priority} {self.flag}'.rstrip()
        return f'{head} on order_created then {action} "t{n}" end\n'


def reference_discounts(rules: list[RefRule], subtotal: int, currency: str) -> list[int]:
    """The applied amounts, in minor units, in the order they apply (docs/discounts.md)."""
    ranked = sorted(range(len(rules)), key=lambda n: (-rules[n].priority, n))
    offers = []
    for n in ranked:
        r = rules[n]
        if r.percent is None:
            if r.currency != currency:
                continue  # its amount is in another currency: lost
            offers.append((r, int(units(r.amount, currency))))
            continue
        if r.amount is not None and r.currency != currency:
            continue  # its cap is in another currency: lost
        offer = half_up(subtotal * Fraction(r.percent) / 100)
        if r.amount is not None:
            offer = min(offer, int(units(r.amount, currency)))
        offers.append((r, offer))
    exclusive = [o for o in offers if o[0].flag == "exclusive"]
    if exclusive:
        chosen = exclusive[:1]
    else:
        best = None
        for o in offers:
            if o[0].flag != "combinable" and (best is None or o[1] > best[1]):
                best = o
        chosen = ([best] if best else []) + [o for o in offers if o[0].flag == "combinable"]
    applied, left = [], subtotal
    for _, offer in chosen:
        if left <= 0:
            continue  # the order is already free: lost
        applied.append(min(offer, left))
        left -= applied[-1]
    return applied


def reference_shares(discount: int, lines: list[int]) -> list[int]:
    """Largest remainder over exact fractions, ties to the earlier line."""
    total = sum(lines)
    if not total:
        return [0] * len(lines)
    exact = [Fraction(discount * w, total) for w in lines]
    shares = [math.floor(x) for x in exact]
    order = sorted(range(len(lines)), key=lambda n: (-(exact[n] - shares[n]), n))
    for n in order[: discount - sum(shares)]:
        shares[n] += 1
    return shares


def decimals(max_value: int, max_places: int = 4) -> st.SearchStrategy[D]:
    """Decimals from 0 to ``max_value`` with 0 to ``max_places`` places."""
    return st.integers(0, max_places).flatmap(
        lambda k: st.integers(0, max_value * 10**k).map(lambda n: D(n).scaleb(-k))
    )


def in_places(currency: str, low: int, high: int) -> st.SearchStrategy[D]:
    return st.integers(low, high * 10 ** PLACES[currency]).map(lambda n: as_amount(n, currency))


@st.composite
def ref_rules(draw, currency: str) -> RefRule:
    other = draw(st.sampled_from([currency, currency, *CURRENCIES]))
    priority = draw(st.integers(0, 2))
    flag = draw(st.sampled_from(["", "", "", "exclusive", "combinable"]))
    if draw(st.booleans()):
        amount = draw(in_places(other, 1, 500))
        return RefRule(priority, flag, None, amount, other)
    percent = draw(st.integers(1, 10_000).map(lambda n: D(n).scaleb(-2)))
    cap = draw(st.one_of(st.none(), in_places(other, 1, 300)))
    return RefRule(priority, flag, percent, cap, other if cap is not None else None)


@st.composite
def orders(draw):
    """A currency, rules, and either lines (quantity, unit price: finer than the minor
    unit included) or a subtotal (finer ones and negative ones included)."""
    currency = draw(st.sampled_from(CURRENCIES))
    rules = draw(st.lists(ref_rules(currency), min_size=1, max_size=5))
    lines = draw(
        st.one_of(
            st.none(),
            st.lists(
                st.tuples(st.integers(1, 12), st.one_of(decimals(20), decimals(2_000))),
                min_size=1,
                max_size=8,
            ),
        )
    )
    subtotal = None
    if lines is None:
        negative = decimals(5).filter(bool).map(lambda d: -d)
        paid = st.one_of(in_places(currency, 0, 50), in_places(currency, 0, 100_000))
        subtotal = draw(st.one_of(decimals(100_000), paid, paid, negative))
    return currency, rules, lines, subtotal


class TestTheMoneyRulesAgainstAReference:
    """Random orders in EUR, USD, GBP, JPY and KWD, amounts finer than the minor unit
    included, decided by rulec and by an independent reference (issue 13)."""

    @given(order=orders())
    @settings(max_examples=400, deadline=None, database=None)
    def test_figures_and_shares(self, order):
        from types import SimpleNamespace

        from rulec.engine.db.facts.catalog import line_cost as cost

        currency, rules, sold, subtotal = order
        rule_set = rulec.load_text("".join(r.text(n) for n, r in enumerate(rules)), "r.rules")
        exp = D(1).scaleb(-PLACES[currency])
        if sold is not None:  # a line's total: quantity x unit price, half-up, on the way in
            lines = [cost(SimpleNamespace(quantity=q, unit_price=p), currency) for q, p in sold]
            want_lines = [half_up(q * units(p, currency)) for q, p in sold]
            assert [units(x, currency) for x in lines] == want_lines
            assert all(x.as_tuple().exponent == exp.as_tuple().exponent for x in lines)
            subtotal = sum(lines, D(0))
        facts = {"order": {"subtotal": subtotal, "currency": currency}}
        exact = units(subtotal, currency)
        if exact < 0 or exact.denominator != 1:  # negative, or finer than the minor unit
            with pytest.raises(MoneyError, match=rf"order.subtotal {subtotal} {currency}\b"):
                rule_set.evaluate("order_created", facts)
            return
        d = rule_set.evaluate("order_created", facts)
        want = reference_discounts(rules, int(exact), currency)
        assert [units(a.amount, currency) for a in d.applied] == want
        discount, total = sum(want), int(exact) - sum(want)
        assert (units(d.discount_amount, currency), units(d.total_amount, currency)) == (
            discount,
            total,
        )
        assert 0 <= d.total_amount <= d.subtotal
        for figure in (d.subtotal, d.discount_amount, d.total_amount):
            assert figure.as_tuple().exponent == exp.as_tuple().exponent  # 0.00, not 0
        if sold is not None:
            shares = allocate(d.discount_amount, lines, currency)
            assert [units(x, currency) for x in shares] == reference_shares(
                discount, [int(units(x, currency)) for x in lines]
            )
            assert sum(shares, D(0)) == d.discount_amount
            assert all(0 <= share <= line for share, line in zip(shares, lines, strict=True))


class TestPayable:
    """money.payable: what an amount that comes in must be, on its own."""

    @pytest.mark.parametrize(
        ("value", "currency", "want"),
        [
            (D("123.45"), "EUR", "123.45"),
            (D("12.5"), "EUR", "12.50"),
            (D("1E+3"), "EUR", "1000.00"),
            (D("-0.00"), "EUR", "0.00"),
            (None, "JPY", "0"),
            (5, "KWD", "5.000"),
            ("7.50", "USD", "7.50"),
            (D("10.005"), "ZZZ", "10.005"),  # a currency rulec does not know: as it is
        ],
    )
    def test_accepted_with_the_currencys_places(self, value, currency, want):
        assert str(payable(value, currency, "x")) == want

    @pytest.mark.parametrize(
        ("value", "currency", "message"),
        [
            (D("NaN"), "EUR", "x NaN EUR is not an amount"),
            (D("sNaN"), "EUR", "x sNaN EUR is not an amount"),
            (D("Infinity"), "JPY", "x Infinity JPY is not an amount"),
            (D("NaN"), "ZZZ", "x NaN ZZZ is not an amount"),
            (D("-1"), "ZZZ", "x -1 ZZZ is negative"),
            ("twelve", "EUR", "x 'twelve' is not an amount"),
        ],
    )
    def test_refused(self, value, currency, message):
        with pytest.raises(MoneyError) as refused:
            payable(value, currency, "x")
        assert str(refused.value) == message

    def test_whatever_the_callers_context(self):
        from decimal import Inexact, Rounded, localcontext

        with localcontext() as c:
            c.traps[Rounded] = c.traps[Inexact] = True
            assert str(payable(D("10.000"), "EUR", "x")) == "10.00"
            with pytest.raises(MoneyError, match="finer"):
                payable(D("10.005"), "EUR", "x")
        with localcontext() as c:
            c.prec = 3
            assert str(payable(D("12345.67"), "EUR", "x")) == "12345.67"
