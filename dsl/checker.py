"""The checker: named stages that turn parsed rules into diagnostics.

Every stage walks the rule set and appends diagnostics; none stops at the
first problem. The checker is handed a :class:`Vocabulary` value and knows
nothing of databases or of the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from attrs import define, field

from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.diagnostics import CODES, Diagnostic
from rulec.dsl.nodes import (
    And,
    Between,
    Combinable,
    Compare,
    Condition,
    DateValue,
    Description,
    Enabled,
    EntityAction,
    Exclusive,
    FieldRef,
    FixedDiscount,
    HasAnyLabel,
    HasLabel,
    Ident,
    In,
    Is,
    Item,
    LabelAction,
    LabelDecl,
    Name,
    Not,
    Number,
    Or,
    PercentDiscount,
    Priority,
    Rule,
    SetField,
    Some,
    Span,
    String,
    Value,
    Window,
)
from rulec.dsl.resolve import entity_of, negative_atom, resolve_field, window_bounds
from rulec.dsl.values import Instant, known_zones, parse_date, resolve_zone, suggest
from rulec.dsl.vocabulary import Entity, Event, Field, Kind, Type, Vocabulary

__all__ = [
    "ACTIONS",
    "MAX_LABEL_NAME",
    "MAX_RULES",
    "MAX_RULE_NAME",
    "OPERATORS",
    "check",
    "spelled",
]

#: A rule set with more rules than this gets R112.
MAX_RULES = 200_000
#: Longer rule names get R114: the engine's audit rows keep at most this many.
MAX_RULE_NAME = 200
#: Longer label names get R114: the database's labels keep at most this many.
MAX_LABEL_NAME = 100
#: The comparison operators of the language.
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
#: Action verbs and what follows each.
ACTIONS = {
    "discount": "a percentage (10%) or an amount with its currency (5.00 EUR), then a quoted text",
    "add": "label NAME to ENTITY",
    "remove": "label NAME from ENTITY",
    "set": "ENTITY FIELD to VALUE, e.g. 'set order status to confirmed'",
    "show": "the listed entity, e.g. 'show price'",
    "hide": "the listed entity, e.g. 'hide price'",
}
#: The verbs allowed on each kind of event.
_VERBS = {
    Kind.ORDER: ("discount", "add", "remove", "set"),
    Kind.LABEL: ("add", "remove", "set"),
    Kind.SCHEDULED: ("add", "remove", "set"),
    Kind.LISTING: ("show", "hide"),
}
_OPERATOR_TYPOS = {"==": "=", "=>": ">=", "=<": "<=", "<>": "!=", "=!": "!=", "!": "!="}
_ORDERED = {Type.MONEY, Type.DECIMAL, Type.INTEGER, Type.DATETIME}
#: Disjunctive normal forms larger than this are not searched for contradictions.
_MAX_DNF_TERMS = 256


@define
class _Context:
    vocabulary: Vocabulary
    items: Sequence[Item]
    diagnostics: list[Diagnostic] = field(factory=list)
    rules: list[Rule] = field(factory=list)
    labels: dict[str, dict[str, LabelDecl]] = field(factory=dict)  # label -> entity -> decl
    warned_undeclared: bool = False
    reported: set[tuple[str, str, Span]] = field(factory=set)
    #: id(rule) -> its event, once stage_names has resolved it (None: unknown).
    events: dict[int, Event | None] = field(factory=dict)
    #: (event name, subject) -> the event, for names resolved without a problem.
    known_events: dict[tuple[str, str | None], Event] = field(factory=dict)

    def report(
        self, code: str, message: str, span: Span | None, suggestion: str | None = None
    ) -> None:
        if span is None:  # pragma: no cover - every parsed node has a span
            span = Span("<unknown>", 1, 1, 1, 1)
        message = _clip_quoted(message)
        suggestion = _clip_quoted(suggestion) if suggestion else suggestion
        # one problem, one diagnostic: a zone shared by both dates of a
        # 'between' is checked twice but reported once
        key = (code, message, span)
        if key not in self.reported:
            self.reported.add(key)
            self.diagnostics.append(Diagnostic(code, message, span, CODES[code][0], suggestion))


_LONG_QUOTED = re.compile(r"'([^'\n]{61,})'")


def _clip_quoted(text: str) -> str:
    """Shorten quoted user text (a name or title can be a megabyte long) in a message."""
    return _LONG_QUOTED.sub(lambda m: f"'{m[1][:60]}…'", text)


def _did_you_mean(word: str, candidates: Sequence[str]) -> str | None:
    best = suggest(word, candidates)
    return f"did you mean '{best}'?" if best else None


# ---------------------------------------------------------------- stages ---


def stage_limits(ctx: _Context) -> None:
    """R112: more rules than :data:`MAX_RULES`; R114: names too long to store."""
    if len(ctx.rules) > MAX_RULES:
        rule = ctx.rules[MAX_RULES]
        ctx.report(
            "R112",
            f"the rule set has {len(ctx.rules):,} rules, over the limit of {MAX_RULES:,}",
            rule.span,
            "split it into several rule sets",
        )
    for rule in ctx.rules:
        if rule.name is not None and len(rule.name) > MAX_RULE_NAME:
            ctx.report(
                "R114",
                f"the rule name is {len(rule.name):,} characters long,"
                f" over the limit of {MAX_RULE_NAME}",
                rule.span,
                "shorten the name; the description can say more",
            )
        for action in rule.actions:
            if isinstance(action, LabelAction):
                _label_length(ctx, action.label)
    for item in ctx.items:
        if isinstance(item, LabelDecl):
            for name in item.names:
                _label_length(ctx, name)


def _label_length(ctx: _Context, name: Name) -> None:
    if len(name.text) > MAX_LABEL_NAME:
        ctx.report(
            "R114",
            f"the label name is {len(name.text):,} characters long,"
            f" over the limit of {MAX_LABEL_NAME}",
            name.span,
            "shorten the label name",
        )


def stage_declarations(ctx: _Context) -> None:
    """Label declarations: the entity exists and carries labels; no duplicates."""
    for item in ctx.items:
        if not isinstance(item, LabelDecl):
            continue
        ent = item.entity.text
        entity = ctx.vocabulary.entity(ent)
        if entity is None:
            ctx.report(
                "R203",
                f"unknown entity '{ent}'",
                item.entity.span,
                _did_you_mean(ent, [e.name for e in ctx.vocabulary.entities]),
            )
            continue
        if not entity.labelled:
            ctx.report(
                "R213",
                f"'{ent}' does not carry labels",
                item.entity.span,
                _labelled_hint(ctx.vocabulary),
            )
            continue
        for name in item.names:
            by_entity = ctx.labels.setdefault(name.text, {})
            if ent in by_entity:
                first = by_entity[ent].span
                ctx.report(
                    "R308",
                    f"label '{name.text}' is already declared for {ent}"
                    + (f" at line {first.line}" if first else ""),
                    name.span,
                )
            else:
                by_entity[ent] = item


def _labelled_hint(vocabulary: Vocabulary) -> str:
    names = vocabulary.labelled_entities()
    return "labels can be put on " + ", ".join(names) if names else "no entity carries labels"


def _entity(
    ctx: _Context, rule: Rule, name: Name, *, labelled: bool = False, within: bool = False
) -> Entity | None:
    """The entity ``name`` if it exists and the rule's event provides it.

    ``within``: the name is the subject of an ``any`` condition (or inside
    one), where the event must provide it as a list.
    """
    entity = ctx.vocabulary.entity(name.text)
    if entity is None:
        candidates = (
            ctx.vocabulary.labelled_entities()
            if labelled
            else [e.name for e in ctx.vocabulary.entities]
        )
        ctx.report(
            "R203",
            f"unknown entity '{name.text}'",
            name.span,
            _did_you_mean(name.text, candidates),
        )
        return None
    event = ctx.events.get(id(rule))
    if event is not None and entity.name not in event.entities:
        ctx.report(
            "R215",
            f"'{entity.name}' is not available on event '{event.name}'",
            name.span,
            "this event provides " + ", ".join(event.entities),
        )
        return None
    if event is not None and (entity.name in event.many) != within:
        if within:
            ctx.report(
                "R218",
                f"'any' needs a list, and '{entity.name}' is one {entity.name} "
                f"on event '{event.name}'",
                name.span,
                f"leave out 'any': '{entity.name} …'",
            )
        else:
            ctx.report(
                "R218",
                f"'{entity.name}' is a list on event '{event.name}'",
                name.span,
                f"test its members with 'any {entity.name} …', "
                f"e.g. 'any {entity.name} has label NAME'",
            )
        return None
    if labelled and not entity.labelled:
        ctx.report(
            "R213",
            f"'{entity.name}' does not carry labels",
            name.span,
            _labelled_hint(ctx.vocabulary),
        )
        return None
    return entity


def _label(ctx: _Context, entity: Entity, label: Name) -> None:
    if not ctx.labels:
        if not ctx.warned_undeclared:
            ctx.warned_undeclared = True
            ctx.report(
                "R211",
                "the rule set declares no labels, so label names such as "
                f"'{label.text}' cannot be checked",
                label.span,
                f"declare them, e.g. 'label {label.text} for {entity.name}'",
            )
        return
    by_entity = ctx.labels.get(label.text)
    if by_entity is None:
        declared = [n for n, ents in ctx.labels.items() if entity.name in ents]
        hint = _did_you_mean(label.text, declared)
        ctx.report(
            "R210",
            f"label '{label.text}' is not declared",
            label.span,
            hint or f"declare it with 'label {label.text} for {entity.name}'",
        )
    elif entity.name not in by_entity:
        ctx.report(
            "R212",
            f"label '{label.text}' is declared for {', '.join(sorted(by_entity))}, "
            f"not for {entity.name}",
            label.span,
        )


def _conditions(cond: Condition | None) -> Iterator[Condition]:
    stack = [cond] if cond is not None else []
    while stack:
        c = stack.pop()
        yield c
        if isinstance(c, And | Or):
            stack.extend(reversed(c.operands))
        elif isinstance(c, Not):
            stack.append(c.operand)
        elif isinstance(c, Some):
            stack.append(c.condition)


def _events_summary(vocabulary: Vocabulary) -> str:
    """The events, label events folded: 'events are order_created, …, and
    ENTITY_labeled, ENTITY_unlabeled for customer, order, …'."""
    plain = [e.name for e in vocabulary.events if e.kind is not Kind.LABEL]
    holders = [e.subject for e in vocabulary.events if e.kind is Kind.LABEL and e.subject]
    text = "events are " + ", ".join(dict.fromkeys(plain))
    if holders:
        text += ", and ENTITY_labeled, ENTITY_unlabeled for " + ", ".join(dict.fromkeys(holders))
    return text


