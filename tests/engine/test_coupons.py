"""Coupon codes (issue 15): ``order has coupon "X"`` through the one decide, and
what became of every code the customer entered, in business words."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import rulec
from rulec.engine.core.coupons import Refusal
from rulec.engine.core.decide import decide as core_decide
from rulec.engine.core.errors import FactTypeError, UnknownFactError

RULES = """\
label Rush for order
rule "Spring"
  from 2026-03-01 until 2026-05-31 Europe/Paris
  on order_created
  when order has coupon "SPRING10" and order subtotal >= 50.00
  then discount 10% "Spring code"
end
rule "Welcome"
  on order_created
  when order has coupon WELCOME and order lacks label Rush
  then discount 5.00 EUR "Welcome code"
end
rule "Half"
  priority 5
  exclusive
  on order_created
  when order has coupon "HALF"
  then discount 50% "Half price"
end
"""

RULE_SET = rulec.load_text(RULES, "promo.rules")
IN_SPRING = datetime(2026, 4, 1, 12, tzinfo=UTC)


def decide(*codes: str, subtotal: str = "80.00", at: datetime = IN_SPRING, **kw):
    order = {"subtotal": Decimal(subtotal), "currency": "EUR", "created_at": at}
    if codes:
        order["coupons"] = list(codes)
    order.update(kw.pop("order", {}))
    return RULE_SET.evaluate("order_created", {"order": order}, **kw)


def outcomes(d) -> dict[str, tuple[str, str]]:
    return {c.code: (c.reason_code, c.reason) for c in d.coupons}


def test_a_code_entered_applies_its_rule_whatever_its_case_and_spaces() -> None:
    d = decide(" spring10 ")
    assert d.discount_amount == Decimal("8.00")
    assert d.discount_description == "Spring code"
    assert outcomes(d) == {"SPRING10": ("applied", "applied by rule 'Spring'")}
    assert d.coupons[0].applied and d.coupons[0].rule == "Spring"


def test_no_code_no_discount_and_no_outcomes() -> None:
    d = decide()
    assert d.discount_amount == Decimal("0.00") and d.coupons == ()


def test_an_unknown_code_says_so() -> None:
    d = decide("SPRNG10")
    assert d.discount_amount == Decimal("0.00")
    assert outcomes(d)["SPRNG10"] == (
        "unknown",
        "the code SPRNG10 is not a promotion of this shop",
    )


def test_a_code_outside_its_window_is_expired_or_not_yet_valid() -> None:
    late = decide("SPRING10", at=datetime(2026, 7, 1, tzinfo=UTC))
    early = decide("SPRING10", at=datetime(2026, 1, 1, tzinfo=UTC))
    assert late.discount_amount == early.discount_amount == Decimal("0.00")
    assert outcomes(late)["SPRING10"][0] == "expired"
    assert "2026-05-31 22:00 UTC" in outcomes(late)["SPRING10"][1]
    assert outcomes(early)["SPRING10"] == (
        "not_yet_valid",
        "the code is valid from 2026-02-28 23:00 UTC",
    )


def test_conditions_not_met_names_what_is_missing_not_the_code_itself() -> None:
    d = decide("SPRING10", subtotal="20.00")
    assert outcomes(d)["SPRING10"] == (
        "conditions_not_met",
        "needs order subtotal >= 50.00 (order subtotal: 20.00)",
    )
    rush = decide("WELCOME", order={"labels": ["Rush"]})
    code, reason = outcomes(rush)["WELCOME"]
    assert code == "conditions_not_met" and "order lacks label 'Rush'" in reason


def test_a_code_that_loses_to_an_exclusive_discount_says_to_which() -> None:
    d = decide("SPRING10", "HALF")
    assert d.discount_amount == Decimal("40.00")
    got = outcomes(d)
    assert got["HALF"][0] == "applied"
    assert got["SPRING10"] == ("lost", "exclusive rule 'Half' applied")


def test_each_code_gets_its_outcome_in_code_order() -> None:
    d = decide("welcome", "nope", "spring10")
    assert [c.code for c in d.coupons] == ["NOPE", "SPRING10", "WELCOME"]
    assert d.discount_amount == Decimal("8.00")  # the best deal of the two
    assert outcomes(d)["WELCOME"] == ("lost", "a better discount applied: 'Spring'")


def test_a_rule_the_database_refused_loses_with_the_refusal_and_the_code_says_why() -> None:
    refused = {"Spring": Refusal("limit_reached", "the code was used its 100 times")}
    facts = {
        "order": {
            "subtotal": Decimal("80.00"),
            "currency": "EUR",
            "created_at": IN_SPRING,
            "coupons": ["SPRING10", "WELCOME"],
        }
    }
    d = core_decide(RULE_SET, "order_created", facts, refused=refused)
    assert d.discount_amount == Decimal("5.00")  # the next best applies instead
    assert outcomes(d)["SPRING10"] == ("limit_reached", "the code was used its 100 times")
    assert [(x.rule, x.reason) for x in d.lost] == [("Spring", "the code was used its 100 times")]


def test_explain_prints_each_code_first() -> None:
    facts = {
        "order": {
            "subtotal": Decimal("20.00"),
            "currency": "EUR",
            "created_at": IN_SPRING,
            "coupons": ["spring10", "nope"],
        }
    }
    lines = RULE_SET.explain("order_created", facts).text().splitlines()
    assert lines[1:3] == [
        "  coupon NOPE (unknown): the code NOPE is not a promotion of this shop",
        "  coupon SPRING10 (conditions_not_met): needs order subtotal >= 50.00 "
        "(order subtotal: 20.00)",
    ]


@pytest.mark.parametrize("bad", ["SPRING10", 10, [1, 2], {"SPRING10": 1}])
def test_codes_that_are_not_a_set_of_texts_are_refused(bad) -> None:
    with pytest.raises(FactTypeError) as e:
        decide(order={"coupons": bad})
    assert e.value.key == "order.coupons"


def test_only_the_order_carries_codes_in_the_facts() -> None:
    with pytest.raises(UnknownFactError, match=r"customer\.coupons"):
        RULE_SET.evaluate(
            "order_created",
            {
                "order": {"subtotal": Decimal("80.00"), "currency": "EUR"},
                "customer": {"coupons": ["SPRING10"]},
            },
        )


def test_the_checker_and_the_formatter_know_codes() -> None:
    bad = 'on order_created when customer has coupon "X1" then discount 5% "x"\n'
    (d,) = rulec.check_text(bad, "t.rules")
    assert (d.code, d.span.line, d.span.column) == ("R230", 1, 23)
    assert "write 'order has coupon \"X1\"'" in d.full_message
    (d,) = rulec.check_text(bad.replace('customer has coupon "X1"', 'order has coupon "X 1!"'))
    assert d.code == "R231" and 'write "X-1"' in d.full_message
    from rulec.dsl.fmt import format_text

    text = 'on order_created when order lacks coupon abc then discount 5% "x"\n'
    tidy = 'on order_created when order lacks coupon "abc" then discount 5% "x"\n'
    assert format_text(text) == tidy


def test_a_rule_test_states_codes_entered_and_expects_their_outcomes(tmp_path) -> None:
    path = tmp_path / "promo.rules"
    path.write_text(
        RULES
        + """
test "spring code" on order_created at 2026-04-01 12:00 UTC
  given order has coupon "spring10" and order subtotal is 80.00 and order currency is EUR
  given order has coupon "NOPE"
  expect amount 8.00 EUR
  expect applied "Spring"
  expect coupon "SPRING10" applied
  expect coupon "nope" unknown
end

test "a small order" on order_created at 2026-04-01 12:00 UTC
  given order has coupon "SPRING10" and order subtotal is 20.00 and order currency is EUR
  expect coupon "SPRING10" applied
  expect coupon "WELCOME" unknown
end
"""
    )
    from click.testing import CliRunner

    from rulec.cli import main

    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 1, result.output
    assert "1 passed, 1 failed" in result.output
    # each failing expectation at its line, what was expected, what became of the code
    assert (
        ":32:10: expected the code SPRING10 applied; conditions_not_met: needs order subtotal"
        " >= 50.00 (order subtotal: 20.00)" in result.output
    )
    assert (
        ":33:10: expected the code WELCOME unknown; the code WELCOME was not entered (give it:"
        ' given order has coupon "WELCOME")' in result.output
    )
