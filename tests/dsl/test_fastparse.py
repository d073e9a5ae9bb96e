"""The fast parser gives exactly what the Lark parser gives, or steps aside.

``rulec.dsl.fastparse`` runs the grammar's LALR tables itself for speed. For
any input it must either return the same items, with the same positions on
every node, the same comments and the same diagnostics as the Lark tree
path, or return None so that the Lark path reports the problem. Checked on
the golden files, on generated valid files (with comments sprinkled in), on
damaged files and at the nesting limit.

It reads Lark internals, so it is quarantined: Lark is pinned to the minor
versions it is tested on (pyproject.toml), and clean input that stops
taking it fails a test here instead of silently parsing four times slower.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

import rulec
from rulec.dsl import parser
from rulec.dsl.nodes import Comment, Span
from rulec.dsl.sources import analyze, read_sources

from .test_fuzz import SETTINGS, SOUP, damaged, rules_files

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
FILES = sorted(GOLDEN.glob("*/*.rules"))
SHIPPED = sorted((Path(__file__).resolve().parents[2] / "rules").glob("*.rules"))


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


def lark_path(text: str) -> tuple[list[Any], list[Any], list[Comment]] | None:
    """Items, diagnostics and comments from the Lark tree path, None on a syntax error."""
    comments: list[Comment] = []
    try:
        items, diagnostics = parser._parse_tree(text, "t.rules", comments)
    except UnexpectedInput:
        return None
    return items, sorted(diagnostics, key=lambda d: (d.span.line, d.span.column)), comments


def assert_same_or_none(text: str) -> bool:
    """The fast path agrees with the Lark path; True when it took the input."""
    text = text.removeprefix("\ufeff")  # parse_collect drops it before either path
    comments: list[Comment] = []
    fast = parser._fast_parse(text, "t.rules", comments)
    if fast is None:
        assert comments == [], "comments from input the fast path gave up on"
        return False
    slow = lark_path(text)
    assert slow is not None, "the fast path accepted input the grammar rejects"
    assert fast[0] == slow[0]
    assert positions(fast[0]) == positions(slow[0])
    assert [d.to_dict() for d in fast[1]] == [d.to_dict() for d in slow[1]]
    assert comments == slow[2]
    assert positions(comments) == positions(slow[2])
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


comment_texts = st.text(st.characters(exclude_characters="\n"), max_size=12).map(lambda s: "#" + s)


@st.composite
def commented_files(draw) -> str:
    """A valid file with comments on their own lines and at the ends of lines."""
    out = []
    for line in draw(rules_files()).removeprefix("\ufeff").split("\n"):
        body, cr = (line[:-1], "\r") if line.endswith("\r") else (line, "")
        if draw(st.booleans()):
            indent = draw(st.sampled_from(["", "  ", "\t"]))
            out.append(indent + draw(comment_texts) + cr)
        if body.strip() and draw(st.booleans()):
            body += draw(st.sampled_from(["", " ", "\t", "   "])) + draw(comment_texts)
        out.append(body + cr)
    return "\n".join(out)


@SETTINGS
@given(commented_files())
def test_generated_commented_files(text: str) -> None:
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


COMMENTS_EVERYWHERE = [
    '# own line\non order_created then discount 1% "a"',
    'on order_created then discount 1% "a" # end of line',
    'on order_created then discount 1% "a"# no space',
    'on order_created then discount 1% "a" # end of file, no newline',
    'on order_created then discount 1% "a"\n# own last line, no newline',
    'on order_created then discount 1% "a" #',
    'on order_created then discount 1% "No #1" # a "#" in quoted text is text',
    'rule "x # y" # after the name\n  # inside the block\n  priority 1 # meta\n'
    "  on order_created # event\n  when customer has label A # condition\n"
    '  then discount 1% "a" # action\n  # before end\nend # after end',
    'rule "r" on order_created then discount 1% "a"\n# before end\nend',
    '# crlf\r\non order_created # a\r\n  then discount 1% "a" # b\r\n# c\r\n',
    "# only\n  # comments\n\t#\n",
    "#",
    "label A, B # the labels\n  for customer # whose\n",
    "on order_created when # in a condition\n (customer has label A # one\n"
    '  or customer has label B) # two\nthen discount 1% "a"',
    'on order_created then discount 1% "a" # \u00e9\u6f22\u2028 \\ " \x00 \r in a comment',
]


@pytest.mark.parametrize("text", COMMENTS_EVERYWHERE)
def test_comments_in_every_position(text: str) -> None:
    assert assert_same_or_none(text)
    slow = lark_path(text)
    assert slow is not None and slow[2], "the Lark path keeps comments"
    assert all(c.text.startswith("#") and "\n" not in c.text for c in slow[2])
    assert all(not c.text.endswith("\r") for c in slow[2])


# ---------------------------------------------------- the fast path is used ---


def clean_file(rules: int) -> str:
    """A clean file of ``rules`` varied rules, one-line and block, with comments."""
    out = ["# generated for the fast-path test", "label A, B, C for customer  # labels"]
    for i in range(rules):
        label = "ABC"[i % 3]
        if i % 4 == 3:
            out += [
                f'rule "Campaign #{i}"  # a block',
                f'  description "Block {i}: 10% off"',
                f"  priority {i % 50}",
                "  exclusive" if i % 2 else "  combinable",
                "  from 2026-01-01 until 2026-12-31 Europe/Paris",
                "  on order_created",
                "  # the condition",
                f"  when customer has label {label} and order subtotal >= {10 + i}.00",
                f'  then discount {1 + i % 30}% up to 20.00 EUR "Campaign {i}"',
                f"    and remove label {label} from customer",
                "end",
            ]
        elif i % 4 == 1:
            out.append(
                f"on order_created when (customer has any label of A, B or customer order count"
                f' > {i % 9}) and not customer has label {label} then discount 5.00 EUR "F{i}"'
            )
        else:
            out.append(
                f"on order_updated when order currency in (EUR, USD) and order subtotal between"
                f' 10.00 and {100 + i}.00 then discount {1 + i % 40}% "R{i}" # rule {i}'
            )
    return "\n".join(out) + "\n"


def test_clean_input_takes_the_fast_path_and_agrees_with_lark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fails when the fast path silently stops being used on clean input (a Lark
    upgrade it cannot read, a change that makes it give up): the shipped rules and
    a generated file of 300 rules never reach the Lark path, and give what it gives."""
    texts = {str(p): text_of(p) for p in SHIPPED}
    texts["generated.rules"] = clean_file(300)
    assert len(SHIPPED) >= 5 and all("#" in text for text in texts.values())
    expected = {path: lark_path(text) for path, text in texts.items()}

    def spy(text: str, file: str, comments: object) -> object:
        raise AssertionError(f"{file}: clean input reached the Lark path")

    monkeypatch.setattr(parser, "_parse_slow", spy)
    for path, text in texts.items():
        parsed = parser.parse_source(text, "t.rules")  # the spy raises on the Lark path
        slow = expected[path]
        assert slow is not None and parsed.items == slow[0], path
        assert positions(parsed.items) == positions(slow[0]), path
        assert list(parsed.comments) == slow[2], path
        assert positions(list(parsed.comments)) == positions(slow[2]), path
    # and through the front end a check and a load use
    analysis = analyze(read_sources(SHIPPED), rulec.DEFAULT_VOCABULARY, comments=True)
    assert analysis.ok and all(analysis.comments.values())


def test_the_spy_sees_the_lark_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above would notice: input with an error goes through ``_parse_slow``."""
    seen: list[str] = []
    real = parser._parse_slow

    def spy(text: str, file: str, comments: list[Comment] | None) -> object:
        seen.append(file)
        return real(text, file, comments)

    monkeypatch.setattr(parser, "_parse_slow", spy)
    parser.parse_source('on order_created then discount 10 "x"', "bad.rules")
    assert seen == ["bad.rules"]


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