def _event(ctx: _Context, rule: Rule) -> Event | None:
    """The rule's event (R201 unknown, R217 a subject missing, unknown or not taken)."""
    key = (rule.event.text, rule.subject.text if rule.subject is not None else None)
    known = ctx.known_events.get(key)
    if known is not None:  # a known event, seen before: nothing to report
        return known
    reported = len(ctx.diagnostics)
    event = _resolve_event(ctx, rule)
    if event is not None and len(ctx.diagnostics) == reported:
        ctx.known_events[key] = event  # only a clean resolution is remembered
    return event


def _resolve_event(ctx: _Context, rule: Rule) -> Event | None:
    vocabulary = ctx.vocabulary
    name, subject = rule.event.text, rule.subject
    names = vocabulary.event_names()
    if name not in names:
        ctx.report(
            "R201",
            f"unknown event '{name}'",
            rule.event.span,
            _did_you_mean(name, names) or _events_summary(vocabulary),
        )
        return None
    subjects = vocabulary.subjects(name)
    if not subjects:
        if subject is not None:
            ctx.report(
                "R217",
                f"'{name}' does not run over a subject",
                subject.span,
                f"leave out 'for {subject.text}'",
            )
        return vocabulary.event(name)
    if subject is None:
        ctx.report(
            "R217",
            f"'{name}' runs over every entity of a subject: say which",
            rule.event.span,
            " or ".join(f"'on {name} for {s}'" for s in subjects),
        )
        return None
    event = vocabulary.event(name, subject.text)
    if event is None:
        ctx.report(
            "R217",
            f"'{name}' cannot run for '{subject.text}'",
            subject.span,
            _did_you_mean(subject.text, subjects) or "subjects are " + ", ".join(subjects),
        )
    return event


