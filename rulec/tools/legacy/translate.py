"""The old system's rules as rule-language text, with its semantics carried over.

Where the old semantics were defined they are kept exactly; where they were
not, or rulec cannot say the same thing, the rule is written disabled (or,
when it has nothing the language can hold, as a comment) and flagged: a
comment above it and a warning. The old semantics, as its code ran them:

- an order with a customer was judged as its customer: a rule's gating
  labels (``rules_rule_labels``) matched when the customer had any of them,
  its conditions were ANDed (none: always), each a label test of the
  customer; a condition about any other entity was false, ``NOT_LABEL``
  too; an order without a customer got no discount;
- the last matching rule's last ``DISCOUNT`` action set the discount:
  ``percentage`` (missing: 0, no discount) of the subtotal, quantized to
  0.01 in Python's default context (half-even), ``description`` (missing:
  "Discount Applied"); ``STATUS_CHANGE`` only printed a line;
- a price listing for a wedding year with a pricing trigger showed a price
  when one of the trigger's rules matched it (its gating labels on the
  price or the customer, any of them; its conditions ORed), and hid it
  otherwise; a rule's actions were never run there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from attrs import frozen

from rulec.dsl.fmt import format_text
from rulec.dsl.nodes import HasAnyLabel, HasLabel, LabelAction, walk
from rulec.dsl.nodes import Rule as RuleNode
from rulec.dsl.parser import parse
from rulec.dsl.vocabulary import Vocabulary
from rulec.tools.legacy.labels import LabelNames, declare_labels
from rulec.tools.legacy.schema import Legacy, Rule
from rulec.tools.legacy.text import file_name, label, quote
from rulec.tools.legacy.triggers import Target, target_of

__all__ = [
    "DEFAULT_TITLE",
    "HIDE_PRIORITY",
    "Imported",
    "Translation",
    "old_percentage",
    "translate",
]

#: The old system's title for a discount action without a description.
DEFAULT_TITLE = "Discount Applied"
#: The priority of a year's "hide what no rule showed" rule: the lowest there is.
HIDE_PRIORITY = -1_000_000_000


@frozen
class Imported:
    """One rule as written: where it came from and what became of it."""

    rule_id: int | None  # None: a rule the import made (a year's hide rule)
    name: str
    code: str
    target: Target
    state: Literal["enabled", "disabled", "commented"]
    notes: tuple[str, ...]
    #: the discount written: (action id, percentage, title)
    discount: tuple[int, Decimal, str] | None = None
    file: str = ""


@frozen
class Translation:
    files: Mapping[str, str]
    rules: tuple[Imported, ...]
    warnings: tuple[str, ...]
    labels: LabelNames | None = None

    def by_name(self) -> dict[str, Imported]:
        return {r.name: r for r in self.rules}

    def by_id(self) -> dict[int, Imported]:
        return {r.rule_id: r for r in self.rules if r.rule_id is not None}


def old_percentage(params: Mapping[str, Any] | None) -> Decimal | None:
    """The percentage as the old code read it (``Decimal(params.get('percentage', 0))``);
    None where that raised."""
    raw = (params or {}).get("percentage", 0)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return None
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _title(params: Mapping[str, Any] | None) -> str:
    raw = (params or {}).get("description", DEFAULT_TITLE)
    return raw if isinstance(raw, str) else str(raw)


class _Draft:
    """A rule on its way to text."""

    def __init__(self, rule: Rule, name: str, code: str, target: Target, source: str) -> None:
        self.rule = rule
        self.name = name
        self.code = code
        self.target = target
        self.header = [source]
        self.notes: list[str] = []
        self.conditions: list[str] = []
        self.actions: list[str] = []
        #: actions the language cannot hold, shown in a rule written as a comment
        self.unwritable: list[str] = []
        self.disabled = rule.status != "ENABLED"
        self.never = False  # a condition the old system always found false
        self.discount: tuple[int, Decimal, str] | None = None
        self.priority: int | None = None
        self.exclusive = False
        # customer labels: any of (None: no gating), has, lacks
        self.gate: frozenset[str] | None = None
        self.has: set[str] = set()
        self.lacks: set[str] = set()

    def flag(self, note: str) -> None:
        self.notes.append(note)

    @property
    def state(self) -> Literal["enabled", "disabled", "commented"]:
        if not self.actions:
            return "commented"
        return "disabled" if self.disabled or self.never else "enabled"

    def text(self) -> str:
        lines = [f"# {h}" for h in self.header] + [f"# warning: {n}" for n in self.notes]
        body = [f"rule {quote(self.name)}"]
        if self.rule.description.strip():
            body.append(f"  description {quote(self.rule.description.strip())}")
        if self.priority is not None:
            body.append(f"  priority {self.priority}")
        if self.exclusive:
            body.append("  exclusive")
        if self.state == "disabled":
            body.append("  disabled")
        body.append(f"  on {self.target.event}")
        if self.conditions:
            body.append(f"  when {' and '.join(self.conditions)}")
        body.append(f"  then {', '.join(self.actions or self.unwritable or ['nothing'])}")
        body.append("end")
        if self.state == "commented":
            body = [f"# {b}" for b in body]
        return "\n".join(lines + body) + "\n"


def _any_of(entity: str, names: list[str]) -> str:
    if len(names) == 1:
        return f"{entity} has label {label(names[0])}"
    return f"{entity} has any label of {', '.join(label(n) for n in names)}"


def _judged_as_customer(d: _Draft, legacy: Legacy, names: LabelNames, vocab: Vocabulary) -> None:
    """An order rule: the customer's labels, ANDed; a discount needs a customer."""
    event = vocab.event(d.target.event)
    if event is not None and "order" in event.entities and "customer" in event.entities:
        d.conditions.append("order placed by customer is true")
    if d.rule.labels:
        kept = [n for i in d.rule.labels if (n := names.name(i, "customer")) is not None]
        for i in d.rule.labels:
            if names.name(i, "customer") is None:
                d.flag(
                    f"gating label {_label_ref(legacy, i)} is not a customer label: the old "
                    "system tested the customer's links to it, rulec's customers cannot carry "
                    "it; left out"
                )
        if not kept:
            d.never = True
            d.flag("no gating label is a customer label: the rule never matches")
        else:
            d.gate = frozenset(kept)
            d.conditions.append(_any_of("customer", kept))
    for c in d.rule.conditions:
        ref = (
            f"rules_rulecondition {c.id} ({c.entity} {c.operator} {_label_ref(legacy, c.label_id)})"
        )
        if c.operator not in ("HAS_LABEL", "NOT_LABEL"):
            d.never = True
            d.flag(f"{ref}: unknown operator; the rule is written disabled")
            continue
        if c.entity != "CUSTOMER":
            d.never = True
            d.flag(
                f"{ref} was always false in the old system, which judged an order by its "
                "customer alone (NOT_LABEL included): the rule never fired, written disabled"
            )
            continue
        name = names.name(c.label_id, "customer")
        if name is None:
            if c.operator == "HAS_LABEL":
                d.never = True
                d.flag(
                    f"{ref}: not a customer label, which rulec's customers cannot carry: "
                    "written disabled"
                )
            else:
                d.flag(
                    f"{ref}: not a customer label, which rulec's customers cannot carry: "
                    "always true in rulec, left out"
                )
            continue
        if c.operator == "HAS_LABEL":
            d.has.add(name)
            d.conditions.append(f"customer has label {label(name)}")
        else:
            d.lacks.add(name)
            d.conditions.append(f"customer lacks label {label(name)}")
    _discount_actions(d, vocab)


