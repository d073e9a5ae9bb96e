"""Loaded rule sets: immutable, versioned, indexed by event and by label."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from types import CodeType
from typing import Any

from attrs import field, frozen
from rulec.dsl.compiler import CompiledModule, compile_rules
from rulec.dsl.diagnostics import RulesCheckError
from rulec.dsl.sources import Analysis
from rulec.engine import runtime
from rulec.engine.runtime import Rule_

__all__ = ["RuleSet", "execute", "from_analysis", "version_of"]


def execute(code: CodeType) -> tuple[Rule_, ...]:
    """Run a compiled module with only the runtime's names and no builtins."""
    namespace: dict[str, Any] = {name: getattr(runtime, name) for name in runtime.__all__}
    namespace["__builtins__"] = {}
    exec(code, namespace)
    rules = namespace["RULES"]
    assert isinstance(rules, tuple)
    return rules


def version_of(texts: Mapping[str, str]) -> str:
    """A short hash of the rule set's sources, their paths included."""
    h = hashlib.sha256()
    for path in sorted(texts):
        h.update(path.encode("utf-8", "surrogatepass") + b"\0")
        h.update(texts[path].encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]


@frozen
class RuleSet:
    """An immutable set of compiled rules.

    ``rules`` are in source order (files in the order given). The index maps
    each event to the rules that must be scanned on every event
    (``scan``) and, per ``(entity, label)``, the rules that can only match
    when that label is present.
    """

    rules: tuple[Rule_, ...]
    version: str
    modules: tuple[CompiledModule, ...] = field(default=(), repr=False)
    _scan: dict[str, tuple[Rule_, ...]] = field(factory=dict, repr=False, alias="_scan")
    _by_label: dict[str, dict[tuple[str, str], tuple[Rule_, ...]]] = field(
        factory=dict, repr=False, alias="_by_label"
    )

    @classmethod
    def build(
        cls, rules: Sequence[Rule_], version: str, modules: Iterable[CompiledModule] = ()
    ) -> RuleSet:
        scan: dict[str, list[Rule_]] = {}
        by_label: dict[str, dict[tuple[str, str], list[Rule_]]] = {}
        for r in rules:
            if not r.enabled:
                continue
            if r.labels is None:
                scan.setdefault(r.event, []).append(r)
            else:
                idx = by_label.setdefault(r.event, {})
                for key in r.labels:
                    idx.setdefault(key, []).append(r)
        return cls(
            tuple(rules),
            version,
            tuple(modules),
            _scan={e: tuple(v) for e, v in scan.items()},
            _by_label={e: {k: tuple(v) for k, v in d.items()} for e, d in by_label.items()},
        )

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def events(self) -> frozenset[str]:
        return frozenset(r.event for r in self.rules)

    def candidates(self, event: str, labels: Mapping[str, Iterable[str]]) -> list[Rule_]:
        """Enabled rules of ``event`` that could match entities with ``labels``.

        ``labels`` maps an entity name to its labels. Rules come back in
        source order, each once.
        """
        found: list[Rule_] = list(self._scan.get(event, ()))
        idx = self._by_label.get(event)
        if idx:
            for entity, names in labels.items():
                for name in names:
                    found.extend(idx.get((entity, name), ()))
        if len(found) > 1:
            order = {id(r): n for n, r in enumerate(self.rules)}
            found = sorted({id(r): r for r in found}.values(), key=lambda r: order[id(r)])
        return found

    def matching(self, event: str, facts: Mapping[str, Any]) -> list[Rule_]:
        """Enabled rules of ``event`` whose conditions hold for the flat ``facts``."""
        labels = {
            key[: -len(".labels")]: value
            for key, value in facts.items()
            if key.endswith(".labels") and value
        }
        return [r for r in self.candidates(event, labels) if r.test(facts)]


def from_analysis(analysis: Analysis, vocabulary: Any) -> RuleSet:
    """Compile and load an analysed rule set; raise RulesCheckError on errors."""
    if not analysis.ok:
        raise RulesCheckError([d for d in analysis.diagnostics if d.severity == "error"])
    modules = [
        compile_rules(analysis.items[s.path], vocabulary, s.path)
        for s in analysis.sources
        if s.text is not None
    ]
    rules: list[Rule_] = []
    for m in modules:
        rules.extend(execute(m.code))
    return RuleSet.build(rules, version_of(analysis.texts()), modules)
