"""Random junk facts at every door (issue 21): only documented errors, never a
wrong decision, never a stored row from a refused order.

Each example starts from clean facts and applies a few random changes, each
known to be bad (refused) or harmless (the same facts written another way).
``evaluate`` must raise a documented error (a RulesError) exactly when a bad
change was made, and otherwise give the decision the clean facts give. An
order flushed through the ORM with junk must either be refused by the models
as it is built (their documented AmountError, or TypeError for a float), or
be refused by the engine at flush with a FactsError and leave no row once the
caller rolls back, or be decided as the clean order is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import rulec
from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.diagnostics import RulesError
from rulec.engine.core.errors import FactsError
from rulec.engine.core.money import LIMIT
from rulec.engine.db.attach import Engine
from rulec.storage.currencies import AmountError
from rulec.storage.models import AppliedDiscount, Order, RuleErrorRecord

RULES = """label Customer_VIP, Loyal for customer
on order_created when customer has label Customer_VIP then discount 10% "VIP"
on order_created when order currency is not EUR then discount 5.00 EUR "Five"
on order_created when customer order count >= 3 then discount 2% "Loyal"
on order_created when order subtotal >= 100.00 then discount 3% "Big"
on order_created when customer has label Loyal then discount 1.00 USD "Dollar"
"""
RS = rulec.load_text(RULES, "junk.rules")
WHEN = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
CURRENCIES = ("EUR", "USD", "JPY", "KWD")

Facts = dict[str, Any]
#: name, the key it changes (the last change of a key decides whether it is bad),
#: bad (None: no change to whether the key is bad), the change (in place)
Change = tuple[str, str, bool | None, Callable[[Facts], None]]


@st.composite
def clean_facts(draw: st.DrawFn) -> Facts:
    currency = draw(st.sampled_from(CURRENCIES))
    units = draw(st.integers(0, 10**7))
    facts: Facts = {
        "order": {
            "subtotal": Decimal(units).scaleb(-MINOR_UNITS[currency]),
            "currency": currency,
            "created_at": WHEN,
        },
        "customer": {"labels": draw(st.frozensets(st.sampled_from(["Customer_VIP", "Loyal"])))},
    }
    if draw(st.booleans()):
        facts["customer"]["order_count"] = draw(st.integers(0, 9))
    return facts


def _set(entity: str, name: str, value: Any) -> Callable[[Facts], None]:
    def change(f: Facts) -> None:
        f[entity][name] = value

    return change


def _drop(entity: str, name: str) -> Callable[[Facts], None]:
    return lambda f: f[entity].pop(name, None)


def _rename(old: str, new: str) -> Callable[[Facts], None]:
    def change(f: Facts) -> None:
        f[new] = f.pop(old)

    return change


def _flat(f: Facts) -> None:
    """The same facts, flat: harmless."""
    nested = {k: f.pop(k) for k in list(f)}
    for entity, fields in nested.items():
        for name, value in fields.items():
            f[f"{entity}.{name}"] = value


JUNK_MONEY = [
    1.5,
    math.nan,
    math.inf,
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1E+10"),
    Decimal("123456789012345678901234567890"),
    10**15,
    Decimal("-0.01"),
    -5,
    "100.00",
    True,
    None,
    b"1",
    [Decimal(1)],
]
JUNK_CURRENCY = ["EUX", "eur", "Eur", "EURO", "ZZZ", "", " EUR", "€", 978, None, b"EUR", ("EUR",)]
JUNK_COUNT = ["3", 3.0, True, Decimal(3), None, [3]]
JUNK_LABELS = ["Customer_VIP", {"Customer_VIP": True}, {1, 2}, 5, [["Customer_VIP"]]]
KEY_TEXT = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_."), min_size=1, max_size=12)


@st.composite
def change(draw: st.DrawFn) -> Change:
    kind = draw(st.integers(0, 14))
    if kind == 0:
        v = draw(st.sampled_from(JUNK_MONEY))
        return (f"subtotal {v!r}", "order.subtotal", True, _set("order", "subtotal", v))
    if kind == 1:
        v = draw(st.sampled_from(JUNK_CURRENCY))
        return (f"currency {v!r}", "order.currency", True, _set("order", "currency", v))
    if kind == 2:
        return ("no currency", "order.currency", True, _drop("order", "currency"))
    if kind == 3:
        return ("no subtotal", "order.subtotal", True, _drop("order", "subtotal"))
    if kind == 4:
        v = draw(st.sampled_from(JUNK_COUNT))
        if v is None:  # a count not known, where none was given: harmless

            def unknown(f: Facts) -> None:
                f["customer"].setdefault("order_count", None)

            return ("count unknown", "customer.order_count", None, unknown)
        return (f"count {v!r}", "customer.order_count", True, _set("customer", "order_count", v))
    if kind == 5:
        v = draw(st.sampled_from(JUNK_LABELS))
        return (f"labels {v!r}", "customer.labels", True, _set("customer", "labels", v))
    if kind == 6:
        return ("custmer", "customer", True, _rename("customer", "custmer"))
    if kind == 7:
        name = draw(KEY_TEXT.filter(lambda k: k not in ("subtotal", "currency", "created_at")))
        known = {f.name for f in RS.vocabulary.entity("order").fields}  # type: ignore[union-attr]
        bad = name not in known
        v = None if not bad else draw(st.sampled_from([1, "x", Decimal(1)]))
        return (f"order.{name}={v!r}", f"order.{name}", bad, _set("order", name, v))
    if kind == 8:
        key = draw(KEY_TEXT.filter(lambda k: k not in ("order", "customer", "agent", "item")))
        return (f"top {key!r}", key, True, lambda f: f.__setitem__(key, {"x": 1}))
    if kind == 9:
        naive = WHEN.replace(tzinfo=None)
        return ("naive", "order.created_at", False, _set("order", "created_at", naive))
    if kind == 10:

        def as_list(f: Facts) -> None:  # the same labels, as a list (not junk made a list)
            labels = f["customer"]["labels"]
            if isinstance(labels, frozenset) and all(type(n) is str for n in labels):
                f["customer"]["labels"] = sorted(labels)

        return ("labels as a list", "", False, as_list)
    if kind == 11:
        return ("customer present", "customer.absent", False, _set("customer", "absent", False))
    if kind == 12:
        day = "2026-03-14"
        return ("created_at a str", "order.created_at", True, _set("order", "created_at", day))
    if kind == 13:
        return ("customer None", "customer", True, lambda f: f.__setitem__("customer", None))
    return ("no wedding", "order.wedding_date", False, _set("order", "wedding_date", None))


def changed(facts: Facts, changes: list[Change]) -> tuple[Facts, bool, list[str]]:
    """``facts`` with ``changes`` made, whether what is left of them is bad, and their
    names. A change is skipped once its entity is gone (renamed, or None): an
    earlier change, a bad one, took it away."""
    junk = {k: dict(v) for k, v in facts.items()}
    bad: dict[str, bool] = {}
    for _, key, is_bad, do in changes:
        if isinstance(junk.get("order"), dict) and isinstance(junk.get("customer"), dict):
            do(junk)
            bad[key] = bad.get(key, False) if is_bad is None else is_bad
    return junk, any(bad.values()), [c[0] for c in changes]


@settings(max_examples=400, deadline=None, database=None)
@given(clean_facts(), st.lists(change(), max_size=3), st.booleans())
def test_evaluate_refuses_junk_and_decides_the_rest_right(clean, changes, flat):
    facts, bad, names = changed(clean, changes)
    if flat and all(isinstance(v, dict) for v in facts.values()):
        _flat(facts)
    want = RS.evaluate("order_created", clean)
    try:
        got = RS.evaluate("order_created", facts)
    except RulesError as e:
        assert bad, (names, e)
        assert isinstance(e, FactsError), (names, e)
        assert str(e)
        return
    except Exception as e:  # pragma: no cover - what the test is for
        pytest.fail(f"{names}: undocumented {type(e).__name__}: {e}")
    assert not bad, (names, got)
    assert got == want, names
    assert (got.discount_amount, got.total_amount) == (want.discount_amount, want.total_amount)


# ------------------------------------------------------------------ ORM ---

ORM_MONEY = [
    Decimal("120.00"),
    Decimal("99.99"),
    Decimal("0"),
    "12.50",
    7,
    1.5,
    Decimal("NaN"),
    Decimal("Infinity"),
    Decimal("1E+10"),
    Decimal("-1.00"),
    Decimal("0.001"),
]
ORM_CURRENCY = ["EUR", "USD", "JPY", "EUX", "ZZZ", "eur", None]


def _rows(sessions) -> tuple[int, int, int]:
    with sessions() as s:
        return tuple(  # type: ignore[return-value]
            s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Order, AppliedDiscount, RuleErrorRecord)
        )


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(subtotal=st.sampled_from(ORM_MONEY), currency=st.sampled_from(ORM_CURRENCY))
def test_a_junk_order_flushed_is_refused_at_flush_and_leaves_no_row(sessions, subtotal, currency):
    engine = Engine(RS)
    engine.attach(sessions)
    try:
        _flush_one(sessions, subtotal, currency)
    finally:
        engine.detach(sessions)
    assert _rows(sessions) == (0, 0, 0)


def _expected(subtotal: Any, currency: str | None) -> str:
    """Where junk is refused: by the models as it is set ("model"), by the engine at
    flush ("flush"), or nowhere ("ok"). A missing currency is the models' EUR."""
    code = currency or "EUR"
    if isinstance(subtotal, float):
        return "model"
    amount = subtotal if isinstance(subtotal, Decimal) else Decimal(subtotal)
    if not amount.is_finite() or amount < 0 or amount >= LIMIT:
        return "model"
    if code in MINOR_UNITS:
        unit = Decimal(1).scaleb(-MINOR_UNITS[code])
        return "model" if amount.quantize(unit) != amount else "ok"
    return "flush"


def _flush_one(sessions, subtotal: Any, currency: Any) -> None:
    expected = _expected(subtotal, currency)
    with sessions() as s:
        try:
            order = Order(subtotal=subtotal, currency=currency)
        except (AmountError, TypeError) as e:  # the models refuse it as it is set
            assert expected == "model", e
            return
        s.add(order)
        try:
            s.flush()
        except RulesError as e:
            assert expected == "flush", e
            assert isinstance(e, FactsError), e
            assert repr(currency) in str(e)
            s.rollback()
            return
        assert expected == "ok"
        assert order.id is not None
        clean = {
            "order": {
                "subtotal": order.subtotal,
                "currency": currency or "EUR",  # the models' documented default
                "created_at": order.created_at,
            },
            "customer.absent": True,
        }
        want = RS.evaluate("order_created", clean)
        assert (order.discount_amount, order.total_amount) == (
            want.discount_amount,
            want.total_amount,
        )
        s.rollback()  # the caller's transaction: nothing of it stays
