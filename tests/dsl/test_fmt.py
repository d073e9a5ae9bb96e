"""The formatter: one canonical layout, comments kept, meaning unchanged, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulec.dsl.fmt import FormatError, format_text
from rulec.dsl.parser import parse_source

from .test_fuzz import SETTINGS, rules_files

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = sorted((ROOT / "tests" / "golden" / "good").glob("*.rules"))
SHIPPED = sorted((ROOT / "rules").glob("*.rules"))


def assert_formats_faithfully(text: str) -> str:
    """fmt(text) parses to the same tree, keeps every comment, and is a fixed point."""
    out = format_text(text)
    before, after = parse_source(text.lstrip("\ufeff")), parse_source(out)
    assert after.diagnostics == []
    assert after.items == before.items  # positions aside
    assert sorted(c.text for c in after.comments) == sorted(c.text for c in before.comments)
    assert format_text(out) == out
    return out


class TestLayout:
    def test_a_short_rule_stays_on_one_line(self):
        text = (
            "label VIP for customer\n"
            'on  order_created  when customer has label VIP then discount 10% "VIP"\n'
        )
        assert format_text(text) == (
            "label VIP for customer\n"
            'on order_created when customer has label VIP then discount 10% "VIP"\n'
        )

    def test_a_long_rule_gets_one_clause_a_line(self):
        cond = " and ".join(f"customer has label L{n}" for n in range(6))
        text = f"label {', '.join(f'L{n}' for n in range(6))} for customer\n" + (
            f'on order_created when {cond} then discount 10% "A", add label L1 to customer\n'
        )
        assert format_text(text).splitlines()[1:] == [
            "on order_created",
            "  when customer has label L0",
            "   and customer has label L1",
            "   and customer has label L2",
            "   and customer has label L3",
            "   and customer has label L4",
            "   and customer has label L5",
            '  then discount 10% "A", add label L1 to customer',
        ]

    def test_a_block_puts_each_setting_on_its_own_line(self):
        text = (
            'rule "Black Friday" exclusive priority 10 description "d" '
            "from 2026-11-27 until 2026-11-30 Europe/Paris on order_created "
            'then discount 15% up to 30.00 EUR "BF" end\n'
        )
        assert format_text(text) == (
            'rule "Black Friday"\n'
            "  exclusive\n"
            "  priority 10\n"
            '  description "d"\n'
            "  from 2026-11-27 until 2026-11-30 Europe/Paris\n"
            "  on order_created\n"
            '  then discount 15% up to 30.00 EUR "BF"\n'
            "end\n"
        )

    def test_groups_one_declaration_a_line_and_a_rule_in_its_group(self):
        text = (
            "group  Loyalty\ngroup Seasonal  after Loyalty,Members # the base\ngroup Members\n"
            'rule "A" in  group Seasonal on order_created then discount 1% "a" end\n'
        )
        out = assert_formats_faithfully(text)
        assert out == (
            "group Loyalty\n"
            "group Seasonal after Loyalty, Members  # the base\n"
            "group Members\n"
            'rule "A"\n'
            "  in group Seasonal\n"
            "  on order_created\n"
            '  then discount 1% "a"\n'
            "end\n"
        )

    def test_and_inside_or_is_bracketed_and_equality_reads_as_the_value_wants(self):
        text = (
            "label A, B for customer\n"
            "on order_created when customer has label A or customer has label B "
            'and order currency = EUR and order subtotal is 10 then discount 1% "x"\n'
        )
        assert format_text(text).splitlines()[1:] == [
            "on order_created",
            "  when customer has label A",
            "    or (customer has label B and order currency is EUR and order subtotal = 10)",
            '  then discount 1% "x"',
        ]

    def test_texts_are_escaped_and_fields_spaced(self):
        text = (
            "on order_created when order created_at between 2026-01-01 and 2026-02-01 "
            'Europe/Paris then set order status to pending, discount 5% "say \\"hi\\" \\\\ bye"\n'
        )
        out = assert_formats_faithfully(text)
        assert out == (
            "on order_created\n"
            "  when order created at between 2026-01-01 and 2026-02-01 Europe/Paris\n"
            '  then set order status to pending, discount 5% "say \\"hi\\" \\\\ bye"\n'
        )

    def test_comments_stay_where_they_were(self):
        text = (
            "# Customers\n"
            "label VIP for customer  # the VIPs\n"
            "\n"
            "\n"
            "# the VIP rule\n"
            'rule "vip"\n'
            "  # first the trigger\n"
            "  on order_created\n"
            "  when customer has label VIP  # only them\n"
            '  then discount 10% "VIP"\n'
            "  # nothing after\n"
            "end\n"
            'on order_updated then discount 1% "x"  # small\n'
            "# the end\n"
        )
        assert assert_formats_faithfully(text) == (
            "# Customers\n"
            "label VIP for customer  # the VIPs\n"
            "\n"
            "# the VIP rule\n"
            'rule "vip"\n'
            "  # first the trigger\n"
            "  on order_created\n"
            "  when customer has label VIP  # only them\n"
            '  then discount 10% "VIP"\n'
            "  # nothing after\n"
            "end\n"
            'on order_updated then discount 1% "x"  # small\n'
            "# the end\n"
        )

    def test_a_file_with_syntax_errors_is_not_formatted(self):
        with pytest.raises(FormatError) as info:
            format_text("on order_created when then\n", "bad.rules")
        assert info.value.diagnostics and str(info.value).startswith("bad.rules:2:1: R107")

    def test_a_test_block_gets_one_clause_a_line_and_states_values_with_is(self):
        text = (
            "label VIP for customer  # who\n"
            'test  "vip"   on order_created at 2026-11-28  10:00 Europe/Paris\n'
            "given customer has label VIP and order subtotal = 120.00 # the order\n"
            "  given   order created by agent\n"
            'expect amount 12.0 EUR expect no discount expect lost "a" to "b"\n'
            "  # what it does\n"
            'expect not applied "c" expect no add label VIP to customer end\n'
        )
        out = assert_formats_faithfully(text)
        assert out.splitlines() == [
            "label VIP for customer  # who",
            'test "vip"',
            "  on order_created",
            "  at 2026-11-28 10:00 Europe/Paris",
            "  given customer has label VIP and order subtotal is 120.00  # the order",
            "  given order created by agent is true",
            "  expect amount 12.0 EUR",
            "  expect no discount",
            '  expect lost "a" to "b"',
            "  # what it does",
            '  expect not applied "c"',
            "  expect no add label VIP to customer",
            "end",
        ]

    def test_an_empty_file(self):
        assert format_text("") == "" and format_text("# only\n") == "# only\n"


class TestMeaningKept:
    @pytest.mark.parametrize("path", GOLDEN + SHIPPED, ids=lambda p: p.name)
    def test_golden_and_shipped_files(self, path):
        assert_formats_faithfully(path.read_text(encoding="utf-8"))

    @SETTINGS
    @given(rules_files())
    def test_generated_files(self, text):
        assert_formats_faithfully(text)

    @SETTINGS
    @given(rules_files(), st.data())
    def test_generated_files_with_comments_anywhere(self, text, data):
        lines = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
        marked = []
        for n, line in enumerate(lines):
            if data.draw(st.integers(0, 4)) == 0:
                marked.append(f"  # note {n}")
            if line.strip() and data.draw(st.integers(0, 4)) == 0:
                line = f"{line}  # end {n}"
            marked.append(line)
        assert_formats_faithfully("\n".join(marked))
