"""`rulec test` with shipping: `given order shipping is …`, `expect shipping discount`,
and `expect total` counting the shipping less its discount."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rulec.cli import main

RULES = """\
rule "Free shipping over 50"
  on order_created
  when order subtotal >= 50.00
  then free shipping "Free shipping over 50"
end
"""

PASSING = """\
test "over 50 the shipping is free"
  on order_created
  given order currency is EUR
  given order subtotal is 60.00 and order shipping is 4.95
  expect shipping discount 4.95 EUR
  expect total 60.00 EUR
  expect applied "Free shipping over 50"
end

test "below 50 the shipping is paid"
  on order_created
  given order currency is EUR
  given order subtotal is 40.00 and order shipping is 4.95
  expect shipping discount 0.00
  expect total 44.95 EUR
  expect no discount
end

test "without a shipping charge the rule loses"
  on order_created
  given order currency is EUR
  given order subtotal is 60.00
  expect lost "Free shipping over 50"
  expect total 60.00
end
"""

FAILING = """\
test "a wrong shipping discount"
  on order_created
  given order currency is EUR
  given order subtotal is 60.00 and order shipping is 4.95
  expect shipping discount 2.00 EUR
  expect total 64.95
end
"""


def run(folder: Path):
    return CliRunner().invoke(main, ["test", str(folder)])


def test_shipping_expectations_pass(tmp_path: Path) -> None:
    (tmp_path / "r.rules").write_text(RULES + PASSING, encoding="utf-8")
    got = run(tmp_path)
    assert got.exit_code == 0, got.output
    assert "3 tests: 3 passed" in got.stderr


def test_a_failed_shipping_expectation_says_what_the_decision_gave(tmp_path: Path) -> None:
    (tmp_path / "r.rules").write_text(RULES + FAILING, encoding="utf-8")
    got = run(tmp_path)
    assert got.exit_code == 1, got.output
    assert (
        "expected a shipping discount of 2.00 EUR; the shipping discount is 4.95 EUR of "
        "4.95 EUR (the decision gave 0.00 EUR off and 4.95 EUR off the shipping: "
        "Free shipping over 50 (4.95 EUR))"
    ) in got.stdout
    assert (
        "expected a total of 64.95 EUR; the total is 60.00 EUR (the decision gave 0.00 EUR "
        "off and 4.95 EUR off the shipping: Free shipping over 50 (4.95 EUR), shipping "
        "4.95 EUR less 4.95 EUR)"
    ) in got.stdout
