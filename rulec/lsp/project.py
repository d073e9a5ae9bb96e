"""The rule set an open file belongs to, and its analysis.

An editor shows one file, but the checker checks a rule set: labels declared
in ``labels.rules`` serve ``orders.rules``. A file's rule set is the folder it
lives in with its subfolders, as ``rulec check FOLDER`` reads it, taken up to
the parent folder as long as that folder itself holds rule files (``rules/``
for ``rules/promotions/spring.rules`` when ``rules/labels.rules`` is there),
never above the folder of the project's schema file nor above the editor's
workspace folder. The vocabulary is the project's, found as ``rulec check``
finds it (:func:`rulec.engine.vocabulary.project_vocabulary`).

Files open in the editor are read from the editor (unsaved text included),
the others from the disk; the analysis is the one front end's,
:func:`rulec.dsl.sources.analyze`, and is kept until a file of the set
changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from attrs import field, frozen

from rulec.dsl.nodes import Item, LabelDecl, Name
from rulec.dsl.schema import SchemaError, find_config
from rulec.dsl.sources import Analysis, ParseCache, Source, analyze
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.vocabulary import DEFAULT_VOCABULARY, project_vocabulary

__all__ = ["Project", "RuleSetView", "rule_set_folder"]


def _holds_rules(folder: Path) -> bool:
    try:
        return any(p.is_file() for p in folder.glob("*.rules"))
    except OSError:
        return False


def rule_set_folder(path: Path, stops: Iterable[Path] = ()) -> Path:
    """The folder whose rule files make up the rule set of the rule file ``path``."""
    folder = path.parent
    stops = {s.resolve() for s in stops}
    config = find_config(folder) if folder.is_dir() else None
    if config is not None:
        stops.add(config.parent.resolve())
    while folder.resolve() not in stops:
        parent = folder.parent
        if parent == folder or not _holds_rules(parent):
            break
        folder = parent
    return folder


@frozen
class RuleSetView:
    """One analysis of a rule set, with what the editor's features need of it."""

    folder: Path | None
    analysis: Analysis
    vocabulary: Vocabulary
    #: The text each file was analysed with, by path.
    texts: Mapping[str, str]
    #: Why the project's schema file could not be used (the default was), if so.
    vocabulary_error: str | None = None
    #: Each declared label's names as written in its declarations, by label.
    declarations: dict[str, list[tuple[LabelDecl, Name]]] = field(factory=dict)

    def items(self, path: str) -> list[Item]:
        return self.analysis.items.get(path, [])

    def all_items(self) -> Iterable[Item]:
        for items in self.analysis.items.values():
            yield from items


def _declarations(analysis: Analysis) -> dict[str, list[tuple[LabelDecl, Name]]]:
    found: dict[str, list[tuple[LabelDecl, Name]]] = {}
    for items in analysis.items.values():
        for item in items:
            if isinstance(item, LabelDecl):
                for name in item.names:
                    found.setdefault(name.text, []).append((item, name))
    return found


class Project:
    """The rule sets of the files open in an editor, analysed on demand and kept.

    ``roots`` are the editor's workspace folders (a rule set never reaches
    above one); ``config`` a schema file that overrides the project's.
    """

    def __init__(self, roots: Iterable[Path] = (), config: str | None = None) -> None:
        self.roots = [r.resolve() for r in roots]
        #: The schema file given to ``rulec --config``, used for every rule set.
        self.config = config
        self._cache: dict[tuple[str, str | None], tuple[object, RuleSetView]] = {}
        #: Bumped when a file changes on the disk (a save, a file watcher's event).
        self.generation = 0
        #: Each file's last parse: a file not changed since is not parsed again.
        self._parsed: ParseCache = {}

    def folder_of(self, path: str) -> Path | None:
        """The rule set folder of the file at ``path`` (None for a file not on a disk)."""
        p = Path(path)
        if not p.is_absolute() or not p.parent.is_dir():
            return None
        stops = [r for r in self.roots if p.resolve().is_relative_to(r)]
        return rule_set_folder(p, stops)

    def recent(self, path: str, open_texts: Mapping[str, str]) -> RuleSetView:
        """The last analysis of ``path``'s rule set, even if a file changed since (what
        completion needs of it, the labels declared and the vocabulary, changes
        rarely, and completion is asked for at every key)."""
        cached = self._cache.get(self._key(path, self.folder_of(path)))
        return cached[1] if cached is not None else self.view(path, open_texts)

    def _key(self, path: str, folder: Path | None) -> tuple[str, str | None]:
        return (path, None) if folder is None else (str(folder), None)

    def view(self, path: str, open_texts: Mapping[str, str]) -> RuleSetView:
        """The analysis of the rule set ``path`` belongs to, with ``open_texts`` over the disk."""
        folder = self.folder_of(path)
        key = self._key(path, folder)
        if folder is None:
            state: object = (open_texts.get(path), self.generation)
        else:
            under = sorted((p, t) for p, t in open_texts.items() if Path(p).is_relative_to(folder))
            state = (tuple(under), self.generation)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == state:
            return cached[1]
        view = self._analyze(path, folder, open_texts)
        self._cache[key] = (state, view)
        return view

    def forget(self) -> None:
        """Drop every analysis: a file changed on the disk."""
        self.generation += 1
        self._cache.clear()

    def _analyze(
        self, path: str, folder: Path | None, open_texts: Mapping[str, str]
    ) -> RuleSetView:
        sources: list[Source] = []
        if folder is None:
            sources.append(Source.from_text(open_texts.get(path, ""), path))
            vocabulary, error = _vocabulary(
                self.roots[0] if self.roots else Path.cwd(), self.config
            )
        else:
            vocabulary, error = _vocabulary(folder, self.config)
            seen: set[str] = set()
            for file in _rule_files(folder):
                name = file.relative_to(folder).as_posix()
                key = str(file)
                seen.add(key)
                if key in open_texts:
                    sources.append(Source.from_text(open_texts[key], key, name))
                    continue
                try:
                    data = file.read_bytes()
                except OSError:
                    continue  # gone since it was listed: it is no longer part of the set
                sources.append(Source.from_bytes(data, key, name))
            for key, text in sorted(open_texts.items()):
                # open and never saved, or not named *.rules: still checked with the set
                wanted = key == path or key.endswith(".rules")
                if key not in seen and wanted and Path(key).is_relative_to(folder):
                    name = Path(key).relative_to(folder).as_posix()
                    sources.append(Source.from_text(text, key, name))
        analysis = analyze(sources, vocabulary, comments=True, parsed=self._parsed)
        return RuleSetView(
            folder, analysis, vocabulary, analysis.texts(), error, _declarations(analysis)
        )


def _rule_files(folder: Path) -> list[Path]:
    try:
        return sorted(f for f in folder.rglob("*.rules") if f.is_file() and _visible(f, folder))
    except OSError:
        return []


def _visible(file: Path, folder: Path) -> bool:
    """Not under a hidden folder (``.git``, ``.venv``) below the rule set's folder."""
    return not any(part.startswith(".") for part in file.relative_to(folder).parts[:-1])


def _vocabulary(folder: Path, config: str | None) -> tuple[Vocabulary, str | None]:
    try:
        return project_vocabulary([folder], config), None
    except SchemaError as e:
        return DEFAULT_VOCABULARY, str(e)
    except OSError as e:  # pragma: no cover - a folder that vanished
        return DEFAULT_VOCABULARY, f"{folder}: {os.strerror(e.errno or 0)}"