def _discount_actions(d: _Draft, vocab: Vocabulary) -> None:
    discounts = [a for a in d.rule.actions if a.action_type == "DISCOUNT"]
    statuses = [a for a in d.rule.actions if a.action_type == "STATUS_CHANGE"]
    for a in d.rule.actions:
        if a.action_type not in ("DISCOUNT", "STATUS_CHANGE"):
            d.flag(f"rules_ruleaction {a.id}: unknown action type {a.action_type!r}, left out")
    if len(discounts) > 1:
        d.flag(
            f"{len(discounts)} DISCOUNT actions: each overwrote the last; the last by id "
            f"(rules_ruleaction {discounts[-1].id}) is imported"
        )
    if discounts:
        a = discounts[-1]
        pct = old_percentage(a.params)
        raw = (a.params or {}).get("percentage")
        if pct is None or not 0 < pct <= 100:
            shown = (a.params or {}).get("percentage", 0)
            d.unwritable.append(f"discount {shown}% {quote(_title(a.params))}")
        if pct is None:
            d.flag(f"rules_ruleaction {a.id}: percentage {raw!r} is not a number: not imported")
        elif "percentage" not in (a.params or {}):
            d.flag(
                f"rules_ruleaction {a.id} has no percentage, which the old system read as 0%, "
                "no discount: not imported"
            )
        elif not 0 < pct <= 100:
            d.flag(f"rules_ruleaction {a.id}: percentage {raw!r} is outside 0-100%: not imported")
        else:
            title = _title(a.params)
            if "description" not in (a.params or {}):
                d.header.append(f"rules_ruleaction {a.id} has no description: {DEFAULT_TITLE!r}")
            pct = Decimal(str(raw)) if isinstance(raw, float) else pct
            d.discount = (a.id, pct, title)
            d.actions.append(f"discount {pct.normalize():f}% {quote(title)}")
    statuses_field = vocab.entity("order")
    allowed = statuses_field.field("status").values if statuses_field else ()
    for a in statuses:
        status = str((a.params or {}).get("status", "")).lower()
        what = f"rules_ruleaction {a.id}: STATUS_CHANGE to {status!r} only printed a line"
        if d.discount is not None or d.actions:
            d.flag(f"{what}: left out, since it never changed an order")
        elif status in allowed:
            d.disabled = True
            d.flag(f"{what}: imported disabled")
            d.unwritable.clear()
            d.actions.append(f"set order status to {status}")
        else:
            d.flag(f"{what}, and is no status rulec knows: not imported")
            d.unwritable.append(f"set order status to {status}")


