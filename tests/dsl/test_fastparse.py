"""The fast parser gives exactly what the Lark parser gives, or steps aside.

``rulec.dsl.fastparse`` runs the grammar's LALR tables itself for speed. For
any input it must either return the same items, with the same positions on
every node, and the same diagnostics as the Lark tree path, or return None
so that the Lark path reports the problem. Checked on the golden files, on
generated valid files, on damaged files and at the nesting limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

from rulec.dsl import parser
from rulec.dsl.nodes import Span

from .test_fuzz import SETTINGS, SOUP, damaged, rules_files

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
FILES = sorted(GOLDEN.glob("*/*.rules"))


def positions(value: Any, out: list[tuple[str, ...]] | None = None) -> list[tuple[Any, ...]]:
    """Every span in an AST, with the node type and field it sits on (spans are outside ==)."""
    out = [] if out is None else out
    if isinstance(value, list | tuple):
        for v in value:
            positions(v, out)
    elif attrs.has(type(value)):
        for f in attrs.fields(type(value)):
            v = getattr(value, f.name)
            if isinstance(v, Span):
                out.append((type(value).__name__, f.name, *attrs.astuple(v)))
            else:
                positions(v, out)
    return out


def lark_path(text: str) -> tuple[list[Any], list[Any]] | None:
    """Items and diagnostics from the Lark tree path, None on a syntax error."""
    try:
        items, diagnostics = parser._parse_tree(text, "t.rules")
    except UnexpectedInput:
        return None
    return items, sorted(diagnostics, key=lambda d: (d.span.line, d.span.column))


def assert_same_or_none(text: str) -> bool:
    """The fast path agrees with the Lark path; True when it took the input."""
    text = text.removeprefix("\ufeff")  # parse_collect drops it before either path
    fast = parser._fast_parse(text, "t.rules")
    if fast is None:
        return False
    slow = lark_path(text)
    assert slow is not None, "the fast path accepted input the grammar rejects"
    assert fast[0] == slow[0]
    assert positions(fast[0]) == positions(slow[0])
    assert [d.to_dict() for d in fast[1]] == [d.to_dict() for d in slow[1]]
    return True


def text_of(path: Path) -> str:
    data = path.read_bytes()
    return data.decode("utf-8", "replace").removeprefix("\ufeff")


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_files(path: Path) -> None:
    taken = assert_same_or_none(text_of(path))
    if path.parent.name == "good":
        assert taken, "a clean file must take the fast path"


def test_every_good_golden_file_takes_the_fast_path() -> None:
    good = [p for p in FILES if p.parent.name == "good"]
    assert good and all(parser._fast_parse(text_of(p), "t.rules") is not None for p in good)


@SETTINGS
@given(rules_files())
def test_generated_valid_files(text: str) -> None:
    assert assert_same_or_none(text), "a valid file must take the fast path"


@SETTINGS
@given(damaged())
def test_damaged_files(text: str) -> None:
    assert_same_or_none(text)


@SETTINGS
@given(st.lists(st.sampled_from([*SOUP, " ", "\n", "# on then\n", "\t"]), max_size=40))
def test_token_soup(pieces: list[str]) -> None:
    assert_same_or_none(" ".join(pieces))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n# only a comment\n",
        "# on rule label: keywords in comments are not tokens\n"
        'on order_created # then discount 5% "no"\n'
        '  then discount 10% "yes" # and on\n# rule "x"',
        'on order_created then discount 10% "a \\"quoted\\" \\\\ text"',
        'on order_created then discount 10% "bad \\q escape"',  # R108 from the transformer
        'rule "x" priority 99999999999 on order_created then discount 1% "p"\nend',  # R206
        "label A, B for customer\r\non order_created\r\n  when customer has label A\r\n"
        '  then discount 5% "crlf"',
        "on order_created when order created between 2026-01-01 and 2026-01-31 Europe/Paris\n"
        'then discount 5% "zone"',
        'on order_created when customer order count is not 3 then discount 1% "is not"',
        "on order_created when not (customer has label A or customer lacks label B)\n"
        "then add label C to customer and remove label A from customer",
    ],
)
def test_corner_cases(text: str) -> None:
    assert assert_same_or_none(text)


def nested(levels: int) -> str:
    return (
        "on order_created when "
        + "(" * levels
        + "customer has label A"
        + ")" * levels
        + ' then discount 1% "deep"'
    )


def test_nesting_at_the_limit_takes_the_fast_path() -> None:
    assert assert_same_or_none(nested(parser.MAX_NESTING))


def test_nesting_over_the_limit_is_left_to_the_lark_path() -> None:
    text = nested(parser.MAX_NESTING + 1)
    assert parser._fast_parse(text, "t.rules") is None
    _, diagnostics = parser.parse_collect(text, "t.rules")
    assert [d.code for d in diagnostics] == ["R111"]


def test_syntax_errors_are_left_to_the_lark_path() -> None:
    text = 'on order_created when customer has label A discount 10% "x"'
    assert parser._fast_parse(text, "t.rules") is None
    _, diagnostics = parser.parse_collect(text, "t.rules")
    assert [d.code for d in diagnostics] == ["R103"]


def test_without_the_fast_driver_lark_parses_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Another Lark version whose tables the driver cannot read: same results.
    text = text_of(GOLDEN / "good" / "black_friday.rules")
    expected = parser.parse_collect(text, "t.rules")

    def unreadable(lark: object) -> None:
        raise AttributeError("'LALR_Parser' object has no attribute 'parser'")

    monkeypatch.setattr(parser, "Driver", unreadable)
    parser._driver.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="rulec.dsl"):
            got = parser.parse_collect(text, "t.rules")
        assert got[0] == expected[0] and positions(got[0]) == positions(expected[0])
        assert "parsing with Lark only" in caplog.text
    finally:
        monkeypatch.undo()
        parser._driver.cache_clear()
    assert parser._driver() is not None
