"""Declarations and names (R2xx): label declarations, events, entities,
fields, operators, labels and action verbs exist where a rule uses them.

Resolves each rule's event once into :attr:`Context.events`, which the later
stages read.
"""

from __future__ import annotations

import re
from typing import Any

from rulec.dsl.check.context import Context, did_you_mean, walk
from rulec.dsl.habits import field_habit
from rulec.dsl.nodes import (
    Between,
    BuyGet,
    Compare,
    EntityAction,
    FieldRef,
    FixedDiscount,
    HasAnyLabel,
    HasCoupon,
    HasCouponIn,
    HasLabel,
    Ident,
    In,
    Is,
    LabelAction,
    LabelDecl,
    Name,
    PercentDiscount,
    Rule,
    SetField,
    ShippingDiscount,
    Some,
    TieredDiscount,
    label_text,
)
from rulec.dsl.resolve import resolve_field
from rulec.dsl.spelling import suggest
from rulec.dsl.verbs import ACTIONS
from rulec.dsl.vocabulary import Entity, Event, Kind, Type, Vocabulary

__all__ = ["ACTIONS", "OPERATORS", "spelled", "stage_declarations", "stage_names"]


#: The comparison operators of the language.
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
#: The verbs allowed on each kind of event.
_VERBS = {
    Kind.ORDER: ("discount", "free", "buy", "add", "remove", "set"),
    Kind.LABEL: ("add", "remove", "set"),
    Kind.SCHEDULED: ("add", "remove", "set"),
    Kind.LISTING: ("show", "hide"),
}
_OPERATOR_TYPOS = {"==": "=", "=>": ">=", "=<": "<=", "<>": "!=", "=!": "!=", "!": "!="}


def stage_declarations(ctx: Context) -> None:
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
                did_you_mean(ent, [e.name for e in ctx.vocabulary.entities]),
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
    ctx: Context, rule: Rule, name: Name, *, labelled: bool = False, within: bool = False
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
            did_you_mean(name.text, candidates),
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


def _label(ctx: Context, entity: Entity, label: Name) -> None:
    if not ctx.labels:
        if not ctx.warned_undeclared:
            ctx.warned_undeclared = True
            ctx.report(
                "R211",
                "the rule set declares no labels, so label names such as "
                f"'{label.text}' cannot be checked",
                label.span,
                f"declare them, e.g. 'label {label_text(label.text)} for {entity.name}'",
            )
        return
    by_entity = ctx.labels.get(label.text)
    if by_entity is None:
        declared = [n for n, ents in ctx.labels.items() if entity.name in ents]
        hint = did_you_mean(label.text, declared)
        ctx.report(
            "R210",
            f"label '{label.text}' is not declared",
            label.span,
            hint or f"declare it with 'label {label_text(label.text)} for {entity.name}'",
        )
    elif entity.name not in by_entity:
        ctx.report(
            "R212",
            f"label '{label.text}' is declared for {', '.join(sorted(by_entity))}, "
            f"not for {entity.name}",
            label.span,
        )


def on_items(action: Any) -> bool:
    """Whether ``action`` is a discount on the order's lines (``… on items …``,
    ``per item``, ``buy 2 get 1 free``)."""
    if isinstance(action, PercentDiscount):
        return action.items is not None
    if isinstance(action, FixedDiscount):
        return action.per_item
    return isinstance(action, BuyGet)


def _shipping(ctx: Context, rule: Rule, action: ShippingDiscount) -> None:
    """A shipping discount needs the order's shipping charge: an event with the
    order, whose vocabulary gives the order a ``shipping`` field of money (R216)."""
    event = ctx.events.get(id(rule))
    if event is None:
        return
    order = ctx.vocabulary.entity("order") if "order" in event.entities else None
    shipping = None if order is None else order.field("shipping")
    if shipping is not None and shipping.type is Type.MONEY:
        return
    what = (
        f"event '{event.name}' has no order"
        if order is None
        else "the vocabulary's order has no 'shipping' field of money"
    )
    ctx.report(
        "R216",
        f"a shipping discount needs the order's shipping charge, and {what}",
        action.span,
        "add the field to the vocabulary: [entities.order.fields.shipping] with "
        'type = "money" (docs/vocabulary.md)'
        if order is not None
        else None,
    )


