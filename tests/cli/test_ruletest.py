"""`rulec test`: tests written beside the rules, run through the one decide, with coverage."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

import rulec
from rulec.cli import main
from rulec.dsl.nodes import RuleTest
from rulec.dsl.parser import parse
from rulec.dsl.sources import analyze, read_sources
from rulec.engine.core.load import from_analysis
from rulec.engine.vocabulary import DEFAULT_VOCABULARY
from rulec.tools.ruletest import facts_for

RULES = """\
label Customer_VIP, Loyal for customer
label Fragile for item
label Careful_Handling for order

on order_created when customer has label Customer_VIP then discount 10% "VIP"

rule "Spring"
  on order_created
  when order subtotal >= 100.00 and order currency is EUR
  then discount 5% "Spring sale"
end

on order_created when any item has label Fragile then add label Careful_Handling to order
"""

PASSING = """\
test "a VIP gets the better deal"
  on order_created
  given customer has label Customer_VIP
  given order subtotal is 120.00 and order currency is EUR
  expect amount 12.00 EUR
  expect total 108.00
  expect description "VIP"
  expect applied "VIP"
  expect lost "Spring" to "VIP"
  expect no add label Careful_Handling to order
end

test "a fragile line makes the order careful"
  on order_created
  given order subtotal is 20.00 and order currency is EUR
  given item has label Fragile and item quantity is 1
  expect no discount
  expect not applied "VIP"
  expect add label Careful_Handling to order
end
"""

LIMITED = """\
rule "Spring sale"
  limit 100 uses
  limit 1 use per customer
  budget 500.00 EUR
  on order_created
  when order has coupon "SPRING10"
  then discount 10% "Spring sale"
end
"""


def _runs(folder: Path) -> list:
    from rulec.tools.ruletest import run_tests

    analysis = analyze(read_sources([folder]), DEFAULT_VOCABULARY, lint=False)
    return run_tests(analysis, from_analysis(analysis, DEFAULT_VOCABULARY), DEFAULT_VOCABULARY)


FAILING = """\
test "a stranger gets the VIP discount"
  on order_created
  given order subtotal is 120.00 and order currency is EUR
  expect applied "VIP"
  expect amount 12.00
  expect total 108.00 EUR
end
"""

ERRING = """\
test "an order too big to compute"
  on order_created
  given order subtotal is 99999999999999999999999999999.99 and order currency is EUR
  expect amount 1.00