def stage_names(ctx: _Context) -> None:
    """Events, entities, fields, operators, labels and action verbs exist."""
    for rule in ctx.rules:
        ctx.events[id(rule)] = _event(ctx, rule)
        inside = {
            id(inner)
            for c in _conditions(rule.condition)
            if isinstance(c, Some)
            for inner in _conditions(c.condition)
        }
        for c in _conditions(rule.condition):
            within = id(c) in inside
            if isinstance(c, Some):
                _entity(ctx, rule, c.entity, within=True)
                inner = c.condition
                named = inner.entity if isinstance(inner, HasLabel | HasAnyLabel) else None
                if isinstance(inner, Compare | Between | In):
                    named = inner.field.entity
                if named is not None and named.text != c.entity.text:  # pragma: no cover
                    ctx.report("R218", "'any' tests one entity at a time", named.span)
            elif isinstance(c, HasLabel | HasAnyLabel):
                entity = _entity(ctx, rule, c.entity, labelled=True, within=within)
                if entity is not None:
                    for lab in (c.label,) if isinstance(c, HasLabel) else c.labels:
                        _label(ctx, entity, lab)
            elif isinstance(c, Is):
                _is(ctx, rule, c, within)
            elif isinstance(c, Compare | Between | In):
                _field(ctx, rule, c.field, within)
                if isinstance(c, Compare) and c.op.text not in OPERATORS:
                    typo = _OPERATOR_TYPOS.get(c.op.text) or suggest(c.op.text, OPERATORS)
                    ctx.report(
                        "R205",
                        f"unknown operator '{c.op.text}'",
                        c.op.span,
                        f"did you mean '{typo}'?"
                        if typo
                        else "operators are " + ", ".join(OPERATORS),
                    )
        for action in rule.actions:
            _action_names(ctx, rule, action)


def _is(ctx: _Context, rule: Rule, c: Is, within: bool) -> None:
    """``label is Customer_VIP``: the entity has an identity; a label name is declared."""
    entity = _entity(ctx, rule, c.entity, within=within)
    if entity is None:
        return
    if entity.identity is None:
        names = [spelled(n) for n in entity.field_names()]
        ctx.report(
            "R220",
            f"'{entity.name}' cannot be compared as a whole",
            c.span,
            f"compare one of its fields: {entity.name} " + f", {entity.name} ".join(names)
            if names
            else None,
        )
        return
    if entity.name == "label" and isinstance(c.value, Ident):
        event = ctx.events.get(id(rule))
        holder = ctx.vocabulary.entity(event.subject) if event and event.subject else None
        if holder is not None and holder.labelled:
            _label(ctx, holder, Name(c.value.name, span=c.value.span))


