"""The fast parser gives exactly what the Lark parser gives.

``rulec.dsl.fastparse`` runs the grammar's LALR tables itself for speed. On
clean input it must return the same items, with the same positions on every
node, the same comments and the same diagnostics as the Lark tree path, or
return None so that the Lark path reports the problem. On input with errors
the parser runs it up to each error and hands only the region around it to
Lark (``parser._parse_fast``): the items recovered, the diagnostics and the
comments must then be exactly those of the Lark parser alone
(``parser._parse_lark``). Checked on the golden files, on generated valid
files (with comments sprinkled in), on damaged and broken files and at the
nesting limit.

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
from rulec.dsl.fastparse import Driver, Run
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


def parsed(text: str, parse: Any) -> tuple[list[Any], list[Any], list[Comment]]:
    comments: list[Comment] = []
    items, diagnostics = parse(text, "t.rules", comments)
    return items, diagnostics, comments


def assert_recovers_as_lark(text: str) -> tuple[list[Any], list[Any]]:
    """The parser on the fast path gives what the Lark parser alone gives, errors or not:
    the items recovered, every diagnostic (with its source line) and the comments."""
    text = text.removeprefix("\ufeff")
    fast = parsed(text, parser._parse_fast)
    slow = parsed(text, parser._parse_lark)
    assert fast[0] == slow[0]
    assert positions(fast[0]) == positions(slow[0])
    assert [d.to_dict() for d in fast[1]] == [d.to_dict() for d in slow[1]]
    assert [(d.suggestion, d.source_line) for d in fast[1]] == [
        (d.suggestion, d.source_line) for d in slow[1]
    ]
    assert fast[2] == slow[2]
    assert positions(fast[2]) == positions(slow[2])
    # and without comments, as a check or a load parses
    items, diagnostics = parser._parse_fast(text, "t.rules", None)
    assert items == slow[0] and positions(items) == positions(slow[0])
    assert [d.to_dict() for d in diagnostics] == [d.to_dict() for d in slow[1]]
    return slow[0], slow[1]


def text_of(path: Path) -> str:
    data = path.read_bytes()
    return data.decode("utf-8", "replace").removeprefix("\ufeff")


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_files(path: Path) -> None:
    taken = assert_same_or_none(text_of(path))
    if path.parent.name == "good":
        assert taken, "a clean file must take the fast path"
    assert_recovers_as_lark(text_of(path))


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
    assert_recovers_as_lark(text)


@SETTINGS
@given(st.lists(st.sampled_from([*SOUP, " ", "\n", "# on then\n", "\t"]), max_size=40))
def test_token_soup(pieces: list[str]) -> None:
    assert_same_or_none(" ".join(pieces))
    assert_recovers_as_lark(" ".join(pieces))


#: Lines that break a file, each in its own way: syntax errors of every code,
#: an unterminated string, a stray character, items nested too deep, an
#: item start inside a block, a block that never ends.
BROKEN_LINES = [
    'on order_created when customer has label A discount 10% "x"',  # R103
    'on order_created then discount 10 "x"',  # R104
    "on order_created then discount 10% VIP",  # R105
    'on order_created then discount 10% "open',  # R106
    'on order_created when order subtotal > $5 then discount 1% "x"',  # R101
    'on order_created then discount 1% "nul \x00"',  # R101 from the transformer
    'on order_created then discount 1% "bad \\q"',  # R108 from the transformer
    'on order_created when ( customer has label A then discount 1% "x"',  # R100
    'on order_created then discount cheapest item "3 for 2"',
    "on order_created then add label A",
    "on order_created then set order status confirmed",
    'rule "open block" on order_created then discount 1% "x"',  # no 'end'
    'rule "inner on"\non order_created\nthen discount 1% "x" "y"\nend',  # 'on' in column 1
    "on order_created when customer has\n  label A and\n  label B",  # 'label' lines
    "on order_created when "
    + "(" * 40
    + "customer has label A"
    + ")" * 40
    + ' then discount 1% "deep"',  # R111
    "on order_created when " + "not " * 40 + 'customer has label A then discount 1% "deep"',
    'rule "x" priority 99999999999 on order_created then discount 1% "p" end',  # R206
    "label",
    "end",
    "then then",
    "on",
    '"',
    "# only a comment: on rule label",
]


@st.composite
def broken_files(draw) -> str:
    """A valid file (maybe with comments) with broken lines put in or swapped in."""
    text = draw(commented_files() if draw(st.booleans()) else rules_files())
    crlf = "\r\n" in text
    lines = text.removeprefix("\ufeff").split("\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines)))
        bad = draw(st.sampled_from(BROKEN_LINES))
        if crlf:
            bad = bad.replace("\n", "\r\n") + "\r"
        if draw(st.booleans()) and i < len(lines):
            lines[i] = bad
        else:
            lines.insert(i, bad)
    text = "\n".join(lines)
    if draw(st.booleans()):  # cut short
        text = text[: draw(st.integers(0, len(text)))]
    return text


@SETTINGS
@given(broken_files())
def test_broken_files(text: str) -> None:
    assert_recovers_as_lark(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n  # nothing\n",
        'on order_created then discount 10 "x"',  # the first token of the first item
        '"x"\non order_created then discount 1% "after"',  # the first token of the file
        # an item not in column 1
        'on order_created then discount 1% "a"\n  on order_created then $\n',
        'on order_created then discount 1% "a" on order_created then discount 2 "b"',  # one line
        # an error right after a complete item: the next item start is not taken
        'on order_created then discount 1% "a" "b"\non order_created then discount 1% "c"',
        # a block whose 'end' is missing: the error is at the next item
        'rule "a" on order_created then discount 1% "a"\non order_created then discount 1% "b"\n'
        'label A for customer\nrule "c" on order_created then discount 1% "c" end',
        # 'on' in column 1 inside a block: recovery cuts there, so the block is lost too
        'on order_created then discount 1% "kept"\nrule "r"\non order_created\n'
        'then discount 10 "x"\nend\non order_created then discount 1% "after"',
        # an item nested too deep before, between and after errors
        "label A for customer\n"
        + "on order_created when "
        + "(" * 33
        + "customer has label A"
        + ")" * 33
        + ' then discount 1% "deep"\n'
        'on order_created then discount 10 "x"\n'
        + "on order_created when "
        + "not " * 33
        + 'customer has label A then discount 1% "deep2"\n'
        'on order_created then discount 1% "ok"\non order_created then $\n'
        "on order_created when "
        + "(" * 34
        + "customer has label A"
        + ")" * 34
        + ' then discount 1% "deep3"',
        # a deep item that is also broken: only the syntax error
        "on order_created when "
        + "(" * 40
        + "customer has label A"
        + ")" * 39
        + ' then discount 1% "x"\non order_created then discount 1% "y"',
        # escapes and NULs in items before and after an error
        'on order_created then discount 1% "a\\q"\non order_created then discount 1 "b"\n'
        'on order_created then discount 1% "c\x00"',
        # errors on every line, past the limit of 20
        'on order_created then discount 10 "x"\n' * 30,
        'on order_created then discount 10 "x" # a comment\n# between\n' * 25,
        # a cut in the middle of the last rule, and of a block
        'on order_created then discount 1% "a"\non order_created when customer has lab',
        'rule "r"\n  on order_created # c\n  then discount 1% "a"\n  # before end',
        # comments around errors
        '# head\non order_created # one\n then discount 1% "a" # two\n'
        "on order_created # three\n when customer has # four\n $ # five\n# six\n"
        'label A for customer # seven\non order_created then discount 1% "b" # eight',
        'label A, B for customer\r\non order_created then discount 10 "x"\r\n'
        'on order_created then discount 1% "crlf"\r\n',
    ],
)
def test_errors_recover_as_with_lark(text: str) -> None:
    assert_recovers_as_lark(text)


def test_twenty_errors_stop_where_lark_stops() -> None:
    text = 'on order_created then discount 1% "ok"\non order_created then discount 10 "x"\n' * 30
    items, diagnostics = assert_recovers_as_lark(text)
    assert [d.code for d in diagnostics] == ["R104"] * 20 + ["R113"]
    assert len(items) == 20


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

    def spy(text: str, file: str, *args: object) -> object:
        raise AssertionError(f"{file}: clean input reached the Lark parser")

    # the Lark parser is reached through these two only
    monkeypatch.setattr(parser, "_parse_slow", spy)
    monkeypatch.setattr(parser, "_parse_tree", spy)
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
    """The test above would notice: the Lark parser reports an error through
    ``_parse_tree`` (and parses alone through ``_parse_slow`` without the driver)."""
    seen: list[str] = []
    real = parser._parse_tree

    def spy(text: str, file: str, *args: Any) -> Any:
        seen.append(file)
        return real(text, file, *args)

    monkeypatch.setattr(parser, "_parse_tree", spy)
    parser.parse_source('on order_created then discount 10 "x"', "bad.rules")
    assert seen == ["bad.rules"]


# --------------------------- an error costs its own region, not the file ---


def lark_regions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Where each text the Lark parser is given starts and ends (issue 13, bug 8).

    A region of the file is given with the text before it blanked, so it
    starts at its first character that is not a space. The Lark parser alone
    (``_parse_slow``) is refused: with the driver it is never needed.
    """
    regions: list[tuple[int, int]] = []
    real = parser._parse_tree

    def spy(text: str, file: str, *args: Any) -> Any:
        regions.append((len(text) - len(text.lstrip()), len(text)))
        return real(text, file, *args)

    def refuse(*args: object) -> object:
        raise AssertionError("the whole file went to the Lark parser")

    monkeypatch.setattr(parser, "_parse_tree", spy)
    monkeypatch.setattr(parser, "_parse_slow", refuse)
    return regions


