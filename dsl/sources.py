"""Reading rule files and running the front end over a whole rule set.

``analyze`` is the one place where parse and check meet: it parses every
source (collecting syntax errors per file, and its comments when asked),
checks all the items together (labels declared in one file serve every
file) and returns the lot.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, MutableMapping, Sequence
from pathlib import Path

from attrs import Factory, field, frozen

from rulec.dsl.check import check
from rulec.dsl.diagnostics import Diagnostic, RulesError, has_errors
from rulec.dsl.gcpause import paused_gc
from rulec.dsl.nodes import Comment, Item
from rulec.dsl.parser import Parsed, decode_source, parse_collect, parse_source
from rulec.dsl.resolve import file_name
from rulec.dsl.vocabulary import Vocabulary

__all__ = [
    "Analysis",
    "ParseCache",
    "RulesInputError",
    "Source",
    "analyze",
    "find_rule_files",
    "read_sources",
]


class RulesInputError(RulesError):
    """A path that does not exist or cannot be read, or no rule file at all (the
    CLI exits 2). ``path`` is the path in question, when there is one."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


@frozen
class Source:
    """One rule file's text, or the diagnostics of why it has none."""

    path: str
    text: str | None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), converter=tuple)
    #: The file's name in its rule set: its path under the folder it was found
    #: in (``promotions/spring.rules``), or its base name when it was named
    #: itself. A one-line rule is named after it (``spring.rules:3``), so that
    #: names stay the same wherever the rules are installed.
    name: str = field(default=Factory(lambda self: file_name(self.path), takes_self=True))

    @classmethod
    def from_text(cls, text: str, path: str = "<string>", name: str | None = None) -> Source:
        text = text[1:] if text.startswith("\ufeff") else text
        return cls(path, text, name=file_name(path) if name is None else name)

    @classmethod
    def from_bytes(cls, data: bytes, path: str, name: str | None = None) -> Source:
        text, diagnostics = decode_source(data, path)
        return cls(path, text, diagnostics, file_name(path) if name is None else name)


def find_rule_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named in ``paths``, and ``*.rules`` files found under folders, sorted."""
    return list(_named_rule_files(paths))


def _named_rule_files(paths: Iterable[str | os.PathLike[str]]) -> dict[Path, str]:
    """Each rule file under ``paths`` and its name in the rule set (see ``Source.name``)."""
    found: dict[Path, str] = {}
    for p in paths:
        path = Path(p)
        if path.is_dir():
            try:
                files = sorted(f for f in path.rglob("*.rules") if f.is_file())
            except OSError as e:
                raise RulesInputError(
                    f"{path}: cannot read folder: {e.strerror}", str(path)
                ) from None
            for f in files:
                found.setdefault(f, f.relative_to(path).as_posix())
        elif path.exists():
            found.setdefault(path, path.name)
        else:
            raise RulesInputError(f"{path}: no such file or folder", str(path))
    return found


def read_sources(paths: Iterable[str | os.PathLike[str]]) -> list[Source]:
    """Read every rule file under ``paths``.

    Unreadable paths raise RulesInputError, and so does finding no rule file
    at all (no paths, or folders without a ``*.rules`` file): a rule set of
    nothing is a mistake, never an engine that silently decides nothing.
    """
    paths = list(paths)
    named = _named_rule_files(paths)
    if not named:
        where = ", ".join(str(p) for p in paths)
        raise RulesInputError(
            f"{where}: no .rules files found" if paths else "no rule files given",
            where or None,
        )
    sources = []
    for f, name in named.items():
        try:
            data = f.read_bytes()
        except OSError as e:
            raise RulesInputError(f"{f}: cannot read file: {e.strerror}", str(f)) from None
        sources.append(Source.from_bytes(data, str(f), name))
    return sources


@frozen
class Analysis:
    """The front end's result for a rule set: items and comments per file, all diagnostics."""

    sources: tuple[Source, ...]
    items: dict[str, list[Item]]
    diagnostics: tuple[Diagnostic, ...]
    #: Each file's comments in the order of the file, for a formatter or a language
    #: server: only from ``analyze(..., comments=True)`` (empty otherwise).
    comments: dict[str, tuple[Comment, ...]] = field(factory=dict)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def texts(self) -> dict[str, str]:
        return {s.path: s.text for s in self.sources if s.text is not None}


#: Each file's last parse by its path, with the text it was parsed from (see ``analyze``).
ParseCache = MutableMapping[str, tuple[str, Parsed]]


def analyze(
    sources: Sequence[Source],
    vocabulary: Vocabulary,
    *,
    lint: bool = True,
    comments: bool = False,
    parsed: ParseCache | None = None,
) -> Analysis:
    """Parse and check a rule set made of ``sources``.

    ``lint=False`` leaves out the checks that only warn (for a load, which
    keeps only the errors): see :data:`rulec.dsl.check.LINT_STAGES`.
    ``comments=True`` keeps each file's comments in :attr:`Analysis.comments`
    (for tools; a check or a load does without them, and their cost).
    ``parsed``, a mapping the caller keeps between calls, holds each file's
    parse with its text: a file whose text has not changed since is not parsed
    again (a language server checks the whole rule set as one file is typed).
    """
    with paused_gc():
        return _analyze(sources, vocabulary, lint, comments, parsed)


def _parse(s: Source, text: str, parsed: ParseCache | None) -> Parsed:
    hit = parsed.get(s.path) if parsed is not None else None
    if hit is not None and hit[0] == text:
        return hit[1]
    found = parse_source(text, s.path)
    if parsed is not None:
        parsed[s.path] = (text, found)
    return found


def _analyze(
    sources: Sequence[Source],
    vocabulary: Vocabulary,
    lint: bool,
    keep_comments: bool,
    cache: ParseCache | None,
) -> Analysis:
    diagnostics: list[Diagnostic] = []
    items: dict[str, list[Item]] = {}
    comments: dict[str, tuple[Comment, ...]] = {}
    for s in sources:
        diagnostics.extend(s.diagnostics)
        if s.text is None:
            items[s.path] = []
            if keep_comments:
                comments[s.path] = ()
            continue
        if keep_comments or cache is not None:
            parsed = _parse(s, s.text, cache)
            got, ds = list(parsed.items), parsed.diagnostics
            if keep_comments:
                comments[s.path] = parsed.comments
        else:
            got, ds = parse_collect(s.text, s.path)
        items[s.path] = got
        diagnostics.extend(ds)
    everything = [i for its in items.values() for i in its]
    file_names = {s.path: s.name for s in sources}
    texts = {s.path: s.text for s in sources if s.text is not None}
    diagnostics.extend(check(everything, vocabulary, lint=lint, file_names=file_names, texts=texts))
    order = {s.path: n for n, s in enumerate(sources)}
    diagnostics.sort(key=lambda d: (order.get(d.span.file, 0), d.span.line, d.span.column, d.code))
    return Analysis(tuple(sources), items, tuple(diagnostics), comments)