def _items(ctx: Context, rule: Rule, action: Any) -> None:
    """A discount on items: the event must have the order's lines (R216), and
    its label must be declared for items (R210, R212)."""
    event = ctx.events.get(id(rule))
    entity = ctx.vocabulary.entity("item")
    if event is not None and "item" not in event.many:
        ctx.report(
            "R216",
            f"a discount on items needs the order's lines, and event '{event.name}' has none",
            action.span,
            "discount the whole order ('discount 10% \"…\"'), or use an event with items"
            + (" such as " + ", ".join(_item_events(ctx)) if _item_events(ctx) else ""),
        )
        return
    items = action.items
    if entity is not None and items is not None and items.label is not None:
        _label(ctx, entity, items.label)


def _item_events(ctx: Context) -> list[str]:
    return [e.name for e in ctx.vocabulary.events if "item" in e.many][:3]


def _events_summary(vocabulary: Vocabulary) -> str:
    """The events, label events folded: 'events are order_created, …, and
    ENTITY_labeled, ENTITY_unlabeled for customer, order, …'."""
    plain = [e.name for e in vocabulary.events if e.kind is not Kind.LABEL]
    holders = [e.subject for e in vocabulary.events if e.kind is Kind.LABEL and e.subject]
    text = "events are " + ", ".join(dict.fromkeys(plain))
    if holders:
        text += ", and ENTITY_labeled, ENTITY_unlabeled for " + ", ".join(dict.fromkeys(holders))
    return text


def _event(ctx: Context, rule: Rule) -> Event | None:
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


def _resolve_event(ctx: Context, rule: Rule) -> Event | None:
    vocabulary = ctx.vocabulary
    name, subject = rule.event.text, rule.subject
    names = vocabulary.event_names()
    if name not in names:
        ctx.report(
            "R201",
            f"unknown event '{name}'",
            rule.event.span,
            did_you_mean(name, names) or _events_summary(vocabulary),
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
            did_you_mean(subject.text, subjects) or "subjects are " + ", ".join(subjects),
        )
    return event


def stage_names(ctx: Context) -> None:
    """Events, entities, fields, operators, labels and action verbs exist."""
    for rule in ctx.rules:
        ctx.events[id(rule)] = _event(ctx, rule)
        inside = {
            id(inner)
            for c in walk(rule.condition)
            if isinstance(c, Some)
            for inner in walk(c.condition)
        }
        for c in walk(rule.condition):
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
            elif isinstance(c, HasCoupon | HasCouponIn):
                _coupon(ctx, rule, c, within)
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
                        _operator_fix(ctx.source(c.span), c.op.text, typo)
                        if typo
                        else "operators are " + ", ".join(OPERATORS),
                    )
        for action in rule.actions:
            _action_names(ctx, rule, action)


#: What a coupon code may hold: letters, digits, '-' and '_', at most 64 of them.
COUPON_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _coupon(ctx: Context, rule: Rule, c: HasCoupon | HasCouponIn, within: bool) -> None:
    """``order has coupon "SPRING10"`` (or ``in Partner``): an entity that carries
    codes; a code one can type (or a family declared, R232)."""
    entity = _entity(ctx, rule, c.entity, within=within)
    what = f'"{c.code.text}"' if isinstance(c, HasCoupon) else f"in {c.family.text}"
    if entity is not None and not entity.coupons:
        carriers = [e.name for e in ctx.vocabulary.entities if e.coupons]
        ctx.report(
            "R230",
            f"'{entity.name}' does not carry coupon codes",
            c.entity.span,
            f"coupon codes are entered on the {carriers[0]}: write "
            f"'{carriers[0]} has coupon {what}'"
            if carriers
            else "the vocabulary declares no entity with coupon codes (coupons = true)",
        )
    if isinstance(c, HasCoupon):
        coupon_code(ctx, c.code)
    else:
        _family(ctx, c.family)