def test_one_error_gives_lark_only_its_item_and_the_one_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bug 8: one syntax error made ``rulec check`` 4 to 7 times slower: the Lark
    parser read the whole file, then again up to the error. Now it starts at the
    item before the one with the error; the driver reads the rest."""
    good = clean_file(300)
    last = good.rindex('rule "Campaign #299"')  # the item before the broken one
    broken = good + 'on order_created when customer has label A discount 10% "x"\n'
    text = broken + 'on order_created then discount 1% "after"\n'
    expected = parser._parse_lark(text, "t.rules", None)
    regions = lark_regions(monkeypatch)
    items, diagnostics = parser.parse_collect(text, "t.rules")
    assert [d.check_tuple() for d in diagnostics] == [("R103", broken.count("\n"), 44)]
    assert items == expected[0] and len(items) == 301 + 1
    assert diagnostics == expected[1]
    assert regions and all(start >= last for start, _ in regions), regions


def test_a_file_cut_in_the_middle_of_a_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    good = clean_file(300)
    text = good + "on order_created when customer order count = 0 and order currency is EUR th"
    expected = parser._parse_lark(text, "t.rules", None)
    regions = lark_regions(monkeypatch)
    items, diagnostics = parser.parse_collect(text, "t.rules")
    assert [d.code for d in diagnostics] == ["R100"]
    assert items == expected[0] and diagnostics == expected[1]
    assert all(start >= good.rindex('rule "Campaign #299"') for start, _ in regions), regions


def test_an_item_nested_too_deep_goes_alone_to_lark(monkeypatch: pytest.MonkeyPatch) -> None:
    good = clean_file(100)
    deep = "on order_created when " + "(" * 40 + "customer has label A" + ")" * 40
    text = good + deep + ' then discount 1% "deep"\n' + good.split("\n", 2)[2]
    expected = parser._parse_lark(text, "t.rules", None)
    regions = lark_regions(monkeypatch)
    items, diagnostics = parser.parse_collect(text, "t.rules")
    assert [d.code for d in diagnostics] == ["R111"]
    assert items == expected[0] and diagnostics == expected[1]
    assert regions == [(len(good), len(good) + len(deep) + len(' then discount 1% "deep"\n'))]


# ---------------------- where the driver and Lark might disagree: Lark wins ---


def stopping_early(monkeypatch: pytest.MonkeyPatch, at_item: int) -> None:
    """Make the driver's first run stop in item ``at_item`` although it parsed on."""
    real = Driver.run
    calls = []

    def run(self: Driver, text: str, transformer: Any, *args: Any, **kwargs: Any) -> Run:
        got = real(self, text, transformer, *args, **kwargs)
        calls.append(got)
        if len(calls) > 1 or len(got.starts) <= at_item:
            return got
        fake = Run(got.start)
        fake.items = got.items[:at_item]
        fake.starts = got.starts[: at_item + 1]
        fake.diagnostic_marks = got.diagnostic_marks[: at_item + 1]
        fake.comment_marks = got.comment_marks[: at_item + 1]
        fake.deep = {i for i in got.deep if i < at_item}
        fake.failed_at = fake.starts[-1] + 1
        return fake

    monkeypatch.setattr(Driver, "run", run)