def _label_ref(legacy: Legacy, label_id: int | None) -> str:
    lab = legacy.labels.get(label_id) if label_id is not None else None
    return f"labels_label {label_id} {lab.name!r}" if lab else f"missing label {label_id}"


def _priced(d: _Draft, legacy: Legacy, names: LabelNames, role: str | None) -> None:
    """A pricing rule: shows a price of its year; gating labels any of, conditions ORed."""
    d.conditions.append(f"viewer wedding year = {d.target.year}")
    if role:
        d.conditions.append(role)
    if d.rule.labels:
        by_entity: dict[str, list[str]] = {"price": [], "customer": []}
        for i in d.rule.labels:
            found = [(e, n) for e in by_entity if (n := names.name(i, e)) is not None]
            if found:
                by_entity[found[0][0]].append(found[0][1])
            else:
                d.flag(
                    f"gating label {_label_ref(legacy, i)} is neither a price nor a customer "
                    "label: left out"
                )
        gates = [_any_of(e, ns) for e, ns in by_entity.items() if ns]
        if not gates:
            d.never = True
            d.flag("no gating label is a price or customer label: the rule never matches")
        else:
            d.conditions.append(gates[0] if len(gates) == 1 else f"({' or '.join(gates)})")
    tests: list[str] = []
    always = not d.rule.conditions
    for c in d.rule.conditions:
        ref = (
            f"rules_rulecondition {c.id} ({c.entity} {c.operator} {_label_ref(legacy, c.label_id)})"
        )
        entity = {"PRICE": "price", "CUSTOMER": "customer"}.get(c.entity)
        if entity is None or c.operator not in ("HAS_LABEL", "NOT_LABEL"):
            d.flag(f"{ref} was always false in the old system: left out of the or")
            continue
        name = names.name(c.label_id, entity)
        if name is None:
            if c.operator == "NOT_LABEL":
                always = True
            d.flag(
                f"{ref}: not a {entity} label: always "
                f"{'true' if c.operator == 'NOT_LABEL' else 'false'} in rulec"
            )
            continue
        verb = "has" if c.operator == "HAS_LABEL" else "lacks"
        tests.append(f"{entity} {verb} label {label(name)}")
    if not always:
        if not tests:
            d.never = True
            d.flag("every condition was always false: the rule never matched, written disabled")
        else:
            d.conditions.append(tests[0] if len(tests) == 1 else f"({' or '.join(tests)})")
    if d.rule.actions:
        d.header.append(
            "its actions were never run by the old pricing, which only asked "
            "whether a rule matched: left out"
        )
    d.actions.append(f"show {_candidate(d.target.event)}")