end
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of ``text`` where ``needle`` first is."""
    return text[: text.index(needle)].count("\n") + 1


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str):
    return CliRunner().invoke(main, ["test", *args])


class TestSyntax:
    def test_a_test_block_is_parsed_with_its_parts_and_positions(self) -> None:
        items = parse(RULES + PASSING, "t.rules")
        tests = [i for i in items if isinstance(i, RuleTest)]
        assert [t.name for t in tests] == [
            "a VIP gets the better deal",
            "a fragile line makes the order careful",
        ]
        first = tests[0]
        assert first.event.text == "order_created"
        assert len(first.givens) == 2 and len(first.expects) == 6
        assert first.span is not None and first.span.line == RULES.count("\n") + 1
        assert first.expects[0].span is not None
        assert first.expects[0].span.line == first.span.line + 4

    def test_tests_are_not_rules(self) -> None:
        with_tests = rulec.load_text(RULES + PASSING, "t.rules")
        without = rulec.load_text(RULES, "t.rules")
        assert len(with_tests) == len(without) == 3

    def test_givens_become_the_facts_evaluate_takes(self) -> None:
        test = next(i for i in parse(RULES + PASSING, "t.rules") if isinstance(i, RuleTest))
        facts = facts_for(test, DEFAULT_VOCABULARY)
        assert facts["customer"] == {"labels": {"Customer_VIP"}}
        assert facts["order"]["currency"] == "EUR"
        assert str(facts["order"]["subtotal"]) == "120.00"
        second = [i for i in parse(RULES + PASSING, "t.rules") if isinstance(i, RuleTest)][1]
        assert facts_for(second, DEFAULT_VOCABULARY)["item"] == [
            {"labels": {"Fragile"}, "quantity": 1}
        ]

    def test_a_test_decides_as_evaluate_does(self, tmp_path: Path) -> None:
        from rulec.tools.ruletest import run_tests

        write(tmp_path, "r.rules", RULES + PASSING)
        analysis = analyze(read_sources([tmp_path]), DEFAULT_VOCABULARY, lint=False)
        rules = from_analysis(analysis, DEFAULT_VOCABULARY)
        runs = run_tests(analysis, rules, DEFAULT_VOCABULARY)
        for r in runs:
            assert r.explanation is not None and r.facts is not None
            assert r.explanation.decision == rules.evaluate(r.event, r.facts)


class TestResults:
    def test_every_test_passing_exits_0(self, tmp_path: Path) -> None:
        write(tmp_path, "r.rules", RULES + PASSING)
        got = run(str(tmp_path))
        assert got.exit_code == 0, got.output
        assert got.stdout == ""
        assert got.stderr.strip() == "2 tests: 2 passed, 0 failed, 0 errors"

    def test_verbose_lists_the_passing_tests(self, tmp_path: Path) -> None:
        path = write(tmp_path, "r.rules", RULES + PASSING)
        got = run("-v", str(tmp_path))
        text = RULES + PASSING
        assert got.stdout.splitlines() == [
            f"PASS {path}:{line_of(text, 'a VIP gets')}: a VIP gets the better deal",
            f"PASS {path}:{line_of(text, 'a fragile line')}: "
            "a fragile line makes the order careful",
        ]

    def test_a_failure_says_what_was_expected_and_what_happened_at_its_line(
        self, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "r.rules", RULES + FAILING)
        got = run(str(path))
        assert got.exit_code == 1
        at = line_of(RULES + FAILING, "test ")
        assert got.stdout.splitlines() == [
            f"FAIL {path}:{at}: a stranger gets the VIP discount",
            f"  {path}:{at + 3}:10: expected 'VIP' to apply; 'r.rules:5' not applicable: "
            "customer has label 'Customer_VIP' was false (customer labels: none)",
            f"  {path}:{at + 4}:10: expected a discount of 12.00 EUR; the decision gave 6.00 EUR "
            "off: Spring sale (6.00 EUR)",
            f"  {path}:{at + 5}:10: expected a total of 108.00 EUR; the total is 114.00 EUR "
            "(the decision gave 6.00 EUR off: Spring sale (6.00 EUR))",
        ]
        assert got.stderr.strip() == "1 test: 0 passed, 1 failed, 0 errors"

    def test_a_discount_action_is_expected_by_its_description(self, tmp_path: Path) -> None:
        text = (
            "label Socks for item\n"
            'on order_created then buy 2 get 1 free on items with label Socks "Socks deal"\n'
            'on order_created then discount 5% "Five"\n'
            'test "three pairs"\n'
            "  on order_created\n"
            "  given order currency is EUR\n"
            "  given item has label Socks and item quantity is 3 and item unit price is 4.00\n"
            '  expect buy 2 get 1 free on items with label Socks "Socks deal"\n'
            '  expect discount 10% "Five"\n'
            "end\n"
        )
        path = write(tmp_path, "r.rules", text)
        got = run(str(path))
        assert got.exit_code == 1
        assert got.stdout.splitlines()[1:] == [
            f"  {path}:9:10: expected the discount 'Five' (10%) applied; the decision gave "
            "4.00 EUR off: Socks deal (4.00 EUR)"
        ]

    def test_an_event_that_cannot_be_decided_is_an_error_not_a_failure(
        self, tmp_path: Path
    ) -> None:
        path = write(tmp_path, "r.rules", RULES + PASSING + ERRING)
        got = run(str(path))
        assert got.exit_code == 1
        at = line_of(RULES + PASSING + ERRING, 'test "an order too big')
        assert got.stdout.splitlines()[0] == f"ERROR {path}:{at}: an order too big to compute"
        assert got.stdout.splitlines()[1].startswith("  the event could not be decided: ")
        assert got.stderr.strip() == "3 tests: 2 passed, 0 failed, 1 errors"

    def test_a_spent_limit_is_stated_and_decided_as_the_database_refuses_it(
        self, tmp_path: Path
    ) -> None:
        # a test cannot count uses: it states the refusal, and the decision (the
        # rule lost, the code's outcome) carries the database's own words for it
        text = LIMITED + (
            'test "the last use is taken"\n  on order_created\n'
            '  given order has coupon "SPRING10" and order subtotal is 100.00\n'
            "  given order currency is EUR\n"
            '  given rule "Spring sale" limit_reached\n'
            '  expect no discount\n  expect coupon "SPRING10" limit_reached\n'
            '  expect lost "Spring sale"\nend\n'
        )
        path = write(tmp_path, "r.rules", text)
        assert run(str(path)).exit_code == 0
        runs = _runs(tmp_path)
        (lost,) = runs[-1].explanation.decision.lost
        assert (lost.rule, lost.reason) == (
            "Spring sale",
            "the code was used its 100 times: none is left",
        )
        (code,) = runs[-1].explanation.decision.coupons
        assert (code.reason_code, code.reason) == (
            "limit_reached",
            "the code was used its 100 times: none is left",
        )
        # the same test expecting the code applied fails, saying why it was not
        failing = write(
            tmp_path,
            "r.rules",
            text.replace(
                'SPRING10" limit_reached\n  expect lost', 'SPRING10" applied\n  expect lost'
            ),
        )
        got = run(str(failing))
        assert got.exit_code == 1 and "limit_reached" in got.stdout

    def test_a_budget_in_another_currency_is_never_spent(self, tmp_path: Path) -> None:
        text = LIMITED + (
            'test "dollars"\n  on order_created\n'
            '  given order has coupon "SPRING10" and order subtotal is 100.00\n'
            "  given order currency is USD\n"
            '  given rule "Spring sale" budget_spent\n'
            '  expect coupon "SPRING10" budget_spent\nend\n'
        )
        path = write(tmp_path, "r.rules", text)
        got = run(str(path))
        assert got.exit_code == 1
        assert got.stdout.splitlines()[1] == (
            "  the event could not be decided: rule 'Spring sale' has no budget in USD: "
            "it is never refused for budget_spent here"
        )

    def test_tests_see_the_rules_of_every_file_given(self, tmp_path: Path) -> None:
        write(tmp_path, "rules.rules", RULES)
        write(tmp_path, "tests.rules", PASSING)
        assert run(str(tmp_path)).exit_code == 0
        alone = run(str(tmp_path / "tests.rules"))
        assert alone.exit_code == 1  # the test names rules that file alone does not have
        assert "R342" in alone.stdout
        assert "the rules have errors; no test was run" in alone.stderr

    def test_no_tests_is_said(self, tmp_path: Path) -> None:
        write(tmp_path, "r.rules", RULES)
        got = run(str(tmp_path))
        assert got.exit_code == 0
        assert "no tests found" in got.stderr

    def test_no_rule_files_is_a_usage_error(self, tmp_path: Path) -> None:
        got = run(str(tmp_path))
        assert got.exit_code == 2
        assert "no .rules files found" in got.stderr
        assert run(str(tmp_path / "gone")).exit_code == 2

    def test_json(self, tmp_path: Path) -> None:
        path = write(tmp_path, "r.rules", RULES + PASSING + FAILING)
        doc = json.loads(run("--format", "json", str(path)).stdout)
        assert doc["summary"] == {"tests": 3, "passed": 2, "failed": 1, "errors": 0}
        failed = doc["tests"][2]
        at = line_of(RULES + PASSING + FAILING, 'test "a stranger')
        assert (failed["name"], failed["status"], failed["line"]) == (
            "a stranger gets the VIP discount",
            "fail",
            at,
        )
        assert failed["failures"][1] == {
            "line": at + 4,
            "column": 10,
            "expected": "a discount of 12.00 EUR",
            "actual": "the decision gave 6.00 EUR off: Spring sale (6.00 EUR)",
        }
        assert "coverage" not in doc

    def test_junit_is_xml_that_ci_systems_read(self, tmp_path: Path) -> None:
        path = write(tmp_path, "r.rules", RULES + PASSING + FAILING + ERRING)
        got = run("--format", "junit", str(path))
        root = ET.fromstring(got.stdout)
        assert root.tag == "testsuites"
        assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
        (suite,) = root
        cases = {c.get("name"): c for c in suite.iter("testcase")}
        assert list(cases["a VIP gets the better deal"]) == []
        failure = cases["a stranger gets the VIP discount"].find("failure")
        at = line_of(RULES + PASSING + FAILING, 'test "a stranger')
        assert failure is not None and f"{path}:{at + 3}:10: expected 'VIP' to apply" in (
            failure.text or ""
        )
        assert cases["an order too big to compute"].find("error") is not None
        assert cases["a stranger gets the VIP discount"].get("line") == str(at)


class TestCoverage:
    def test_every_outcome_seen_is_100_percent(self, tmp_path: Path) -> None:
        rules = (
            "label Customer_VIP for customer\n"
            'on order_created when customer has label Customer_VIP then discount 10% "VIP"\n'
        )
        tests = (
            'test "vip" on order_created given customer has label Customer_VIP '
            'and order currency is EUR and order subtotal is 10.00 expect applied "VIP" end\n'
            'test "not vip" on order_created given order currency is EUR '
            'and order subtotal is 10.00 expect not applied "VIP" end\n'
        )
        path = write(tmp_path, "r.rules", rules + tests)
        got = run("--coverage", str(path))
        assert got.stdout == "coverage: 100.0% (2 of 2 outcomes seen)\n"

    def test_each_operand_must_be_seen_true_and_false(self, tmp_path: Path) -> None:
        path = write(tmp_path, "r.rules", RULES + PASSING)
        got = run("--coverage", str(path))
        lines = got.stdout.splitlines()
        # VIP, Spring, Careful: each held in one test and not in the other (2 × 3);
        # Spring's subtotal test true and false (2), its currency test never false (1 of 2)
        assert lines[0] == "coverage: 90.0% (9 of 10 outcomes seen)"
        assert lines[1:] == [
            f"  {path}:9:37: in rule 'Spring', order currency = 'EUR' was never false in a test",
        ]

    def test_an_any_is_an_operand_judged_over_the_lines(self, tmp_path: Path) -> None:
        rules = (
            "label Fragile for item\nlabel Careful for order\n"
            "on order_created when any item has label Fragile and order subtotal >= 50.00 "
            "then add label Careful to order\n"
        )
        tests = (
            'test "fragile" on order_created given order currency is EUR '
            "and order subtotal is 60.00 "
            "given item has label Fragile and item quantity is 2 "
            "given item quantity is 1 "
            "expect add label Careful to order end\n"
            'test "plain" on order_created given order currency is EUR '
            "and order subtotal is 60.00 given item quantity is 1 "
            "expect no add label Careful to order end\n"
        )
        path = write(tmp_path, "r.rules", rules + tests)
        doc = json.loads(run("--coverage", "--format", "json", str(path)).stdout)
        assert doc["summary"]["passed"] == 2
        # the rule held and not; 'any item has label Fragile' true and false;
        # 'order subtotal >= 50.00' never false
        assert (doc["coverage"]["seen"], doc["coverage"]["total"]) == (5, 6)
        assert [g["part"] for g in doc["coverage"]["not_seen"]] == ["order subtotal >= 50.00"]

    def test_threshold(self, tmp_path: Path) -> None:
        path = write(tmp_path, "r.rules", RULES + PASSING)
        assert run("--coverage-threshold", "90", str(path)).exit_code == 0
        under = run("--coverage-threshold", "95.5", str(path))
        assert under.exit_code == 1
        assert "coverage 90.0% is under the threshold of 95.5%" in under.stderr

    def test_json_lists_what_no_test_saw(self, tmp_path: Path) -> None:
        path = write(tmp_path, "r.rules", RULES + PASSING)
        doc = json.loads(run("--coverage", "--format", "json", str(path)).stdout)
        cover = doc["coverage"]
        assert (cover["seen"], cover["total"], cover["percent"]) == (9, 10, 90.0)
        assert cover["rules"]["Spring"] == {"seen": 5, "total": 6}
        assert cover["not_seen"][0]["line"] == 9 and cover["not_seen"][0]["never"] is False


class TestShipped:
    def test_the_shipped_rules_pass_their_tests_with_full_coverage(self) -> None:
        got = run("--coverage-threshold", "100", str(rulec.shipped_rules()))
        assert got.exit_code == 0, got.output
        assert got.stdout.splitlines()[0] == "coverage: 100.0% (86 of 86 outcomes seen)"

    @pytest.mark.parametrize("name", ["vip", "orders", "labels", "scheduled", "listings"])
    def test_every_shipped_file_has_tests(self, name: str) -> None:
        text = (rulec.shipped_rules() / f"{name}.rules").read_text(encoding="utf-8")
        assert "\ntest " in text
