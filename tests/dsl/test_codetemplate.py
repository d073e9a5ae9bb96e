"""Code objects made from a template: equal to what compiling them gives, or refused."""

from __future__ import annotations

from types import CodeType
from typing import Any

import pytest

from rulec.dsl.codetemplate import Template, pattern


def function(expr: str, line: int = 1, gap: int = 0, indent: int = 4, name: str = "rule_0001"):
    """The code object of ``def NAME(facts): return EXPR``, compiled from source.

    The ``def`` is on ``line``, the ``return`` ``gap`` lines below it and
    ``indent`` columns in; every line of a multi-line ``expr`` gets the same
    indentation, so all its columns move together.
    """
    body = expr.replace("\n", "\n" + " " * indent)
    source = "\n" * (line - 1) + f"def {name}(facts):\n" + "\n" * gap + " " * indent
    module = compile(source + f"return {body}\n", "t.rules", "exec", dont_inherit=True)
    (code,) = [c for c in module.co_consts if isinstance(c, CodeType)]
    return code


def codes(code: CodeType) -> list[CodeType]:
    out = [code]
    for c in code.co_consts:
        if isinstance(c, CodeType):
            out += codes(c)
    return out


def places(code: CodeType) -> tuple[list[int], list[int]]:
    """The lines and the columns (0 first) the positions of ``code`` use."""
    lines: set[int] = set()
    columns: set[int] = {0}
    for c in codes(code):
        lines.add(c.co_firstlineno)
        for line, end_line, column, end_column in c.co_positions():
            lines.update(x for x in (line, end_line) if x is not None)
            columns.update(x for x in (column, end_column) if x is not None)
    return sorted(lines), sorted(columns)


def assert_same(made: CodeType, expected: CodeType) -> None:
    for a, b in zip(codes(made), codes(expected), strict=True):
        assert a == b
        assert (a.co_name, a.co_qualname, a.co_filename) == (
            b.co_name,
            b.co_qualname,
            b.co_filename,
        )
        assert a.co_firstlineno == b.co_firstlineno
        assert a.co_linetable == b.co_linetable
        assert list(a.co_positions()) == list(b.co_positions())
        assert a.co_consts[1:] == b.co_consts[1:] or a.co_consts == b.co_consts
        assert a.co_names == b.co_names


def remake(
    template_expr: str,
    expr: str,
    consts: tuple[list[Any], list[Any]],
    names: tuple[list[str], list[str]] = ([], []),
    *,
    lines: int = 0,
    gap: tuple[int, int] = (0, 0),
    indent: tuple[int, int] = (4, 4),
    fixed: tuple[str, ...] = (),
) -> None:
    """Make ``expr``'s function from ``template_expr``'s and compare it with compiling it."""
    code = function(template_expr, line=3, gap=gap[0], indent=indent[0])
    expected = function(expr, line=3 + lines, gap=gap[1], indent=indent[1], name="rule_0042")
    t_lines, t_columns = places(code)
    template = Template.of(code, consts[0], names[0], t_lines, t_columns, fixed)
    assert template is not None
    # the same places, moved (and widened where a constant is longer): in the same order
    new_lines, new_columns = places(expected)
    assert (len(new_lines), len(new_columns)) == (len(t_lines), len(t_columns))
    assert new_lines[0] == t_lines[0] + lines
    made = template.make(consts[1], names[1], "rule_0042", new_lines, new_columns)
    assert_same(made, expected)


LABEL = "'A' in facts['customer.labels']"


class TestPattern:
    def test_equal_values_share_a_rank(self):
        assert pattern(["a", "b", "a", None, "b"]) == (0, 1, 0, 2, 1)

    def test_equality_is_by_type_as_compile_merges_constants(self):
        assert pattern([1, True, 1.0, "1"]) == (0, 1, 2, 3)

    def test_empty(self):
        assert pattern([]) == ()