@pytest.mark.parametrize("at_item", [0, 1, 5])
def test_a_driver_stopping_where_lark_goes_on_still_gives_larks_result(
    monkeypatch: pytest.MonkeyPatch, at_item: int
) -> None:
    text = clean_file(8) + 'on order_created then discount 10 "x"\n' + clean_file(3)
    text += "on order_created when " + "not " * 40 + 'customer has label A then discount 1% "d"\n'
    expected = parsed(text, parser._parse_lark)
    stopping_early(monkeypatch, at_item)
    assert parsed(text, parser._parse_fast) == expected


def test_a_driver_stopping_past_larks_error_still_gives_larks_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The driver claims the item with the error parsed: Lark, started one item
    before, finds the error earlier than the driver stopped, and the parser does
    what the Lark parser alone does from the start of the region."""
    text = clean_file(6) + 'on order_created then discount 10 "x"\n' + clean_file(3)
    expected = parsed(text, parser._parse_lark)
    real = Driver.run
    calls = []

    def run(self: Driver, text: str, transformer: Any, *args: Any, **kwargs: Any) -> Run:
        got = real(self, text, transformer, *args, **kwargs)
        calls.append(got)
        if len(calls) > 1 or got.failed_at is None:
            return got
        # one more item than there is: the broken one, "parsed"
        got.items = [*got.items, got.items[-1]]
        got.starts.append(got.failed_at + 1)
        got.diagnostic_marks.append(len(transformer.diagnostics))
        got.comment_marks.append(got.comment_marks[-1])
        got.failed_at += 2
        return got

    monkeypatch.setattr(Driver, "run", run)
    assert parsed(text, parser._parse_fast) == expected


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
