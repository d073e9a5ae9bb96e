"""Loading: compiled rule files become ``Rule_`` records and a ``RuleSet``.

A compiled module (``rulec.dsl.compiler.CompiledModule``) holds its lowered
rules and the code of its factories, one per condition shape. Loading runs
that code in the sandbox's namespace (only ``rulec.engine.core.sandbox``'s
names, no builtins), then makes each rule's test by calling its shape's
factory with the rule's constants, and its record from its data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rulec.dsl.compiler import CompiledModule, compile_rules
from rulec.dsl.diagnostics import RulesCheckError
from rulec.dsl.gcpause import paused_gc
from rulec.dsl.groups import group_bases
from rulec.dsl.lower import coupon_families
from rulec.dsl.sources import Analysis
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core import sandbox
from rulec.engine.core.rules import (
    Action,
    BuyGet_,
    FixedDiscount_,
    ItemsPercent_,
    LabelChange_,
    PercentDiscount_,
    PerItem_,
    Rule_,
    SetField_,
    ShippingDiscount_,
    Tier_,
    Tiered_,
    Visibility_,
)
from rulec.engine.core.ruleset import RuleSet

__all__ = ["execute", "factories", "from_analysis", "load_modules", "version_of"]


def factories(module: CompiledModule) -> tuple[Callable[..., Any], ...]:
    """The factories of ``module``, defined in a sandboxed namespace, in shape order."""
    namespace = sandbox.namespace()
    exec(module.code, namespace)
    return tuple(namespace[name] for name in module.factory_names)


def execute(module: CompiledModule) -> tuple[Rule_, ...]:
    """The ``Rule_`` records of a compiled module, in source order.

    Each rule's test is its shape's factory called with the rule's
    constants; equal actions are built once and shared.
    """
    made = factories(module)
    rules = module.rules
    built: dict[Any, Action] = {}  # by the action's data, and by its id (cheaper to hash)
    for r in rules:
        for a in r.actions:
            if id(a) not in built:
                built[id(a)] = built.get(a) or built.setdefault(a, _action(a))
    return tuple(
        Rule_(
            r.id,
            r.name,
            r.file,
            r.line,
            r.column,
            r.event,
            made[n](*r.lowered.constants) if r.lowered is not None else made[n](),
            tuple([built[id(a)] for a in r.actions]),
            r.priority,
            r.enabled,
            r.exclusive,
            r.combinable,
            r.valid_from,
            r.valid_until,
            r.description,
            r.labels,
            r.facts,
            r.action_lines,
            r.lowered,
            r.limits,
            r.group,
            r.after,
        )
        for r, n in zip(rules, module.shape_of, strict=True)
    )


def _action(row: tuple[Any, ...]) -> Action:
    kind = row[0]
    if kind == "percent":
        _, percent, title, cap, cap_currency = row
        return PercentDiscount_(percent, title, cap, cap_currency)
    if kind == "fixed":
        _, amount, currency, title = row
        return FixedDiscount_(amount, currency, title)
    if kind == "items_percent":
        _, percent, title, label, cap, cap_currency, per_line = row
        return ItemsPercent_(percent, title, label, cap, cap_currency, per_line)
    if kind == "per_item":
        _, amount, currency, title, label = row
        return PerItem_(amount, currency, title, label)
    if kind == "buy":
        _, paid, free, title, label = row
        return BuyGet_(paid, free, title, label)
    if kind == "tiers":
        _, title, tiers = row
        return Tiered_(title, tuple(Tier_(*t) for t in tiers))
    if kind == "shipping":
        _, title, percent, amount, currency = row
        return ShippingDiscount_(title, percent, amount, currency)
    if kind == "label":
        _, entity, label, add = row
        return LabelChange_(entity, label, add)
    if kind == "set":
        _, entity, name, value = row
        return SetField_(entity, name, value)
    if kind in ("show", "hide"):
        return Visibility_(row[1], kind == "show")
    raise ValueError(f"unknown action {kind!r} in a lowered rule")


def version_of(texts: Mapping[str, str]) -> str:
    """A short hash of the rule set's sources, their paths included."""
    h = hashlib.sha256()
    for path in sorted(texts):
        h.update(path.encode("utf-8", "surrogatepass") + b"\0")
        h.update(texts[path].encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]


def from_analysis(analysis: Analysis, vocabulary: Vocabulary) -> RuleSet:
    """Compile and load an analysed rule set; raise RulesCheckError on errors."""
    if not analysis.ok:
        raise RulesCheckError([d for d in analysis.diagnostics if d.severity == "error"])
    groups = group_bases(i for s in analysis.sources for i in analysis.items.get(s.path, ()))
    with paused_gc():
        families = coupon_families(i for s in analysis.sources for i in analysis.items[s.path])
        modules = [
            compile_rules(analysis.items[s.path], vocabulary, s.path, s.name, groups, families)
            for s in analysis.sources
            if s.text is not None
        ]
        return load_modules(modules, version_of(analysis.texts()), vocabulary)


def load_modules(
    modules: Sequence[CompiledModule], version: str, vocabulary: Vocabulary
) -> RuleSet:
    """Load compiled modules, in order, into one rule set."""
    with paused_gc():
        rules: list[Rule_] = []
        for m in modules:
            rules.extend(execute(m))
        return RuleSet.build(rules, version, modules, vocabulary)
