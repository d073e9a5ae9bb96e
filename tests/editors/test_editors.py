"""The editor support in editors/: generated from the language, and highlighting what it should.

The TextMate grammar is applied here the way an editor applies it (at each
place of a line the earliest match of its patterns, the first pattern on a
tie; a begin/end pattern runs to its end), with Python's regular
expressions, to the rule files rulec ships: every keyword the parser reads
is shown as a keyword, every text as a string, every number as a number,
and no name as a keyword.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from lark import Lark

from rulec.api import shipped_rules
from rulec.dsl.parser import keywords

ROOT = Path(__file__).resolve().parents[2]


def _build() -> Any:
    spec = importlib.util.spec_from_file_location("editors_build", ROOT / "editors" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["editors_build"] = module
    spec.loader.exec_module(module)
    return module


build = _build()


class Highlighter:
    """A TextMate grammar's scopes for each character of a line."""

    def __init__(self, grammar: dict[str, Any]) -> None:
        self.rules: list[dict[str, Any]] = []
        self._flatten(grammar["patterns"], grammar["repository"])

    def _flatten(self, patterns: list[dict[str, Any]], repo: dict[str, Any]) -> None:
        for p in patterns:
            if "include" in p:
                self._flatten([repo[p["include"].removeprefix("#")]], repo)
            elif "patterns" in p and "begin" not in p:
                self._flatten(p["patterns"], repo)
            else:
                self.rules.append(p)

    def scopes(self, line: str) -> list[str | None]:
        out: list[str | None] = [None] * len(line)
        pos = 0
        while pos < len(line):
            best: tuple[int, int, dict[str, Any], re.Match[str]] | None = None
            for n, rule in enumerate(self.rules):
                m = re.compile(rule.get("match") or rule["begin"]).search(line, pos)
                if m and (best is None or m.start() < best[0]):
                    best = (m.start(), n, rule, m)
            if best is None:
                break
            start, _, rule, m = best
            end = m.end()
            if "begin" in rule:
                end = self._end(rule, line, end)
            for i in range(start, end):
                out[i] = rule["name"]
            pos = max(end, start + 1)
        return out

    def _end(self, rule: dict[str, Any], line: str, pos: int) -> int:
        inner = [re.compile(p["match"]) for p in rule.get("patterns", [])]
        end = re.compile(rule["end"])
        while pos <= len(line):
            e = end.search(line, pos)
            skip = min(
                (m for m in (r.search(line, pos) for r in inner) if m),
                key=lambda m: m.start(),
                default=None,
            )
            if skip is not None and (e is None or skip.start() < e.start()):
                pos = skip.end()
                continue
            return e.end() if e else len(line)
        return len(line)


@pytest.fixture(scope="module")
def highlighter() -> Highlighter:
    grammar = json.loads(build.JSON_GRAMMAR.read_text(encoding="utf-8"))
    return Highlighter(grammar)


class TestGenerated:
    def test_the_committed_files_are_what_the_build_script_writes(self) -> None:
        for path, data in build.outputs().items():
            assert path.read_bytes() == data, f"{path} is out of date: run python editors/build.py"

    def test_every_keyword_of_the_grammar_is_in_the_textmate_grammar(self) -> None:
        grammar = build.grammar()
        keyword_patterns = grammar["repository"]["keyword"]["patterns"]
        for word in keywords():
            assert any(re.fullmatch(p["match"], word) for p in keyword_patterns), word

    def test_the_manifest_starts_the_server_for_rule_files(self) -> None:
        manifest = json.loads(build.MANIFEST.read_text(encoding="utf-8"))
        [language] = manifest["contributes"]["languages"]
        assert language["extensions"] == [".rules"]
        [grammar] = manifest["contributes"]["grammars"]
        assert grammar["scopeName"] == "source.rules" and grammar["language"] == language["id"]
        assert (build.VSCODE / grammar["path"]).resolve() == build.JSON_GRAMMAR
        script = (build.VSCODE / manifest["main"]).read_text(encoding="utf-8")
        assert '"lsp"' in script and 'language: "rules"' in script


def _tokens(text: str) -> list[Any]:
    lark = Lark.open_from_package("rulec.grammar", "rules.lark", ("",), parser="lalr")
    return list(lark.parse_interactive(text).iter_parse())


@pytest.mark.parametrize("name", sorted(p.name for p in shipped_rules().glob("*.rules")))
def test_the_shipped_rules_are_highlighted(highlighter: Highlighter, name: str) -> None:
    text = (shipped_rules() / name).read_text(encoding="utf-8")
    lines = text.split("\n")
    scoped = [highlighter.scopes(line) for line in lines]
    words = set(keywords())
    seen = set()
    for tok in _tokens(text):
        if tok.type == "$END":
            continue
        got = scoped[tok.line - 1][tok.column - 1 : tok.column - 1 + len(tok.value)]
        where = f"{name}:{tok.line}:{tok.column} {tok.value!r} ({tok.type})"
        assert len(set(got)) == 1, where
        scope = got[0] or ""
        if tok.type != "NAME" and tok.value in words:
            assert scope.startswith("keyword."), where
            seen.add(tok.value)
        elif tok.type == "STRING":
            assert scope.startswith("string."), where
        elif tok.type in ("NUMBER", "PERCENT", "SIGNED_INT"):
            assert scope.startswith("constant.numeric"), where
        elif tok.type == "DATE":
            assert scope.startswith("constant.other.date"), where
        elif tok.type == "NAME" and tok.value not in words:
            assert not scope.startswith("keyword."), where
    for n, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            assert set(scoped[n][line.index("#") :]) == {"comment.line.number-sign.rules"}
    assert {"on", "when", "then"} <= seen