class TestMake:
    def test_other_constants_and_line(self):
        remake(
            LABEL,
            "'B' in facts['order.labels']",
            (["A", "customer.labels"], ["B", "order.labels"]),
            lines=1000,
        )

    @pytest.mark.parametrize(
        "indent",
        [(4, 70), (4, 85), (4, 130), (130, 4), (85, 300)],
        ids=["short", "one-line-form", "long-form", "back-to-short", "wide"],
    )
    def test_columns_of_every_form_of_the_location_table(self, indent: tuple[int, int]):
        remake(
            LABEL,
            "'Bb' in facts['customer.labels']",
            (["A", "customer.labels"], ["Bb", "customer.labels"]),
            indent=indent,
        )

    @pytest.mark.parametrize("gap", [(0, 1), (0, 2), (0, 3), (5, 0), (0, 300)])
    def test_lines_between_the_def_and_the_condition(self, gap: tuple[int, int]):
        remake(LABEL, "'B' in facts['x']", (["A", "customer.labels"], ["B", "x"]), gap=gap)

    def test_a_condition_over_several_lines(self):
        remake(
            "('A' in facts['l'] and\n (_v1 := facts['s']) is not None and _v1 >= _k1)",
            "('B' in facts['m'] and\n (_v1 := facts['t']) is not None and _v1 >= _k9)",
            (["A", "l", "s", None], ["B", "m", "t", None]),
            (["_k1"], ["_k9"]),
            lines=7,
            indent=(4, 90),
        )

    def test_a_nested_lambda_gets_its_own_line_and_qualified_name(self):
        remake(
            "SOME_(facts['item.all'], lambda facts: 'A' in facts['item.labels'])",
            "SOME_(facts['item.all'], lambda facts: 'Z' in facts['item.labels'])",
            (["item.all", "A", "item.labels"], ["item.all", "Z", "item.labels"]),
            lines=40,
            indent=(4, 12),
            fixed=("SOME_",),
        )

    def test_repeated_constants_stay_merged(self):
        remake(
            "'A' in facts['l'] or 'A' in facts['m']",
            "'B' in facts['l'] or 'B' in facts['m']",
            (["A", "l", "A", "m"], ["B", "l", "B", "m"]),
        )

    def test_whole_numbers_and_booleans(self):
        remake(
            "facts['a'] == 1 and facts['b'] == True",
            "facts['a'] == 7 and facts['b'] == False",
            (["a", 1, "b", True], ["a", 7, "b", False]),
        )

    def test_location_tables_are_written_once_per_relative_position(self):
        code = function(LABEL, line=3)
        lines, columns = places(code)
        template = Template.of(code, ["A", "customer.labels"], [], lines, columns)
        assert template is not None
        one = template.make(["B", "customer.labels"], [], "rule_0002", [10, 10], columns)
        two = template.make(["C", "customer.labels"], [], "rule_0003", [90, 90], columns)
        assert one.co_linetable is two.co_linetable
        assert (one.co_firstlineno, two.co_firstlineno) == (10, 90)


class TestRefused:
    def test_a_constant_not_listed(self):
        code = function(LABEL)
        lines, columns = places(code)
        assert Template.of(code, ["customer.labels"], [], lines, columns) is None

    def test_a_name_not_listed(self):
        code = function("open(facts)")
        lines, columns = places(code)
        assert Template.of(code, [], [], lines, columns) is None
        assert Template.of(code, [], [], lines, columns, fixed_names=("open",)) is not None

    def test_a_line_or_column_not_listed(self):
        code = function(LABEL, gap=2)
        lines, columns = places(code)
        consts = ["A", "customer.labels"]
        assert Template.of(code, consts, [], lines[:1], columns) is None
        assert Template.of(code, consts, [], lines, columns[:-1]) is None

    def test_a_nested_function(self):
        outer = function("SOME_(facts['x'], lambda facts: 'A' in facts['y'])")
        (inner,) = [c for c in outer.co_consts if isinstance(c, CodeType)]
        lines, columns = places(inner)
        assert Template.of(inner, ["A", "y"], [], lines, columns) is None