#: Words a field cannot start with (they follow an entity), and words that
#: cannot follow its first word (they follow a field).
_NOT_FIRST = frozenset({"has", "lacks", "is"})
_NOT_AFTER = frozenset({"is", "in", "not", "between"})


def spelled(name: str) -> str:
    """How a rule writes the field ``name``: its words (``order item count``), or
    the name itself when a word would read as a keyword there (``viewer is_agent``)."""
    words = name.split("_")
    if words[0] in _NOT_FIRST or any(w in _NOT_AFTER for w in words[1:]):
        return name
    return " ".join(words)


def _field(ctx: _Context, rule: Rule, ref: FieldRef, within: bool = False) -> None:
    entity = _entity(ctx, rule, ref.entity, within=within)
    if entity is None:
        return
    if entity.field(ref.field.text) is None:
        hint: str | None
        if ref.field.text == "labels" and entity.labelled:
            hint = f"test labels with '{entity.name} has label NAME'"
        else:
            words = [spelled(n) for n in entity.field_names()]
            hint = _did_you_mean(spelled(ref.field.text), words)
            if hint is None:
                hint = f"{entity.name} has " + ", ".join(words) if words else None
        ctx.report(
            "R204",
            f"unknown field '{ref.field.text.replace('_', ' ')}' of {entity.name}",
            ref.field.span,
            hint,
        )


def _action_names(ctx: _Context, rule: Rule, action: Any) -> None:
    verb = action.verb.text
    if verb not in ACTIONS:
        ctx.report(
            "R202",
            f"unknown action '{verb}'",
            action.verb.span,
            _did_you_mean(verb, list(ACTIONS)) or "actions are " + ", ".join(ACTIONS),
        )
        return
    shapes: dict[type, tuple[str, ...]] = {
        PercentDiscount: ("discount",),
        FixedDiscount: ("discount",),
        LabelAction: ("add", "remove"),
        SetField: ("set",),
        EntityAction: ("show", "hide"),
    }
    if verb not in shapes[type(action)]:
        ctx.report("R214", f"'{verb}' takes {ACTIONS[verb]}", action.span)
        return
    event = ctx.events.get(id(rule))
    if event is not None and verb not in _VERBS[event.kind]:
        allowed = _VERBS[event.kind]
        ctx.report(
            "R216",
            f"'{verb}' is not available on event '{event.name}'",
            action.verb.span,
            "its rules may " + ", ".join(allowed),
        )
        return
    if isinstance(action, LabelAction):
        expected = {"add": "to", "remove": "from"}[verb]
        if action.preposition != expected:
            ctx.report(
                "R214",
                f"write '{verb} label {action.label.text} {expected} {action.entity.text}'",
                action.span,
            )
        entity = _entity(ctx, rule, action.entity, labelled=True)
        if entity is not None:
            _label(ctx, entity, action.label)
    elif isinstance(action, SetField):
        _field(ctx, rule, action.field)
        resolved = resolve_field(ctx.vocabulary, action.field)
        if resolved is not None and not resolved[1].settable:
            entity, f = resolved
            settable = [
                f"{e.name} {g.name.replace('_', ' ')}"
                for e in ctx.vocabulary.entities
                for g in e.fields
                if g.settable
            ]
            ctx.report(
                "R216",
                f"rules cannot set {entity.name} {f.name.replace('_', ' ')}",
                action.field.span,
                "rules can set " + ", ".join(settable) if settable else None,
            )
    elif (
        isinstance(action, EntityAction)
        and event is not None
        and action.entity.text != event.subject
    ):
        ctx.report(
            "R216",
            f"'{event.name}' lists a {event.subject}: write '{verb} {event.subject}'",
            action.entity.span,
        )


# -------------------------------------------------------------- types ---


def _currency(ctx: _Context, name: Name) -> bool:
    if name.text in MINOR_UNITS:
        return True
    ctx.report(
        "R209",
        f"unknown currency '{name.text}'",
        name.span,
        _did_you_mean(name.text.upper(), list(MINOR_UNITS)) or "use an ISO 4217 code such as EUR",
    )
    return False


def _zone(ctx: _Context, d: DateValue) -> bool:
    if d.zone is not None and resolve_zone(d.zone.text) is None:
        ctx.report(
            "R208",
            f"unknown time zone '{d.zone.text}'",
            d.zone.span,
            _did_you_mean(d.zone.text, sorted(known_zones())) or "use a name such as Europe/Paris",
        )
        return False
    return True