def _candidate(event: str) -> str:
    return event.removesuffix("_listed")


def _could_both_match(a: _Draft, b: _Draft) -> bool:
    """Whether one customer could match both rules (their label tests do not exclude it)."""
    if a.has & b.lacks or b.has & a.lacks:
        return False
    if a.gate is not None and a.gate <= b.lacks:
        return False
    return not (b.gate is not None and b.gate <= a.lacks)


def _prioritise(group: list[_Draft], warnings: list[str]) -> None:
    """Rules of one event whose discounts could meet: the old "last one wins, in no
    defined order" made explicit: by id, the higher id first, exclusive."""
    live = [d for d in group if d.state == "enabled"]
    pairs = [(a, b) for i, a in enumerate(live) for b in live[i + 1 :] if _could_both_match(a, b)]
    if not pairs:
        return
    for rank, d in enumerate(group, start=1):
        d.priority = rank
        d.exclusive = True
    for a, b in pairs:
        msg = (
            f"rules_rule {a.rule.id} {a.name!r} and rules_rule {b.rule.id} {b.name!r} can both "
            f"match one order: the old system kept the last it ran, in no defined order (its "
            f"query had no ORDER BY); imported as exclusive with priorities: rules_rule "
            f"{b.rule.id} wins"
        )
        for d in (a, b):
            d.flag(msg)
        warnings.append(msg)


def translate(
    legacy: Legacy, vocabulary: Vocabulary, overrides: Mapping[str, Target] | None = None
) -> Translation:
    """The old system's rules as files of rule-language text (name → text)."""
    names = declare_labels(legacy.labels)
    warnings: list[str] = list(names.warnings)
    used: set[str] = set()

    def unique(name: str, source: str) -> tuple[str, str | None]:
        base = " ".join(name.split()) or source
        if base not in used:
            used.add(base)
            return base, None
        renamed = f"{base} ({source})"
        used.add(renamed)
        return renamed, f"another rule is also called {base!r}: renamed {renamed!r}"

    targets = {t.id: target_of(t.code, overrides) for t in legacy.triggers.values()}
    # which listings (event, year) have a trigger for everyone, and one for agents
    audiences: dict[tuple[str, int], set[bool]] = {}
    for tg in targets.values():
        if tg.kind == "listing" and tg.year is not None:
            audiences.setdefault((tg.event, tg.year), set()).add(tg.agent)
    files: dict[str, list[str]] = {}
    file_of: dict[int | None, str] = {}
    for t in sorted(legacy.triggers.values(), key=lambda x: x.id):
        fname = file_name(t.code)
        if fname in files:
            fname = fname.removesuffix(".rules") + f"_{t.id}.rules"
        files[fname] = [
            f"# Rules of the old system's trigger {t.code!r} (rules_ruletrigger {t.id}), "
            f"imported by rulec import-legacy: {targets[t.id].describe()}.\n"
        ]
        file_of[t.id] = fname
    drafts: list[_Draft] = []
    for rule in legacy.rules:
        trigger = legacy.triggers.get(rule.trigger_id) if rule.trigger_id is not None else None
        code = trigger.code if trigger else ""
        target = (
            targets[trigger.id] if trigger else Target("off", "order_created", why="no trigger")
        )
        source = f"rules_rule {rule.id}"
        name, renamed = unique(rule.name, source)
        head = f"{source} {rule.name!r}, trigger {code or 'none'!r}"
        d = _Draft(rule, name, code, target, head)
        if renamed:
            d.flag(renamed)
        if rule.status not in ("ENABLED", "DISABLED"):
            d.flag(f"status {rule.status!r} is neither ENABLED nor DISABLED: written disabled")
        elif rule.status == "DISABLED":
            d.header.append("status DISABLED in the old system")
        if target.kind == "listing":
            both = audiences[(target.event, target.year or 0)] == {True, False}
            role = (
                ("viewer role is agent" if target.agent else "viewer role is not agent")
                if (both or target.agent)
                else None
            )
            _priced(d, legacy, names, role)
        else:
            _judged_as_customer(d, legacy, names, vocabulary)
            if target.kind == "off":
                d.disabled = True
                d.flag(
                    f"trigger {code!r}: {target.why}: written disabled "
                    f"(--map {code or 'CODE'}=EVENT to import it on an event)"
                )
            elif target.mapped:
                d.header.append(
                    f"mapped by --map to {target.event}: the old system never ran it there"
                )
        if d.state == "commented":
            d.flag("nothing the language can hold is left: written as a comment")
        drafts.append(d)
    groups: dict[str, list[_Draft]] = {}
    for d in drafts:
        if d.discount is not None and d.target.kind == "event":
            groups.setdefault(d.target.event, []).append(d)
    for group in groups.values():
        _prioritise(group, warnings)
    imported: list[Imported] = []
    for d in drafts:
        fname = file_of.get(d.rule.trigger_id, "no_trigger.rules")
        files.setdefault(fname, ["# Rules of the old system without a trigger.\n"])
        files[fname].append(d.text())
        for n in d.notes:
            if n not in warnings:
                warnings.append(f"rules_rule {d.rule.id} {d.name!r}: {n}")
        imported.append(
            Imported(
                d.rule.id, d.name, d.code, d.target, d.state, tuple(d.notes), d.discount, fname
            )
        )
    imported.extend(_hide_rules(legacy, targets, audiences, file_of, files, unique, warnings))
    # laid out as rulec fmt would: long conditions one clause a line
    texts = {f: format_text("\n".join(parts), f) for f, parts in files.items()}
    texts = {"labels.rules": names.text(_labels_used(texts)), **texts}
    return Translation(texts, tuple(imported), tuple(warnings), names)