def _family(ctx: Context, name: Name) -> None:
    """R232 for a family no ``coupon family`` declares (stage_families found them)."""
    if name.text not in ctx.families:
        known = list(ctx.families)
        ctx.report(
            "R232",
            f"unknown coupon family '{name.text}'",
            name.span,
            did_you_mean(name.text, known)
            or (
                "coupon families are " + ", ".join(sorted(known))
                if known
                else f'declare it: coupon family {name.text} is "CODE", "PREFIX-*"'
            ),
        )


def coupon_code(ctx: Context, code: Name) -> None:
    """R231 for a code no one could type, in a rule or in a test's ``expect coupon``."""
    if COUPON_CODE.fullmatch(code.text) is None:
        cleaned = re.sub(r"[^A-Za-z0-9_-]+", "", code.text.replace(" ", "-"))[:64]
        ctx.report(
            "R231",
            f"'{code.text}' is not a coupon code: codes are letters, digits, '-' and '_', "
            "at most 64",
            code.span,
            f'write "{cleaned}"' if cleaned else None,
        )


def _operator_fix(comparison: str | None, typed: str, meant: str) -> str:
    """``did you mean '>='? write order subtotal >= 100``: the user's comparison, mended."""
    if comparison is None or typed not in comparison:  # pragma: no cover - spans hold the text
        return f"did you mean '{meant}'?"
    return f"did you mean '{meant}'? write {comparison.replace(typed, meant, 1)}"


def _is(ctx: Context, rule: Rule, c: Is, within: bool) -> None:
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


def _field(ctx: Context, rule: Rule, ref: FieldRef, within: bool = False) -> None:
    entity = _entity(ctx, rule, ref.entity, within=within)
    if entity is None:
        return
    if entity.field(ref.field.text) is None:
        hint: str | None
        habit = field_habit(entity.name, ref.field.text.split("_"))
        if habit is not None:  # keywords read as a field: 'customer not has label X'
            ctx.report(habit[0], habit[1], ref.field.span, habit[2])
            return
        if ref.field.text == "labels" and entity.labelled:
            hint = f"test labels with '{entity.name} has label NAME'"
        else:
            words = [spelled(n) for n in entity.field_names()]
            hint = did_you_mean(spelled(ref.field.text), words)
            if hint is None:
                hint = f"{entity.name} has " + ", ".join(words) if words else None
        ctx.report(
            "R204",
            f"unknown field '{ref.field.text.replace('_', ' ')}' of {entity.name}",
            ref.field.span,
            hint,
        )


def _action_names(ctx: Context, rule: Rule, action: Any) -> None:
    verb = action.verb.text
    if verb not in ACTIONS:
        ctx.report(
            "R202",
            f"unknown action '{verb}'",
            action.verb.span,
            did_you_mean(verb, list(ACTIONS)) or "actions are " + ", ".join(ACTIONS),
        )
        return
    shapes: dict[type, tuple[str, ...]] = {
        PercentDiscount: ("discount",),
        FixedDiscount: ("discount",),
        TieredDiscount: ("discount",),
        BuyGet: ("buy",),
        LabelAction: ("add", "remove"),
        SetField: ("set",),
        EntityAction: ("show", "hide"),
        ShippingDiscount: ("discount", "free"),
    }
    if isinstance(action, ShippingDiscount):  # 'free shipping', 'discount … on shipping'
        free = action.percent is None and action.amount is None
        shapes[ShippingDiscount] = ("free",) if free else ("discount",)
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
    if on_items(action):
        _items(ctx, rule, action)
    elif isinstance(action, ShippingDiscount):
        _shipping(ctx, rule, action)
    elif isinstance(action, LabelAction):
        expected = {"add": "to", "remove": "from"}[verb]
        if action.preposition != expected:
            ctx.report(
                "R214",
                f"write '{verb} label {label_text(action.label.text)} {expected} "
                f"{action.entity.text}'",
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