def _value(ctx: _Context, f: Field, owner: str, v: Value) -> Any:
    """Check that ``v`` fits field ``f``; return its meaning or None."""
    label = f"{owner} {f.name.replace('_', ' ')}"
    t = f.type
    if t in (Type.MONEY, Type.DECIMAL, Type.INTEGER):
        if not isinstance(v, Number):
            ctx.report("R206", f"{label} is a number, not {_kind(v)}", v.span)
            return None
        if t is Type.INTEGER and v.value != v.value.to_integral_value():
            ctx.report("R206", f"{label} is a whole number, not {v.value}", v.span)
            return None
        return v.value
    if t is Type.CURRENCY:
        if isinstance(v, Ident | String):
            code = v.name if isinstance(v, Ident) else v.value
            if _currency(ctx, Name(code, span=v.span)):
                return code
            return None
        ctx.report("R206", f"{label} is a currency code such as EUR, not {_kind(v)}", v.span)
        return None
    if t is Type.STRING:
        if isinstance(v, String):
            text = v.value
        elif isinstance(v, Ident):
            text = v.name
        else:
            ctx.report("R206", f"{label} is a text, not {_kind(v)}", v.span)
            return None
        if f.values and text not in f.values:
            ctx.report(
                "R219",
                f"{label} is never '{text}'",
                v.span,
                _did_you_mean(text, f.values) or f"{label} is one of " + ", ".join(f.values),
            )
            return None
        return text
    if t is Type.BOOLEAN:
        if isinstance(v, Ident) and v.name in ("true", "false", "yes", "no"):
            return v.name in ("true", "yes")
        ctx.report("R206", f"{label} is true or false, not {_kind(v)}", v.span)
        return None
    if t is Type.DATETIME:
        if not isinstance(v, DateValue):
            ctx.report("R206", f"{label} is a date, not {_kind(v)}", v.span)
            return None
        if not _zone(ctx, v):
            return None
        got = parse_date(v)
        if isinstance(got, str):
            ctx.report("R207", got, v.span)
            return None
        return got
    return None  # pragma: no cover


def _kind(v: Value) -> str:
    if isinstance(v, Number):
        return f"the number {v.value}"
    if isinstance(v, String):
        return "a quoted text"
    if isinstance(v, DateValue):
        return f"the date {v.text}"
    if isinstance(v, Ident):
        return f"the name '{v.name}'"
    return "this value"  # pragma: no cover


def _identity(ctx: _Context, entity_name: str) -> tuple[Entity, Field] | None:
    entity = ctx.vocabulary.entity(entity_name)
    if entity is None or entity.identity is None:
        return None
    f = entity.field(entity.identity)
    return (entity, f) if f is not None else None


_TYPE_WORDS = {
    Type.MONEY: "an amount",
    Type.DECIMAL: "a number",
    Type.INTEGER: "a whole number",
    Type.STRING: "a text",
    Type.CURRENCY: "a currency code",
    Type.DATETIME: "a date",
    Type.BOOLEAN: "true or false",
}
_EXAMPLES = {
    Type.MONEY: ">= 100.00",
    Type.DECIMAL: "> 1.5",
    Type.INTEGER: ">= 3",
    Type.STRING: 'is "text"',
    Type.CURRENCY: "is EUR",
    Type.DATETIME: ">= 2026-01-01",
    Type.BOOLEAN: "is true",
}


def _alone(c: Compare) -> bool:
    """Whether ``c`` is a field written alone (``viewer is_agent``), not ``… = true``."""
    return c.value.span is not None and c.value.span == c.field.span


def stage_types(ctx: _Context) -> None:
    """Values fit their fields; operators fit their types; dates and codes are valid."""
    for rule in ctx.rules:
        for a in rule.actions:
            if isinstance(a, SetField):
                resolved = resolve_field(ctx.vocabulary, a.field)
                if resolved is not None and resolved[1].settable:
                    _value(ctx, resolved[1], resolved[0].name, a.value)
        for c in _conditions(rule.condition):
            if isinstance(c, Is):
                found = _identity(ctx, c.entity.text)
                if found is not None:
                    _value(ctx, found[1], found[0].name, c.value)
                continue
            if not isinstance(c, Compare | Between | In):
                continue
            resolved = resolve_field(ctx.vocabulary, c.field)
            if resolved is None:
                continue
            entity, f = resolved
            ordered = f.type in _ORDERED
            if isinstance(c, Compare) and _alone(c):
                if f.type is not Type.BOOLEAN:
                    what = f"{entity.name} {spelled(f.name)}"
                    ctx.report(
                        "R206",
                        f"{what} is {_TYPE_WORDS[f.type]}, not true or false:"
                        " a field alone is a test only when it is true or false",
                        c.field.span,
                        f"compare it, e.g. '{what} {_EXAMPLES[f.type]}'",
                    )
                continue
            if isinstance(c, Compare):
                if c.op.text in ("<", "<=", ">", ">=") and not ordered:
                    ctx.report(
                        "R206",
                        f"'{c.op.text}' does not apply to {entity.name} "
                        f"{f.name.replace('_', ' ')} ({f.type.value})",
                        c.op.span,
                        "use 'is', 'is not' or 'in (…)'",
                    )
                    continue
                _value(ctx, f, entity.name, c.value)
            elif isinstance(c, Between):
                if not ordered:
                    ctx.report(
                        "R206",
                        f"'between' does not apply to {entity.name} "
                        f"{f.name.replace('_', ' ')} ({f.type.value})",
                        c.span,
                        "use 'in (…)'",
                    )
                    continue
                low = _value(ctx, f, entity.name, c.low)
                high = _value(ctx, f, entity.name, c.high)
                if low is not None and high is not None:
                    lo = low.start if isinstance(low, Instant) else low
                    hi = high.start if isinstance(high, Instant) else high
                    reversed_ = lo > hi
                    if isinstance(high, Instant) and high.date_only:
                        reversed_ = lo >= high.end  # the upper date covers its whole day
                    if reversed_:
                        ctx.report(
                            "R306",
                            "the lower bound of 'between' is above its upper bound",
                            c.span,
                            "swap the two values",
                        )
            else:
                for v in c.values:
                    _value(ctx, f, entity.name, v)