def _hide_rules(
    legacy: Legacy,
    targets: Mapping[int, Target],
    audiences: Mapping[tuple[str, int], set[bool]],
    file_of: Mapping[int | None, str],
    files: dict[str, list[str]],
    unique: Any,
    warnings: list[str],
) -> Iterable[Imported]:
    """Per listing year with a pricing trigger: hide what none of its rules showed."""
    done: set[tuple[str, int]] = set()
    for trig in sorted(legacy.triggers.values(), key=lambda x: (x.code.endswith("_Agent"), x.id)):
        target = targets[trig.id]
        if target.kind != "listing" or target.year is None:
            continue
        key = (target.event, target.year)
        if key in done:
            continue
        done.add(key)
        only_agents = audiences[key] == {True}
        who = " and viewer role is agent" if only_agents else ""
        name, _ = unique(f"Hide unlisted {_candidate(target.event)}s {target.year}", trig.code)
        note = (
            f"for wedding year {target.year} the old system hid every {_candidate(target.event)} "
            f"no rule of {trig.code!r} matched{' for an agent' if only_agents else ''}: "
            "an explicit hide rule at the lowest priority"
        )
        text = (
            f"# Made by rulec import-legacy: {note}.\n"
            f"rule {quote(name)}\n  priority {HIDE_PRIORITY}\n  on {target.event}\n"
            f"  when viewer wedding year = {target.year}{who}\n"
            f"  then hide {_candidate(target.event)}\nend\n"
        )
        files[file_of[trig.id]].append(text)
        warnings.append(f"{trig.code}: {note}")
        yield Imported(None, name, trig.code, target, "enabled", (note,), None, file_of[trig.id])


def _labels_used(texts: Mapping[str, str]) -> set[tuple[str, str]]:
    """The (entity, label) pairs the written rules name, read back by the parser."""
    used: set[tuple[str, str]] = set()
    for name, text in texts.items():
        for item in parse(text, name):
            if not isinstance(item, RuleNode):
                continue
            for node in walk(item):
                if isinstance(node, HasLabel):
                    used.add((node.entity.text, node.label.text))
                elif isinstance(node, HasAnyLabel):
                    used.update((node.entity.text, n.text) for n in node.labels)
                elif isinstance(node, LabelAction):
                    used.add((node.entity.text, node.label.text))
    return used
