"""Bad input is refused, clearly, at every door (issue 21).

Each kind of bad fact, event name or rule path raises its documented error
(a RulesError), whose message names the key or the value and, where one
fits, the name meant. The CLI's side is in tests/cli/test_doors_cli.py; the
property test over random junk in test_doors_property.py.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

import rulec
from rulec.dsl.diagnostics import RulesError
from rulec.engine.core.errors import (
    CurrencyError,
    FactsError,
    FactTypeError,
    MissingFactError,
    MoneyError,
    UnknownEventError,
    UnknownFactError,
)
from rulec.engine.core.money import LIMIT
from rulec.engine.db.attach import Engine
from rulec.storage import currencies as stored
from rulec.storage.base import Money
from rulec.storage.models import AppliedDiscount, Order, RuleErrorRecord

WHEN = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
FIVE = 'on order_created when order currency is not EUR then discount 5.00 EUR "Five"\n'


@pytest.fixture(scope="module")
def shipped() -> rulec.RuleSet:
    return rulec.load_paths([rulec.shipped_rules()])


def order(**fields: Any) -> dict[str, Any]:
    facts = {"subtotal": Decimal("100.00"), "currency": "EUR", "created_at": WHEN}
    facts.update(fields)
    return {"order": facts, "customer": {"labels": {"Customer_VIP"}}}


def refused(rs: rulec.RuleSet, facts: Any, error: type[Exception], event: str = "order_created"):
    with pytest.raises(error) as got:
        rs.evaluate(event, facts)
    assert isinstance(got.value, RulesError)
    return got.value


class TestHierarchy:
    def test_every_door_error_is_a_rules_error_and_a_value_error(self):
        for cls in (CurrencyError, FactTypeError, MissingFactError, MoneyError, UnknownFactError):
            assert issubclass(cls, FactsError)
        assert issubclass(FactsError, RulesError)
        assert issubclass(FactsError, ValueError)  # as MoneyError always was
        assert issubclass(UnknownEventError, RulesError)
        assert issubclass(UnknownEventError, LookupError)

    def test_the_public_api_exports_them(self):
        for name in (
            "CurrencyError",
            "FactTypeError",
            "FactsError",
            "MissingFactError",
            "MoneyError",
            "UnknownEventError",
            "UnknownFactError",
        ):
            assert name in rulec.__all__
            assert issubclass(getattr(rulec, name), RulesError)

    def test_the_good_facts_still_decide(self, shipped):
        d = shipped.evaluate("order_created", order())
        assert d.discount_amount == Decimal("10.00")


class TestMoney:
    @pytest.mark.parametrize(
        ("value", "said"),
        [
            (100.0, "order.subtotal 100.0 is a float"),
            (Decimal("NaN"), "order.subtotal NaN EUR is not an amount"),
            (Decimal("sNaN"), "order.subtotal sNaN EUR is not an amount"),
            (Decimal("Infinity"), "order.subtotal Infinity EUR is not an amount"),
            (Decimal("-Infinity"), "order.subtotal -Infinity EUR is not an amount"),
            (Decimal("1E+10"), "order.subtotal 1E+10 EUR is too large"),
            (10**12, "order.subtotal 1000000000000 EUR is too large"),
            (Decimal("-1.00"), "order.subtotal -1.00 EUR is negative"),
            ("100.00", "order.subtotal '100.00' is a str"),
            (True, "order.subtotal True is a bool"),
        ],
    )
    def test_refused_naming_key_and_value(self, shipped, value, said):
        e = refused(shipped, order(subtotal=value), MoneyError)
        assert said in str(e)
        assert e.key == "order.subtotal"

    def test_conditions_alone_check_the_amount_too(self, shipped):
        facts = {"order": {"subtotal": Decimal("NaN")}}  # no decide after: the door says it
        with pytest.raises(MoneyError, match=r"^order\.subtotal NaN is not an amount$"):
            shipped.matching("order_created", facts)
        with pytest.raises(CurrencyError, match="did you mean 'EUR'"):
            shipped.matching("order_created", {"order": {"currency": "EUX"}})

    def test_the_largest_storable_amount_is_taken(self, shipped):
        top = Decimal("9999999999.99")
        assert shipped.evaluate("order_created", order(subtotal=top)).subtotal == top

    @pytest.mark.parametrize(
        ("value", "said"),
        [
            (Decimal("Infinity"), "item.unit_price Infinity is not an amount"),
            (Decimal("-0.50"), "item.unit_price -0.50 is negative"),
            (Decimal("2E+10"), "item.unit_price 2E+10 is too large"),
            (0.5, "item.unit_price 0.5 is a float"),
        ],
    )
    def test_a_line_price_is_checked_too(self, shipped, value, said):
        facts = order()
        facts["item"] = [{"unit_price": value, "quantity": 1}]
        e = refused(shipped, facts, MoneyError)
        assert said in str(e)

    def test_a_flat_facts_subtotal_too_large_is_refused_by_decide(self, shipped):
        facts = rulec.flatten_facts(
            {"order.subtotal": Decimal("1E+12"), "order.currency": "EUR"}, shipped.fact_keys
        )
        with pytest.raises(MoneyError, match=r"order.subtotal 1E\+12 EUR is too large"):
            shipped.evaluate("order_created", facts)

    def test_the_limit_is_what_a_money_column_stores(self):
        assert LIMIT == stored.LIMIT == Decimal(10) ** (Money.precision - Money.scale)
        with pytest.raises(stored.AmountError, match="too large"):
            Order(subtotal=Decimal("1E+10"))
        with pytest.raises(ValueError, match="below 10"):  # the column, without the model
            Money()._within_limits(Decimal("1E+10"))
        assert Money()._within_limits(Decimal("9999999999.9999"))


class TestCurrency:
    @pytest.mark.parametrize(
        ("code", "hint"),
        [
            ("EUX", "did you mean 'EUR'?"),
            ("eur", "currency codes are written in capitals: 'EUR'"),
            ("EURO", "write the ISO 4217 code 'EUR'"),
            ("ZZZ", None),
        ],
    )
    def test_not_iso_4217(self, shipped, code, hint):
        e = refused(shipped, order(currency=code), CurrencyError)
        assert f"unknown currency {code!r} in order.currency" in str(e)
        assert (e.key, e.value, e.suggestion) == ("order.currency", code, hint)

    def test_not_a_string(self, shipped):
        e = refused(shipped, order(currency=978), CurrencyError)
        assert "order.currency 978 is a int" in str(e)

    def test_the_core_table_is_the_storage_table(self):
        from rulec.dsl.currencies import MINOR_UNITS

        assert MINOR_UNITS == stored.MINOR_UNITS


class TestMissingCurrency:
    """Issue 21: a missing currency was read as EUR by the policy and as "not EUR" by
    the condition, and 5.00 EUR was applied to an order of unknown currency."""

    @pytest.mark.parametrize("facts", [{"order": {"subtotal": Decimal("100.00")}},
                                       {"order": {"subtotal": Decimal("100.00"), "currency": None}},
                                       {"order.subtotal": Decimal("100.00")}])  # fmt: skip
    def test_refused_never_guessed(self, facts):
        rs = rulec.load_text(FIVE, "five.rules")
        e = refused(rs, facts, MissingFactError)
        assert e.key == "order.currency"
        assert "order.currency is missing" in str(e)
        assert "never guessed" in str(e)

    def test_refused_in_facts_taken_as_they_are(self):
        rs = rulec.load_text(FIVE, "five.rules")
        facts = rulec.flatten_facts({"order.subtotal": Decimal("100.00")}, rs.fact_keys)
        with pytest.raises(MissingFactError, match=r"order\.currency is missing"):
            rs.evaluate("order_created", facts)

    def test_a_missing_subtotal_is_refused(self, shipped):
        e = refused(shipped, {"order": {"currency": "EUR"}}, MissingFactError)
        assert e.key == "order.subtotal"

    def test_an_event_without_an_order_needs_neither(self):
        rs = rulec.load_text(
            "on customer_labeled when label is Gold then add label Loyal to customer\n"
        )
        d = rs.evaluate("customer_labeled", {"label": {"name": "Gold"}})
        assert [c.label for c in d.label_changes] == ["Loyal"]

    def test_conditions_alone_need_neither(self, shipped):
        assert shipped.matching("order_created", {"customer": {"labels": {"Customer_VIP"}}})


class TestUnknownEvent:
    @pytest.mark.parametrize("how", ["evaluate", "decide", "matching", "explain", "candidates"])
    def test_did_you_mean(self, shipped, how):
        call = {
            "evaluate": shipped.evaluate,
            "decide": lambda e, f: rulec.decide(shipped, e, f),
            "matching": shipped.matching,
            "explain": shipped.explain,
            "candidates": lambda e, f: shipped.candidates(e, {"customer": {"Customer_VIP"}}),
        }[how]
        with pytest.raises(UnknownEventError) as got:
            call("order_craeted", order())
        assert str(got.value) == "unknown event 'order_craeted'; did you mean 'order_created'?"
        assert got.value.event == "order_craeted"

    def test_nothing_close(self, shipped):
        with pytest.raises(UnknownEventError, match=r"^unknown event 'shipment_sent'$"):
            shipped.evaluate("shipment_sent", order())

    def test_a_scheduled_event_by_its_key(self):
        rs = rulec.load_text("on daily for customer then add label Seen to customer\n")
        assert rs.evaluate("daily:customer", {"customer": {"labels": set()}}).label_changes
        with pytest.raises(
            UnknownEventError, match="with its subject: 'daily:customer' or 'daily:order'"
        ):
            rs.evaluate("daily", {"customer": {"labels": set()}})


class TestUnknownFacts:
    def test_custmer(self, shipped):
        facts = order()
        facts["custmer"] = facts.pop("customer")
        e = refused(shipped, facts, UnknownFactError)
        assert "unknown entity 'custmer'" in str(e)
        assert e.suggestion == "did you mean 'customer'?"
        assert e.key == "custmer.labels"

    def test_subtotl(self, shipped):
        facts = {"order": {"subtotl": Decimal("100.00"), "currency": "EUR"}}
        e = refused(shipped, facts, UnknownFactError)
        assert "unknown field 'subtotl' of order" in str(e)
        assert "(fact 'order.subtotl')" in str(e)
        assert e.suggestion == "did you mean 'subtotal'?"

    def test_flat_keys_too(self, shipped):
        facts = {"order.subtotal": Decimal(1), "order.currency": "EUR", "order.curency": "EUR"}
        e = refused(shipped, facts, UnknownFactError)
        assert e.suggestion == "did you mean 'currency'?"

    def test_an_alias_is_not_a_fact_key(self, shipped):
        e = refused(shipped, order(created=WHEN), UnknownFactError)
        assert e.suggestion == "did you mean 'created_at'?"

    def test_a_look_alike_is_named(self, shipped):
        facts = order()
        facts["сustomer"] = facts.pop("customer")  # a Cyrillic с
        e = refused(shipped, facts, UnknownFactError)
        assert "U+0441 CYRILLIC SMALL LETTER ES" in str(e)

    def test_an_entity_the_event_does_not_have(self, shipped):
        e = refused(shipped, {**order(), "price": {"amount": Decimal(1)}}, UnknownFactError)
        assert "order_created has no price" in str(e)
        assert "price.amount" in str(e)

    def test_an_entity_that_is_not_a_mapping(self, shipped):
        e = refused(shipped, {**order(), "customer": "Customer_VIP"}, FactTypeError)
        assert "customer is a str: an entity is a mapping of its fields" in str(e)

    def test_a_list_entity_given_as_one(self, shipped):
        e = refused(shipped, {**order(), "item": {"quantity": 2}}, UnknownFactError)
        assert "item is a list in order_created" in str(e)

    def test_a_line_with_a_wrong_field(self, shipped):
        facts = {**order(), "item": [{"quantity": 2, "unit_prise": Decimal(1)}]}
        e = refused(shipped, facts, UnknownFactError)
        assert e.suggestion == "did you mean 'unit_price'?"

    def test_not_a_mapping_at_all(self, shipped):
        e = refused(shipped, [("order.subtotal", 1)], FactTypeError)
        assert "facts cannot be read" in str(e)


class TestTypes:
    @pytest.mark.parametrize(
        ("facts", "said"),
        [
            ({"customer": {"labels": "Customer_VIP"}}, "customer.labels: labels 'Customer_VIP'"),
            ({"customer": {"labels": {1, 2}}}, "customer.labels: labels {1, 2}"),
            ({"customer": {"order_count": "3"}}, "customer.order_count '3' is a str"),
            ({"customer": {"order_count": True}}, "customer.order_count True is a bool"),
            (
                {"order.created_at": date(2026, 3, 14)},
                "order.created_at datetime.date(2026, 3, 14)",
            ),
            ({"order.placed_by_customer": "yes"}, "order.placed_by_customer 'yes' is a str"),
            ({"customer.absent": 0}, "customer.absent is a int"),
        ],
    )
    def test_wrong_type(self, shipped, facts, said):
        e = refused(shipped, {**order(), **facts}, FactTypeError)
        assert said in str(e)

    def test_a_status_not_among_its_values(self):
        rs = rulec.load_text('on order_created when order status is paid then discount 1% "p"\n')
        e = refused(rs, order(status="piad"), FactTypeError)
        assert "order.status 'piad' is not one of status's values" in str(e)
        assert e.suggestion == "did you mean 'paid'?"

    def test_lists_and_naive_datetimes_are_still_taken(self, shipped):
        naive = WHEN.replace(tzinfo=None)
        facts = {"order": {"subtotal": 100, "currency": "EUR", "created_at": naive}}
        facts["customer"] = {"labels": ["Customer_VIP"], "order_count": 3}
        assert shipped.evaluate("order_created", facts) == shipped.evaluate(
            "order_created", order(subtotal=Decimal("100.00"))
        )


# ----------------------------------------------------------- rule files ---


class TestRuleFiles:
    def test_no_paths(self):
        with pytest.raises(rulec.RulesInputError, match="no rule files given"):
            rulec.load_paths([])
        with pytest.raises(rulec.RulesInputError, match="no rule files given"):
            Engine.from_paths([])

    def test_an_empty_folder(self, tmp_path):
        (tmp_path / "notes.txt").write_text("not rules")
        with pytest.raises(rulec.RulesInputError, match=r"no \.rules files found") as got:
            Engine.from_paths([tmp_path])
        assert got.value.path == str(tmp_path)
        with pytest.raises(rulec.RulesInputError, match=r"no \.rules files found"):
            rulec.load_paths([tmp_path])

    def test_a_reload_keeps_the_old_rules_and_says_why(self, tmp_path, caplog):
        path = tmp_path / "r.rules"
        path.write_text('on order_created then discount 10% "Ten"\n', encoding="utf-8")
        engine = Engine.from_paths([tmp_path])
        old = engine.rules
        facts = order()
        path.unlink()  # the folder is empty now
        with caplog.at_level(logging.ERROR, logger="rulec.engine"):
            assert engine.reload() is False
        assert engine.rules is old
        assert isinstance(engine.reload_error, rulec.RulesInputError)
        assert "no .rules files found" in caplog.text
        assert f"keeping rule set {old.version}" in caplog.text
        path.write_text('on order_created then discount 10% "Ten"\nbroken\n', encoding="utf-8")
        assert engine.reload() is False  # fails to check
        assert isinstance(engine.reload_error, rulec.RulesSyntaxError | rulec.RulesCheckError)
        assert engine.rules is old
        assert engine.rules.evaluate("order_created", facts).discount_amount == Decimal("10.00")
        path.write_text('on order_created then discount 20% "Twenty"\n', encoding="utf-8")
        assert engine.reload() is True
        assert engine.reload_error is None
        assert engine.rules.evaluate("order_created", facts).discount_amount == Decimal("20.00")

    def test_a_reload_after_the_folder_vanished(self, tmp_path):
        folder = tmp_path / "rules"
        folder.mkdir()
        (folder / "r.rules").write_text('on order_created then discount 10% "Ten"\n')
        engine = Engine.from_paths([folder])
        (folder / "r.rules").unlink()
        folder.rmdir()
        assert engine.reload() is False
        assert "no such file or folder" in str(engine.reload_error)
        assert len(engine.rules) == 1


# ----------------------------------------------------------------- ORM ---


class TestFlush:
    """An order the engine refuses at flush: the error surfaces at flush, and once
    the caller rolls back nothing of it is stored (no order, discount or audit row)."""

    def count(self, sessions) -> tuple[int, int, int]:
        with sessions() as s:
            return tuple(  # type: ignore[return-value]
                s.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (Order, AppliedDiscount, RuleErrorRecord)
            )

    @pytest.mark.parametrize(
        ("currency", "error", "said"),
        [
            ("ZZZ", CurrencyError, "unknown currency 'ZZZ' in order.currency"),
            ("EUX", CurrencyError, "did you mean 'EUR'?"),
        ],
    )
    def test_a_bogus_currency(self, sessions, currency, error, said):
        Engine(rulec.load_text('on order_created then discount 10% "Ten"\n')).attach(sessions)
        with sessions() as s:
            s.add(Order(subtotal=Decimal("10.00"), currency=currency))
            with pytest.raises(error, match=said):
                s.flush()
            s.rollback()
        assert self.count(sessions) == (0, 0, 0)

    def test_a_subtotal_too_large_for_its_column(self, sessions):
        Engine(rulec.load_text('on order_created then discount 10% "Ten"\n')).attach(sessions)
        with sessions() as s:
            o = Order(subtotal=Decimal("9999999999.99"))
            s.add(o)
            o.__dict__["subtotal"] = Decimal("1E+11")  # around the model's check, as raw SQL would
            with pytest.raises(MoneyError, match=r"order.subtotal 1E\+11 EUR is too large"):
                s.flush()
            s.rollback()
        assert self.count(sessions) == (0, 0, 0)

    def test_the_models_refuse_before_the_flush(self):
        with pytest.raises(TypeError, match="not a float"):
            Order(subtotal=10.5)
        with pytest.raises(stored.AmountError, match="not an amount"):
            Order(subtotal=Decimal("NaN"))