def stage_actions(ctx: _Context) -> None:
    """Percentages in (0, 100]; amounts and caps above zero; known currencies."""
    for rule in ctx.rules:
        for a in rule.actions:
            if isinstance(a, PercentDiscount):
                if not Decimal(0) < a.percent <= Decimal(100):
                    ctx.report(
                        "R301",
                        f"a percentage discount must be above 0% and at most 100%, "
                        f"not {a.percent}%",
                        a.span,
                    )
                if a.cap is not None:
                    if _currency(ctx, a.cap.currency):
                        _precision(ctx, a.cap.amount, a.cap.currency, a.cap.span)
                    if a.cap.amount <= 0:
                        ctx.report(
                            "R303", f"a cap must be above zero, not {a.cap.amount}", a.cap.span
                        )
            elif isinstance(a, FixedDiscount):
                if _currency(ctx, a.currency):
                    _precision(ctx, a.amount, a.currency, a.span)
                if a.amount <= 0:
                    ctx.report(
                        "R302", f"a discount amount must be above zero, not {a.amount}", a.span
                    )


def _precision(ctx: _Context, amount: Decimal, currency: Name, span: Span | None) -> None:
    places = MINOR_UNITS[currency.text]
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        ctx.report(
            "R206",
            f"{currency.text} amounts have at most {places} decimal place"
            f"{'' if places == 1 else 's'}, not {amount}",
            span,
        )


def stage_rule_set(ctx: _Context) -> None:
    """Unique names, consistent settings, sane windows, no add-and-remove."""
    seen: dict[str, Rule] = {}
    for rule in ctx.rules:
        if rule.name is not None:
            first = seen.get(rule.name)
            if first is not None and first.span is not None:
                ctx.report(
                    "R304",
                    f"rule name '{rule.name}' is already used at "
                    f"{first.span.file}:{first.span.line}",
                    rule.span,
                    "give each rule its own name",
                )
            else:
                seen[rule.name] = rule
        kinds: dict[type, Any] = {}
        for m in rule.meta:
            k = type(m)
            if k in kinds:
                what = {
                    Description: "description",
                    Priority: "priority",
                    Enabled: "enabled/disabled",
                    Exclusive: "exclusive",
                    Combinable: "combinable",
                    Window: "validity window",
                }[k]
                ctx.report("R309", f"the rule sets its {what} twice", m.span, "keep one")
            kinds[k] = m
        if Exclusive in kinds and Combinable in kinds:
            ctx.report(
                "R309",
                "a rule cannot be both exclusive and combinable",
                kinds[Combinable].span,
                "exclusive blocks every other discount; combinable stacks with others",
            )
        for m in rule.meta:
            if isinstance(m, Window):
                _window(ctx, m)
        added = {
            (a.entity.text, a.label.text)
            for a in rule.actions
            if isinstance(a, LabelAction) and a.verb.text == "add"
        }
        for a in rule.actions:
            if (
                isinstance(a, LabelAction)
                and a.verb.text == "remove"
                and (a.entity.text, a.label.text) in added
            ):
                ctx.report(
                    "R310",
                    f"the rule both adds and removes label '{a.label.text}'",
                    a.span,
                )


def _window(ctx: _Context, w: Window) -> None:
    ok = all(_zone(ctx, d) for d in (w.start, w.end) if d is not None)
    if not ok:
        return
    got = window_bounds(w)
    if isinstance(got, str):
        ctx.report("R207", got, w.span)
        return
    start, end = got
    if start is not None and end is not None and end.end <= start.start:
        ctx.report(
            "R305",
            "the validity window ends before it starts",
            w.span,
            "the date after 'until' must be later than the date after 'from'",
        )


# ----------------------------------------------------- satisfiability ---

_Literal = tuple[str, Any, bool]  # ("label", (entity, name), positive) | ("cmp", …)


class _TooBig(Exception):
    pass


