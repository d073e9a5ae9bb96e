"""Golden files: good rules and their compiled modules, bad rules and their diagnostics.

``tests/golden/good/NAME.rules`` compiles to exactly ``NAME.py``
(``CompiledModule.source``) with no diagnostics at all, or only the warnings
listed in ``NAME.warn`` (as in an ``.err`` file);
``tests/golden/bad/NAME.rules`` gives exactly the diagnostics listed in
``NAME.err``, one ``CODE LINE COLUMN`` per line, in order. Files are read as
bytes, as ``rulec check`` reads them (byte-order marks, CRLF, invalid UTF-8).
A bad file whose first line is ``# vocabulary: helpdesk`` is checked against
the help-desk vocabulary below instead of the default one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rulec
from rulec import Entity, Event, Field, Type, Vocabulary
from rulec.dsl.check import deep
from rulec.dsl.diagnostics import CODES
from rulec.dsl.sources import analyze

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
GOOD = sorted((GOLDEN / "good").glob("*.rules"))
BAD = sorted((GOLDEN / "bad").glob("*.rules"))

HELPDESK = Vocabulary(
    entities=(
        Entity("ticket", (Field("level", Type.INTEGER),), labelled=True),
        Entity("agent", (Field("seniority", Type.INTEGER),), labelled=True),
    ),
    events=(
        Event("ticket_opened", ("ticket",)),
        Event("ticket_assigned", ("ticket", "agent")),
    ),
)
VOCABULARIES = {"helpdesk": HELPDESK}

#: Limits tested in code (tests/dsl/test_parser.py, test_checker.py), not with files.
#: Deep lint's codes come from ``rulec check``, not the checker: tests/tools/test_deeplint.py
#: holds them over tests/data/deeplint.
TESTED_IN_CODE = {"R110", "R112", *deep.CODES}


def vocabulary_of(data: bytes) -> Vocabulary:
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if first.startswith("# vocabulary:"):
        return VOCABULARIES[first.split(":", 1)[1].strip()]
    return rulec.DEFAULT_VOCABULARY


def diagnostics_of(path: Path) -> list[rulec.Diagnostic]:
    data = path.read_bytes()
    source = rulec.Source.from_bytes(data, path.name)
    return list(analyze([source], vocabulary_of(data)).diagnostics)


def expected_err(path: Path, suffix: str = ".err") -> list[tuple[str, int, int]]:
    out = []
    expectations = path.with_suffix(suffix)
    if suffix == ".warn" and not expectations.is_file():
        return []
    for line in expectations.read_text(encoding="utf-8").splitlines():
        if line.strip():
            code, row, column = line.split()
            out.append((code, int(row), int(column)))
    return out


class TestCorpus:
    def test_there_are_enough_good_files(self):
        assert len(GOOD) >= 8

    def test_every_good_file_has_its_module(self):
        assert [p for p in GOOD if not p.with_suffix(".py").is_file()] == []

    def test_every_bad_file_has_its_diagnostics(self):
        assert [p for p in BAD if not p.with_suffix(".err").is_file()] == []

    def test_no_stray_expectations(self):
        rules = {p.stem for p in GOOD + BAD}
        expectations = [
            *(GOLDEN / "good").glob("*.py"),
            *(GOLDEN / "good").glob("*.warn"),
            *(GOLDEN / "bad").glob("*.err"),
        ]
        assert [p for p in expectations if p.stem not in rules] == []

    def test_every_syntax_name_and_semantic_code_has_a_bad_file(self):
        seen = {code for p in BAD for code, _, _ in expected_err(p)}
        wanted = {c for c in CODES if c[1] in "123"} - TESTED_IN_CODE
        assert wanted - seen == set()

    def test_every_expected_code_exists(self):
        for p in BAD:
            for code, _, _ in expected_err(p):
                assert code in CODES, (p.name, code)


class TestGood:
    @pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
    def test_compiles_to_the_golden_module(self, path):
        source = rulec.Source.from_bytes(path.read_bytes(), path.name)
        assert source.diagnostics == ()
        diagnostics = rulec.check_text(source.text, path.name)
        assert [d.check_tuple() for d in diagnostics] == expected_err(path, ".warn")
        assert all(d.severity == "warning" for d in diagnostics)
        module = rulec.compile_text(source.text, path.name)
        assert module.source == path.with_suffix(".py").read_text(encoding="utf-8")

    @pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
    def test_loads_and_runs(self, path):
        from datetime import UTC, datetime
        from decimal import Decimal

        source = rulec.Source.from_bytes(path.read_bytes(), path.name)
        rules = rulec.load_text(source.text, path.name)
        facts = {
            "customer.labels": frozenset({"Customer_VIP", "VIP", "Gold", "A"}),
            "order.subtotal": Decimal("60.00"),
            "order.currency": "EUR",
            "order.created_at": datetime(2026, 11, 28, 12, tzinfo=UTC),
            "customer.order_count": 0,
        }
        for event in ("order_created", "order_updated"):
            for rule in rules.matching(event, facts):
                assert rule.file == path.name


class TestBad:
    @pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
    def test_diagnostics(self, path):
        got = [d.check_tuple() for d in diagnostics_of(path)]
        assert got == expected_err(path)

    @pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
    def test_diagnostics_point_into_the_file(self, path):
        data = path.read_bytes()
        lines = data.count(b"\n") + 1
        for d in diagnostics_of(path):
            assert d.span.file == path.name
            assert 1 <= d.span.line <= lines
            assert d.span.column >= 1
            assert d.message

    @pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
    def test_errors_refuse_to_load(self, path):
        vocabulary = vocabulary_of(path.read_bytes())
        if all(d.severity == "warning" for d in diagnostics_of(path)):
            assert len(rulec.load_paths([path], vocabulary)) > 0
        else:
            with pytest.raises(rulec.RulesCheckError) as info:
                rulec.load_paths([path], vocabulary)
            assert info.value.diagnostics
            assert all(d.severity == "error" for d in info.value.diagnostics)
