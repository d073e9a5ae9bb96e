"""The documentation's examples are run, so the docs stay true.

What is checked:

- ``docs/diagnostics.md`` has one section per code in ``CODES`` (and no
  other), titled and anchored as ``report.py``'s SARIF ``helpUri`` expects,
  with the code's severity. In each section the ``**Bad**`` ```rules block
  produces the code and exactly the ```text output shown after it, and the
  ``**Fixed**`` ```rules block checks with no diagnostic at all.
- Every ```rules block of ``docs/language.md`` checks with no error and no
  warning (unless it is marked, see below), also with CRLF line endings and a
  byte-order mark, and loads (compiles) as a rule set.
- The README tour's rule blocks check clean; its other blocks are skipped
  with the reason; its sample ``rulec check`` output is what the tool prints.
- Blocks marked ``output of`` equal what the command prints; the reserved
  words and limits in language.md match the grammar and the code.

Markers are HTML comments (invisible on GitHub) on the lines just before a
fenced block (blank lines may come between):

``<!-- expect-warnings: R307 R211 -->``
    language.md: the block must check with no error and exactly these
    warning codes. Without it a block must produce no diagnostic at all.
``<!-- vocabulary: NAME -->``
    check the block against the vocabulary called NAME instead of the
    default one.
``<!-- defines-vocabulary: NAME -->``
    on a ```python block of language.md: running it (with ``text = ""`` and
    the repository as current folder) defines the variable NAME, a
    ``rulec.Vocabulary``; that is the vocabulary NAME above.
``<!-- encoding: latin-1 -->``
    the block is stored in that encoding before it is checked (R102's bad
    example: ``check_text`` takes a ``str`` and cannot see a bad byte).
``<!-- file: PATH -->``
    the block is written to PATH in the folder where ``output of`` commands run.
``<!-- output of: rulec ARGS -->``
    the block equals the standard output of ``rulec ARGS``, run in a
    temporary folder holding a copy of ``rules/`` and the doc's ``file`` blocks.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import rulec
from rulec.cli import main
from rulec.dsl.check import MAX_RULES
from rulec.dsl.diagnostics import CODES, Diagnostic
from rulec.dsl.nodes import Rule
from rulec.dsl.parser import MAX_FILE_BYTES, MAX_NESTING, MAX_PRIORITY, MAX_SYNTAX_ERRORS
from rulec.dsl.report import Format, render
from rulec.dsl.sources import Source, analyze
from rulec.tools.deeplint import with_deep_lint

ROOT = Path(__file__).resolve().parents[2]
LANGUAGE = ROOT / "docs" / "language.md"
DIAGNOSTICS = ROOT / "docs" / "diagnostics.md"
README = ROOT / "README.md"

#: Codes whose sections have no checked example, and why.
UNCHECKED = {
    "R001": "a usage error of the command, not a finding in a file",
    "R110": "a file over 16 MiB",
    "R112": "a rule set of over 200,000 rules",
    "R113": "a file with more than 20 syntax errors",
    "R401": "reported by the engine at run time, not by rulec check",
    "R326": "a rule set large enough to reach deep lint's limits",
}

_MARKER = re.compile(r"^<!--\s*([\w-]+(?: [\w-]+)*)\s*:\s*(.*?)\s*-->$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


class Block:
    """A fenced code block and what precedes it."""

    def __init__(
        self,
        doc: str,
        line: int,
        info: str,
        text: str,
        markers: dict[str, str],
        label: str,
        section: str,
    ) -> None:
        self.doc = doc
        self.line = line  # of the opening fence, 1-based
        self.info = info
        self.text = text
        self.markers = markers
        self.label = label  # the last line of prose before the block
        self.section = section  # the last '## ' heading before the block

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    def __repr__(self) -> str:
        return f"<Block {self.where} {self.info!r}>"


def blocks(path: Path) -> list[Block]:
    """Every ``` fenced block of a Markdown file, with its markers."""
    out: list[Block] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    markers: dict[str, str] = {}
    label = ""
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            info = stripped[3:].strip()
            body: list[str] = []
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"{path.name}:{start}: unclosed code block"
            text = "\n".join(body) + "\n"
            out.append(Block(path.name, start, info, text, markers, label, section))
            markers, label = {}, ""
        elif m := _MARKER.match(stripped):
            markers = {**markers, m.group(1): m.group(2)}
        elif m := _HEADING.match(stripped):
            if len(m.group(1)) == 2:
                section = m.group(2)
            markers, label = {}, ""
        elif stripped:
            markers, label = {}, stripped
        i += 1
    return out


def rules_blocks(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.info == "rules"]


# ----------------------------------------------------------- vocabularies ---


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _vocabularies() -> dict[str, rulec.Vocabulary]:
    found: dict[str, rulec.Vocabulary] = {}
    for b in blocks(LANGUAGE):
        name = b.markers.get("defines-vocabulary")
        if name is None:
            continue
        assert b.info == "python", f"{b.where}: defines-vocabulary goes on a python block"
        namespace: dict[str, object] = {"text": ""}
        with _cwd(ROOT):
            exec(compile(b.text, b.where, "exec"), namespace)
        vocab = namespace.get(name)
        assert isinstance(vocab, rulec.Vocabulary), f"{b.where}: defines no Vocabulary {name!r}"
        found[name] = vocab
    return found


VOCABULARIES = _vocabularies()


def vocabulary(b: Block) -> rulec.Vocabulary | None:
    name = b.markers.get("vocabulary")
    if name is None:
        return None
    assert name in VOCABULARIES, f"{b.where}: unknown vocabulary {name!r}"
    return VOCABULARIES[name]


#: The codes of deep lint, shown as ``rulec check`` reports them on 2026-12-01 and,
#: for R324 and R325, against a database with two customer labels.
DEEP_CODES = ("R320", "R321", "R322", "R323", "R324", "R325")
DOCS_DAY = date(2026, 12, 1)


def _labels_db() -> Any:
    from sqlalchemy.orm import Session

    from rulec.storage.base import Base
    from rulec.storage.models import Label
    from rulec.storage.session import make_engine

    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s, s.begin():
        s.add_all([Label(name="Customer_VIP"), Label(name="Customer_Gold")])
    return engine


def diagnose(b: Block, path: str) -> tuple[list[Diagnostic], dict[str, str]]:
    """The block's diagnostics as ``rulec check`` sees them, and the source texts."""
    code = b.section[:4]
    if code in DEEP_CODES:
        analysis = analyze([Source.from_text(b.text, path)], rulec.DEFAULT_VOCABULARY)
        db = _labels_db if code in ("R324", "R325") else None
        found = with_deep_lint(analysis, rulec.DEFAULT_VOCABULARY, as_of=DOCS_DAY, db=db)
        return found, analysis.texts()
    encoding = b.markers.get("encoding")
    if encoding is None:
        return rulec.check_text(b.text, path, vocabulary(b)), {path: b.text}
    source = Source.from_bytes(b.text.encode(encoding), path)
    analysis = analyze([source], vocabulary(b) or rulec.DEFAULT_VOCABULARY)
    return list(analysis.diagnostics), analysis.texts()


def show(ds: list[Diagnostic]) -> list[tuple[str, int, int, str]]:
    return [(*d.check_tuple(), d.full_message) for d in ds]


# ---------------------------------------------------- diagnostics.md ---


def _sections() -> dict[str, list[Block]]:
    out: dict[str, list[Block]] = {}
    for b in blocks(DIAGNOSTICS):
        m = re.match(r"(R\d{3}): ", b.section)
        if m:
            out.setdefault(m.group(1), []).append(b)
    return out


SECTIONS = _sections()
DIAG_TEXT = DIAGNOSTICS.read_text(encoding="utf-8")
CODE_HEADINGS = re.findall(r"^## (R\d{3}): (.*)$", DIAG_TEXT, re.MULTILINE)


class TestDiagnosticsSections:
    def test_every_code_has_a_section_and_every_section_a_code(self) -> None:
        documented = [code for code, _ in CODE_HEADINGS]
        assert len(documented) == len(set(documented)), "a code has two sections"
        assert set(documented) == set(CODES)

    def test_sections_follow_codes_order(self) -> None:
        assert [code for code, _ in CODE_HEADINGS] == list(CODES)

    @pytest.mark.parametrize("code", list(CODES))
    def test_heading_anchor_and_severity(self, code: str) -> None:
        severity, title = CODES[code]
        assert (code, title) in CODE_HEADINGS, f"heading must be '## {code}: {title}'"
        # report.py links SARIF results to docs/diagnostics.md#r101
        assert f'<a id="{code.lower()}"></a>\n## {code}: {title}\n' in DIAG_TEXT
        body = DIAG_TEXT.split(f"## {code}: {title}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**Severity:** {severity}\n" in body

    def test_the_codes_table_lists_every_code(self) -> None:
        for code, (severity, title) in CODES.items():
            assert f"| [{code}](#{code.lower()}) | {title} | {severity} |" in DIAG_TEXT

    def test_unchecked_sections_are_exactly_the_known_ones(self) -> None:
        without = {c for c in CODES if not any(b.info == "rules" for b in SECTIONS.get(c, []))}
        assert without == set(UNCHECKED)
        for code in ("R001", "R110", "R112", "R113", "R326"):
            labels = [(b.label, b.info) for b in SECTIONS[code]]
            assert labels == [("**Bad**", "text"), ("**Fixed**", "text")], code
        body = DIAG_TEXT.split("## R401:", 1)[1].split("\n## ", 1)[0]
        assert "Reserved for the engine" in body
        assert "R401" not in SECTIONS


CHECKED_CODES = [c for c in CODES if c not in UNCHECKED]


def _example(code: str) -> tuple[Block, Block, Block]:
    """The section's bad block, its output block and its fixed block."""
    bs = SECTIONS[code]
    assert [b.label for b in bs] == ["**Bad**", "`rulec check bad.rules` prints:", "**Fixed**"], (
        f"{code}: expected **Bad** rules block, its output, **Fixed** rules block"
    )
    bad, out, fixed = bs
    assert (bad.info, out.info, fixed.info) == ("rules", "text", "rules"), code
    return bad, out, fixed


class TestDiagnosticsExamples:
    @pytest.mark.parametrize("code", CHECKED_CODES)
    def test_bad_example_produces_the_code(self, code: str) -> None:
        bad, _, _ = _example(code)
        ds, _ = diagnose(bad, "bad.rules")
        assert code in [d.code for d in ds], show(ds)

    @pytest.mark.parametrize("code", CHECKED_CODES)
    def test_bad_example_output_is_shown_exactly(self, code: str) -> None:
        bad, out, _ = _example(code)
        ds, texts = diagnose(bad, "bad.rules")
        assert render(Format.TEXT, ds, texts) == out.text

    @pytest.mark.parametrize("code", CHECKED_CODES)
    def test_fixed_example_is_clean(self, code: str) -> None:
        _, _, fixed = _example(code)
        assert "encoding" not in fixed.markers, "a fixed example is saved as UTF-8"
        ds, _ = diagnose(fixed, "fixed.rules")
        assert show(ds) == []


# -------------------------------------------------------- language.md ---

LANGUAGE_RULES = rules_blocks(LANGUAGE)


def _expected_warnings(b: Block) -> list[str]:
    return sorted(b.markers.get("expect-warnings", "").split())


class TestLanguageExamples:
    def test_there_are_examples(self) -> None:
        assert len(LANGUAGE_RULES) >= 20

    @pytest.mark.parametrize("block", LANGUAGE_RULES, ids=lambda b: b.where)
    def test_example_checks(self, block: Block) -> None:
        ds, _ = diagnose(block, "example.rules")
        assert [d for d in ds if d.severity == "error"] == [], show(ds)
        assert sorted(d.code for d in ds) == _expected_warnings(block), show(ds)

    @pytest.mark.parametrize("block", LANGUAGE_RULES, ids=lambda b: b.where)
    def test_example_checks_with_crlf_and_bom(self, block: Block) -> None:
        text = "\ufeff" + block.text.replace("\n", "\r\n")
        ds = rulec.check_text(text, "example.rules", vocabulary(block))
        plain, _ = diagnose(block, "example.rules")
        assert [d.check_tuple() for d in ds] == [d.check_tuple() for d in plain]

    @pytest.mark.parametrize("block", LANGUAGE_RULES, ids=lambda b: b.where)
    def test_example_loads(self, block: Block) -> None:
        rules = rulec.load_text(block.text, "example.rules", vocabulary(block))
        parsed = [i for i in rulec.parse(block.text) if isinstance(i, Rule)]
        assert len(rules) == len(parsed)

    def test_tests_in_examples_pass(self, tmp_path: Path) -> None:
        from click.testing import CliRunner

        from rulec.cli import main

        with_tests = [b for b in LANGUAGE_RULES if "\ntest " in b.text]
        assert with_tests
        for b in with_tests:
            path = tmp_path / "example.rules"
            path.write_text(b.text, encoding="utf-8")
            got = CliRunner().invoke(main, ["test", str(path)])
            assert got.exit_code == 0, (b.where, got.output)
            assert " 0 failed, 0 errors" in got.stderr

    def test_reserved_words_are_the_grammars_keywords(self) -> None:
        grammar = (ROOT / "grammar" / "rules.lark").read_text(encoding="utf-8")
        grammar = re.sub(r"//[^\n]*", "", grammar)
        keywords = set(re.findall(r'"([a-z]+)"', grammar))
        section = LANGUAGE.read_text(encoding="utf-8").split("## Reserved words", 1)[1]
        listed = next(b for b in blocks(LANGUAGE) if b.section == "Reserved words")
        assert listed.info == "text" and "## Limits" in section
        assert set(listed.text.split()) == keywords

    def test_limits_match_the_code(self) -> None:
        text = LANGUAGE.read_text(encoding="utf-8")
        limits = text.split("## Limits", 1)[1].split("\n## ", 1)[0]
        assert f"| size of one file | {MAX_FILE_BYTES:,} bytes" in limits
        assert f"| nesting of a condition | {MAX_NESTING} levels" in limits
        assert f"| rules in a rule set | {MAX_RULES:,} |" in limits
        assert f"| syntax errors reported per file | {MAX_SYNTAX_ERRORS};" in limits
        assert f"-{MAX_PRIORITY:,} to {MAX_PRIORITY:,}" in limits
        for code in ("R110", "R111", "R112", "R113"):
            assert code in limits

    def test_nesting_limit_is_as_documented(self) -> None:
        def nested(n: int) -> str:
            return (
                "label X for customer\non order_created when "
                + "(" * n
                + "customer has label X"
                + ")" * n
                + ' then discount 1% "x"\n'
            )

        assert rulec.check_text(nested(MAX_NESTING)) == []
        assert [d.code for d in rulec.check_text(nested(MAX_NESTING + 1))] == ["R111"]


# ------------------------------------------------- documented meaning ---


def _facts(**given: object) -> dict[str, object]:
    facts: dict[str, object] = {
        "order.subtotal": None,
        "order.currency": None,
        "order.created_at": None,
        "customer.order_count": None,
        "customer.labels": frozenset(),
    }
    facts.update({k.replace("__", "."): v for k, v in given.items()})
    return facts


def _matches(condition: str, labels: str = "", **facts: object) -> bool:
    decl = "label A, B, C for customer\n"
    rules = rulec.load_text(f'{decl}on order_created when {condition} then discount 1% "x"')
    given = _facts(**facts)
    if labels:
        given["customer.labels"] = frozenset(labels.split())
    return bool(rules.matching("order_created", given))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class TestDocumentedMeaning:
    """What language.md says the constructs mean, on a few sharp cases."""

    def test_labels(self) -> None:
        assert _matches("customer lacks any label of A, B", labels="C")
        assert not _matches("customer lacks any label of A, B", labels="B")
        assert _matches("customer has any label of A, B", labels="B")
        assert _matches("not customer has label A", labels="B")

    def test_precedence(self) -> None:
        # A or (B and C), and (not A) and B
        assert _matches(
            "customer has label A or customer has label B and customer has label C", labels="A"
        )
        assert not _matches("not customer has label A and customer has label B", labels="A")

    def test_in_and_between(self) -> None:
        for v in ("CHF", "NOK"):
            assert not _matches("order currency not in (CHF, NOK)", order__currency=v)
        assert _matches('order currency in (EUR, USD, "GBP")', order__currency="GBP")
        for v in ("50.00", "99.99"):
            assert _matches("order subtotal between 50.00 and 99.99", order__subtotal=Decimal(v))
        assert not _matches(
            "order subtotal not between 50.00 and 99.99", order__subtotal=Decimal("50")
        )

    def test_dates_cover_their_day(self) -> None:
        day = "order created = 2026-11-27"
        assert _matches(day, order__created_at=_utc("2026-11-27T23:59:59"))
        assert not _matches(day, order__created_at=_utc("2026-11-26T23:30"))
        assert _matches(f"{day} Europe/Paris", order__created_at=_utc("2026-11-26T23:30"))
        late = _utc("2026-11-27T23:59")
        assert _matches("order created <= 2026-11-27", order__created_at=late)
        assert not _matches("order created > 2026-11-27", order__created_at=late)
        assert _matches("order created > 2026-11-27", order__created_at=_utc("2026-11-28T00:00"))
        assert _matches(
            "order created between 2026-11-27 and 2026-11-30",
            order__created_at=_utc("2026-11-30T23:59"),
        )
        assert _matches(
            "order created < 2026-11-27T10:00+02:00", order__created_at=_utc("2026-11-27T07:59")
        )
        assert not _matches(
            "order created < 2026-11-27T10:00+02:00", order__created_at=_utc("2026-11-27T08:00")
        )

    def test_missing_facts(self) -> None:
        never = [
            "order subtotal >= 50",
            "order subtotal < 50",
            "order subtotal between 1 and 99",
            "order subtotal not between 1 and 99",
            "order subtotal = 50",
            "order subtotal in (50)",
            "order created != 2026-11-27",
            "order created < 2026-11-27",
        ]
        for condition in never:
            assert not _matches(condition), condition
        for condition in [
            "order subtotal != 50",
            "order currency is not EUR",
            "order currency not in (EUR)",
            "not order subtotal >= 50",
        ]:
            assert _matches(condition), condition

    def test_validity_windows(self) -> None:
        def window(text: str) -> tuple[object, object]:
            (rule,) = rulec.load_text(
                f'rule "w" {text} on order_created then discount 1% "x" end'
            ).rules
            return rule.valid_from, rule.valid_until

        # the zone after the until-date applies to both ends; until covers its day
        assert window("from 2026-11-27 until 2026-11-30 Europe/Paris") == (
            _utc("2026-11-26T23:00"),
            _utc("2026-11-30T23:00"),
        )
        # a zone after the from-date applies to the start only
        assert window("from 2026-11-27 Europe/Paris until 2026-11-30") == (
            _utc("2026-11-26T23:00"),
            _utc("2026-12-01T00:00"),
        )
        # until a date-time: up to, not including, that instant
        assert window("until 2026-11-30 18:00") == (None, _utc("2026-11-30T18:00"))


# ------------------------------------------------------ command output ---


def _output_blocks() -> list[Block]:
    return [b for doc in (LANGUAGE, DIAGNOSTICS) for b in blocks(doc) if "output of" in b.markers]


@pytest.mark.parametrize("block", _output_blocks(), ids=lambda b: b.where)
def test_documented_command_output(block: Block, tmp_path: Path) -> None:
    command = shlex.split(block.markers["output of"])
    assert command[0] == "rulec", block.where
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    doc = LANGUAGE if block.doc == LANGUAGE.name else DIAGNOSTICS
    for b in blocks(doc):
        if "file" in b.markers:
            target = tmp_path / b.markers["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(b.text, encoding="utf-8")
    with _cwd(tmp_path):
        result = CliRunner().invoke(main, command[1:])
    assert result.exit_code in (0, 1), result.output
    assert result.stdout == block.text


# ------------------------------------------------------------- README ---

README_BLOCKS = blocks(README)
_RULE_START = re.compile(r"^(label|rule|on)\b")


def _looks_like_rules(b: Block) -> bool:
    if b.info not in ("", "rules"):
        return False
    lines = [ln.strip() for ln in b.text.splitlines()]
    first = next((ln for ln in lines if ln and not ln.startswith("#")), "")
    return bool(_RULE_START.match(first))


README_RULES = [b for b in README_BLOCKS if _looks_like_rules(b)]


class TestReadme:
    @pytest.mark.parametrize("block", README_RULES, ids=lambda b: b.where)
    def test_tour_block(self, block: Block) -> None:
        ds = rulec.check_text(block.text, "README.rules")
        assert [d for d in ds if d.severity == "error"] == [], show(ds)

    def test_tour_reads_as_one_clean_file(self) -> None:
        # The tour's second block uses the label the first declares: together
        # they must be clean, warnings included.
        assert README_RULES, "the README tour has no rule examples"
        text = "\n".join(b.text for b in README_RULES)
        assert show(rulec.check_text(text, "README.rules")) == []

    def test_python_tour_runs(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        # The "From Python" block of the tour runs as written, its asserts
        # included, from any folder (not only a checkout of rulec).
        tour = [b for b in README_BLOCKS if b.info == "python"]
        assert tour, "the README has no plain python block"
        monkeypatch.chdir(tmp_path)
        for block in tour:
            exec(compile(block.text, block.where, "exec"), {})

    def test_sample_check_output(self, tmp_path: Path) -> None:
        """README shows `rulec check rules/` on vip.rules with a typo: it is what we print."""
        sample = next(b for b in README_BLOCKS if b.text.startswith("$ rulec check"))
        lines = sample.text.rstrip("\n").split("\n")
        command, shown, summary = lines[0], lines[1:-1], lines[-1]
        m = re.match(r"(\S+):(\d+):\d+: ", shown[0])
        assert m, shown[0]
        path, line = m.group(1), int(m.group(2))
        original = (ROOT / path).read_text(encoding="utf-8").split("\n")
        original[line - 1] = shown[1][4:]  # the source line as the README shows it
        shutil.copytree(ROOT / "rules", tmp_path / "rules")
        (tmp_path / path).write_text("\n".join(original), encoding="utf-8")
        with _cwd(tmp_path):
            result = CliRunner().invoke(main, shlex.split(command)[2:])
        assert result.exit_code == 1
        assert result.stdout == "\n".join(shown) + "\n"
        assert result.stderr.strip() == summary


# ------------------------------------------------------ architecture.md ---

ARCHITECTURE = ROOT / "docs" / "architecture.md"


class TestArchitecture:
    def test_python_examples_run(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        # The decide-with-a-tracer example runs as written, its asserts included.
        examples = [b for b in blocks(ARCHITECTURE) if b.info == "python"]
        assert examples, "docs/architecture.md has no python example"
        monkeypatch.chdir(tmp_path)
        for block in examples:
            exec(compile(block.text, block.where, "exec"), {})

    def test_every_module_named_exists(self) -> None:
        # The walk-through names modules as they are now (the table at the end
        # also names those that are gone).
        text = ARCHITECTURE.read_text(encoding="utf-8")
        now = text[: text.index("## What moved where")]
        named = set(re.findall(r"`(?:[\w/]+/)?(\w+\.py)", now))
        sources = {p.name for d in ("dsl", "engine", "rulec") for p in (ROOT / d).rglob("*.py")}
        assert len(named) > 20 and named <= sources, sorted(named - sources)