def _dnf(c: Condition, positive: bool = True) -> list[list[Any]]:
    """The condition as a list of conjunctions of literals (negations pushed in)."""
    if isinstance(c, Not):
        return _dnf(c.operand, not positive)
    if isinstance(c, And | Or):
        conj = isinstance(c, And) == positive
        parts = [_dnf(o, positive) for o in c.operands]
        if not conj:
            out = [t for p in parts for t in p]
        else:
            out = [[]]
            for p in parts:
                out = [a + b for a in out for b in p]
                if len(out) > _MAX_DNF_TERMS:
                    raise _TooBig
        if len(out) > _MAX_DNF_TERMS:
            raise _TooBig
        return out
    if isinstance(c, HasLabel):
        return [[("label", (c.entity.text, c.label.text), positive != c.negated)]]
    if isinstance(c, HasAnyLabel):
        names = tuple(n.text for n in c.labels)
        pos = positive != c.negated
        if pos:
            return [[("label", (c.entity.text, n), True)] for n in names]
        return [[("label", (c.entity.text, n), False) for n in names]]
    if isinstance(c, Some | Is):
        return [[("opaque", c, positive)]]
    return [[("cond", c, positive)]]


def _contradictory(term: list[Any], ctx: _Context) -> bool:
    labels: dict[tuple[str, str], bool] = {}
    fields: dict[tuple[str, str], list[tuple[Condition, bool]]] = {}
    for kind, what, positive in term:
        if kind == "label":
            if labels.get(what, positive) != positive:
                return True
            labels[what] = positive
        elif kind == "cond":
            key = (what.field.entity.text, what.field.field.text)
            fields.setdefault(key, []).append((what, positive))
    return any(_empty_range(conds, ctx) for conds in fields.values())


def _empty_range(conds: list[tuple[Condition, bool]], ctx: _Context) -> bool:
    """Whether the comparisons on one field leave no value possible."""
    resolved = resolve_field(ctx.vocabulary, conds[0][0].field)  # type: ignore[attr-defined]
    if resolved is None:
        return False
    entity, f = resolved
    lo: tuple[Any, bool] | None = None  # (value, inclusive)
    hi: tuple[Any, bool] | None = None
    allowed: set[Any] | None = None
    banned: set[Any] = set()
    quiet = _Context(ctx.vocabulary, ())

    def val(v: Value) -> Any:
        return _value(quiet, f, entity.name, v)

    def raise_lo(v: Any, inc: bool) -> None:
        nonlocal lo
        if lo is None or v > lo[0] or (v == lo[0] and not inc):
            lo = (v, inc)

    def lower_hi(v: Any, inc: bool) -> None:
        nonlocal hi
        if hi is None or v < hi[0] or (v == hi[0] and not inc):
            hi = (v, inc)

    for c, positive in conds:
        if isinstance(c, Compare):
            op = c.op.text
            if op not in OPERATORS:
                return False
            v = val(c.value)
            if v is None:
                return False
            if not positive:
                op = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op]
            if isinstance(v, Instant):
                # a date covers [start, end); a date-time is the one instant start == end
                if op == "=":
                    raise_lo(v.start, True)
                    lower_hi(v.end, not v.date_only)
                elif op == "!=":
                    if not v.date_only:
                        banned.add(v.start)
                elif op == "<":
                    lower_hi(v.start, False)
                elif op == "<=":
                    lower_hi(v.end, not v.date_only)
                elif op == ">":
                    raise_lo(v.end, not v.date_only)
                else:
                    raise_lo(v.start, True)
                continue
            if op == "=":
                allowed = {v} if allowed is None else allowed & {v}
            elif op == "!=":
                banned.add(v)
            elif op in ("<", "<="):
                lower_hi(v, op == "<=")
            else:
                raise_lo(v, op == ">=")
        elif isinstance(c, Between):
            low, high = val(c.low), val(c.high)
            if low is None or high is None:
                return False
            if c.negated != (not positive):
                continue  # outside a range: rarely contradictory, not analysed
            if isinstance(low, Instant):
                raise_lo(low.start, True)
                lower_hi(high.end, not high.date_only)
            else:
                raise_lo(low, True)
                lower_hi(high, True)
        elif isinstance(c, In):
            vs = [val(v) for v in c.values]
            if any(v is None or isinstance(v, Instant) for v in vs):
                return False
            if c.negated != (not positive):
                banned.update(vs)
            else:
                allowed = set(vs) if allowed is None else allowed & set(vs)
    if (
        lo is not None
        and hi is not None
        and (lo[0] > hi[0] or (lo[0] == hi[0] and not (lo[1] and hi[1])))
    ):
        return True
    if allowed is not None:
        remaining = {
            a
            for a in allowed - banned
            if (lo is None or a > lo[0] or (a == lo[0] and lo[1]))
            and (hi is None or a < hi[0] or (a == hi[0] and hi[1]))
        }
        if not remaining:
            return True
    return False


def stage_satisfiability(ctx: _Context) -> None:
    """R307: conditions that contradict each other, so the rule never fires.

    Rules that already have errors are skipped: the error says more.
    """
    broken = {(d.span.file, d.span.line) for d in ctx.diagnostics if d.severity == "error"}
    for rule in ctx.rules:
        if rule.condition is None or rule.span is None:
            continue
        if not isinstance(rule.condition, And | Or | Not):
            continue  # one test alone cannot contradict itself (a reversed range is R306)
        lines = range(rule.span.line, rule.span.end_line + 1)
        if any((rule.span.file, n) in broken for n in lines):
            continue
        try:
            terms = _dnf(rule.condition)
        except _TooBig:
            continue
        if terms and all(_contradictory(t, ctx) for t in terms):
            ctx.report(
                "R307",
                "the conditions contradict each other, so this rule can never fire",
                rule.condition.span,
            )


