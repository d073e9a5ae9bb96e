"""The public functions: parse, check, compile and load rule sets."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from rulec.dsl.compiler import CompiledModule, compile_rules
from rulec.dsl.diagnostics import Diagnostic, RulesCheckError, has_errors
from rulec.dsl.nodes import Item
from rulec.dsl.parser import parse
from rulec.dsl.sources import Analysis, Source, analyze, read_sources
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core.cache import load_sources
from rulec.engine.core.load import from_analysis
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.vocabulary import DEFAULT_VOCABULARY, project_vocabulary

__all__ = [
    "analyze_paths",
    "analyze_text",
    "check_paths",
    "check_text",
    "compile_text",
    "load_paths",
    "load_text",
    "parse",
    "project_vocabulary",
    "shipped_rules",
]

PathLike = str | os.PathLike[str]


def analyze_text(
    text: str, file: str = "<string>", vocabulary: Vocabulary | None = None
) -> Analysis:
    """Parse and check rule ``text`` as if it were the file ``file``."""
    return analyze([Source.from_text(text, file)], vocabulary or DEFAULT_VOCABULARY)


def analyze_paths(paths: Iterable[PathLike], vocabulary: Vocabulary | None = None) -> Analysis:
    """Parse and check the rule files at ``paths`` (folders: their ``*.rules``).

    Without ``vocabulary``, the project's (:func:`project_vocabulary`): the
    schema file found at or above the first path, else the default.
    """
    paths = list(paths)
    return analyze(read_sources(paths), vocabulary or project_vocabulary(paths))


def check_text(
    text: str, file: str = "<string>", vocabulary: Vocabulary | None = None
) -> list[Diagnostic]:
    """Every diagnostic for rule ``text``; an empty list means it is clean."""
    return list(analyze_text(text, file, vocabulary).diagnostics)


def check_paths(
    paths: Iterable[PathLike], vocabulary: Vocabulary | None = None
) -> list[Diagnostic]:
    """Every diagnostic for the rule files at ``paths``."""
    return list(analyze_paths(paths, vocabulary).diagnostics)


def compile_text(
    text: str, file: str = "<string>", vocabulary: Vocabulary | None = None
) -> CompiledModule:
    """Check and compile rule ``text``; raise RulesCheckError when it has errors."""
    vocab = vocabulary or DEFAULT_VOCABULARY
    analysis = analyze([Source.from_text(text, file)], vocab)
    if has_errors(analysis.diagnostics):
        raise RulesCheckError([d for d in analysis.diagnostics if d.severity == "error"])
    items: Sequence[Item] = analysis.items[file]
    return compile_rules(items, vocab, file)


def load_text(text: str, file: str = "<string>", vocabulary: Vocabulary | None = None) -> RuleSet:
    """A loaded rule set from rule ``text``; raise RulesCheckError on errors."""
    vocab = vocabulary or DEFAULT_VOCABULARY
    # warnings are not kept by a load: the checks that only warn are skipped
    return from_analysis(analyze([Source.from_text(text, file)], vocab, lint=False), vocab)


def load_paths(
    paths: Iterable[PathLike],
    vocabulary: Vocabulary | None = None,
    *,
    cache: PathLike | None = None,
) -> RuleSet:
    """A loaded rule set from rule files; raise RulesCheckError on errors.

    Without ``vocabulary``, the project's, as :func:`analyze_paths` finds it.
    With ``cache`` (a folder), an unchanged rule set is loaded from the
    compiled copy kept there instead of being parsed, checked and compiled
    again; see :mod:`rulec.engine.core.cache`.
    """
    paths = list(paths)
    return load_sources(read_sources(paths), vocabulary or project_vocabulary(paths), cache)


def shipped_rules() -> Path:
    """The folder of the rule files rulec ships (the old system's rules, as text).

    Installed with rulec as package data, so it is there from any folder:
    ``rulec.load_paths([rulec.shipped_rules()])``.
    """
    return Path(str(resources.files("rulec.rules")))