def _atoms(c: Condition, positive: bool = True) -> list[list[tuple[Condition, bool]]]:
    """The condition as a disjunction of conjunctions of atoms, each with its polarity.

    Unlike :func:`_dnf`, atoms stay as written: ``customer lacks label X``
    (false without a customer) and ``not customer has label X`` (true
    without one) differ here.
    """
    if isinstance(c, Not):
        return _atoms(c.operand, not positive)
    if isinstance(c, And | Or):
        parts = [_atoms(o, positive) for o in c.operands]
        if isinstance(c, And) != positive:
            return [t for p in parts for t in p]
        out: list[list[tuple[Condition, bool]]] = [[]]
        for p in parts:
            out = [a + b for a in out for b in p]
            if len(out) > _MAX_DNF_TERMS:
                raise _TooBig
        return out
    return [[(c, positive)]]


def _presence(ctx: _Context, atom: Condition, positive: bool) -> str | None:
    """The entity ``order has_customer is true`` (and the like) requires, if any."""
    if not isinstance(atom, Compare) or atom.op.text not in ("=", "!="):
        return None
    resolved = resolve_field(ctx.vocabulary, atom.field)
    if resolved is None or resolved[1].presence_of is None:
        return None
    value = atom.value
    if not isinstance(value, Ident) or value.name not in ("true", "yes", "false", "no"):
        return None
    says_true = (value.name in ("true", "yes")) == (atom.op.text == "=")
    truth = says_true == positive
    return resolved[1].presence_of if truth else None


def stage_optional(ctx: _Context) -> None:
    """R311: a rule that tests a missing entity's absence of something.

    A condition about a missing entity is false (an order an agent created
    alone has no customer), so ``customer lacks label Blocked`` does not
    hold for such an order although the order has no Blocked customer. The
    rule is reported when some way for it to fire tests an optional entity
    only negatively; a rule that also requires something of that entity
    is about orders with one and is left alone.
    """
    broken = {
        (d.span.file, d.span.line)
        for d in ctx.diagnostics
        if d.severity == "error" or d.code == "R307"
    }
    for rule in ctx.rules:
        event = ctx.events.get(id(rule))
        if event is None or not event.optional or rule.condition is None or rule.span is None:
            continue
        if not any(
            negative_atom(c) and entity_of(c) in event.optional for c in _conditions(rule.condition)
        ):
            continue  # no negative test of an optional entity: nothing to warn about
        lines = range(rule.span.line, rule.span.end_line + 1)
        if any((rule.span.file, n) in broken for n in lines):
            continue  # the error, or the contradiction, says more
        try:
            terms = _atoms(rule.condition)
        except _TooBig:
            continue
        for term in terms:
            negative: dict[str, Condition] = {}
            positive: set[str] = set()
            for atom, pos in term:
                present = _presence(ctx, atom, pos)
                if present is not None:
                    positive.add(present)
                    continue
                entity = entity_of(atom)
                if entity is None or entity not in event.optional or not pos:
                    continue  # under 'not', a missing entity's false becomes true: fine
                if negative_atom(atom):
                    negative.setdefault(entity, atom)
                else:
                    positive.add(entity)
            lonely = [e for e in negative if e not in positive]
            if lonely:
                entity = lonely[0]
                example = (
                    " (an order an agent created alone has no customer)"
                    if entity == "customer"
                    else ""
                )
                ctx.report(
                    "R311",
                    f"this rule never fires when there is no {entity}{example}:"
                    f" a condition about a missing {entity} is false",
                    rule.condition.span,
                    f"write 'not {entity} has label …' if such cases should match too",
                )
                break


#: The checker's stages, in the order they run.
STAGES: tuple[Callable[[_Context], None], ...] = (
    stage_limits,
    stage_declarations,
    stage_names,
    stage_types,
    stage_actions,
    stage_rule_set,
    stage_satisfiability,
    stage_optional,
)


#: The stages that only ever warn (lints: R307, R311). They come last, so no
#: other stage depends on them; loading a rule set, which keeps only errors,
#: skips them (about 40 % of the check of a large file).
LINT_STAGES = frozenset({stage_satisfiability, stage_optional})


def check(items: Sequence[Item], vocabulary: Vocabulary, *, lint: bool = True) -> list[Diagnostic]:
    """Check parsed items (from one or more files) against ``vocabulary``.

    Returns every diagnostic found, sorted by file and position; with
    ``lint=False``, without running :data:`LINT_STAGES` (every error is
    still found, some warnings are not).
    """
    ctx = _Context(vocabulary, items)
    ctx.rules = [i for i in items if isinstance(i, Rule)]
    for stage in STAGES:
        if lint or stage not in LINT_STAGES:
            stage(ctx)
    ctx.diagnostics.sort(key=lambda d: (d.span.file, d.span.line, d.span.column, d.code))
    return ctx.diagnostics
