"""Lowering: a checked rule becomes a lowered rule, its record and its condition as data.

Everything the language means is decided here, once: the fact each test
reads, date-only values as whole days, the ``is not None`` guard of ordered
comparisons, the presence guard of optional entities on negative tests,
``is`` by the entity's identity field, ``has any label of`` without repeats.
What comes out is plain data that the compiler (:mod:`rulec.dsl.compiler`),
the tracing interpreter (:mod:`rulec.dsl.trace`) and later SQL all read
alike: a :class:`LoweredRule`, the rule's record (id, name, position,
event, actions as data, settings, validity window as instants, the label
index, the facts it reads) and its condition as a tree of tests
(:mod:`rulec.dsl.lowered`), kept with its shape and constants
(:class:`rulec.dsl.shapes.Lowered`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import frozen

from rulec.dsl import nodes
from rulec.dsl.groups import group_bases
from rulec.dsl.lowered import (
    AllOf,
    AnyOf,
    Between,
    Compare,
    Condition,
    CouponIn,
    Exists,
    HasAnyLabel,
    HasLabel,
    In,
    InDays,
    Negation,
    OnDay,
    Present,
)
from rulec.dsl.resolve import (
    entity_of,
    file_name,
    negative_atom,
    resolve_field,
    rule_name,
    window_bounds,
)
from rulec.dsl.shapes import Lowered, split
from rulec.dsl.values import Instant, parse_date
from rulec.dsl.vocabulary import (
    Event,
    Type,
    Vocabulary,
    absent_key,
    coupons_key,
    fact_key,
    labels_key,
    many_key,
)

__all__ = [
    "RECORD_FIELDS",
    "REFUSALS",
    "Family",
    "Limits",
    "LoweredRule",
    "coupon_families",
    "limits_of",
    "literal",
    "lower_rules",
    "set_value",
]


#: Why a rule with limits is refused a use: the reason codes the engine gives
#: (``Refusal``, ``CouponOutcome``), and a test may state (``given rule "X" budget_spent``).
REFUSALS = ("limit_reached", "customer_limit_reached", "code_limit_reached", "budget_spent")

#: The fields of a rule's record, in order (``rulec compile`` shows them so).
RECORD_FIELDS = (
    "id",
    "name",
    "file",
    "line",
    "column",
    "event",
    "actions",
    "priority",
    "enabled",
    "exclusive",
    "combinable",
    "valid_from",
    "valid_until",
    "description",
    "labels",
    "facts",
    "action_lines",
    "group",
    "after",
    "limits",
)


@frozen
class Limits:
    """A rule's usage limits and budgets (``limit 100 uses``, ``limit 1 use per
    customer``, ``limit 1 use per code``, ``budget 1000.00 EUR``, ``uses given back
    when cancelled``).

    The database shell refuses a rule a use for one of :data:`REFUSALS`."""

    #: Uses in total, or None (no limit).
    uses: int | None = None
    #: Uses per customer, or None.
    per_customer: int | None = None
    #: ``(currency, amount)`` pairs, sorted: the discount money the rule may give.
    budgets: tuple[tuple[str, Decimal], ...] = ()
    #: Whether a cancelled order gives its use and its money back.
    give_back: bool = False
    #: Uses per code entered (``limit 1 use per code``), or None.
    per_code: int | None = None

    def budget(self, currency: str) -> Decimal | None:
        """The budget in ``currency``, or None: money in it is not limited."""
        for c, amount in self.budgets:
            if c == currency:
                return amount
        return None

    def refuses(self, reason: str) -> bool:
        """Whether these limits can refuse a use for ``reason`` (one of :data:`REFUSALS`;
        ``budget_spent``: in some currency)."""
        return {
            "limit_reached": self.uses,
            "customer_limit_reached": self.per_customer,
            "code_limit_reached": self.per_code,
            "budget_spent": self.budgets or None,
        }.get(reason) is not None

    def data(self) -> tuple[Any, ...]:
        """As plain data: ``(uses, per_customer, budgets, give_back, per_code)``."""
        return (self.uses, self.per_customer, self.budgets, self.give_back, self.per_code)


def limits_of(rule: nodes.Rule) -> Limits | None:
    """The limits a checked rule sets, or None."""
    settings = rule.usage_limits
    if not settings:
        return None
    uses = per_customer = per_code = None
    budgets: dict[str, Decimal] = {}
    give_back = False
    for m in settings:
        if isinstance(m, nodes.UsageLimit):
            if m.per is None:
                uses = int(m.count.value)
            elif m.per.text == "code":
                per_code = int(m.count.value)
            else:
                per_customer = int(m.count.value)
        elif isinstance(m, nodes.Budget):
            budgets[m.currency.text] = m.amount.value
        else:
            give_back = True
    if uses is None and per_customer is None and per_code is None and not budgets:
        return None
    return Limits(uses, per_customer, tuple(sorted(budgets.items())), give_back, per_code)


@frozen
class LoweredRule:
    """A checked rule as data: its record and its lowered condition.

    ``actions`` are tuples of ready values: ``("percent", Decimal, title,
    cap or None, cap currency or None)``, ``("fixed", Decimal, currency,
    title)``, ``("label", entity, label, add)``, ``("set", entity, field,
    value)``, ``("show" | "hide", entity)``. ``lowered`` is None for a rule
    without a condition (it always holds).
    """

    id: str
    name: str
    file: str
    line: int
    column: int
    event: str
    actions: tuple[tuple[Any, ...], ...]
    priority: int
    enabled: bool
    exclusive: bool
    combinable: bool
    valid_from: datetime | None
    valid_until: datetime | None
    description: str | None
    #: ``(entity, label)`` pairs of which one must be present, or None.
    labels: tuple[tuple[str, str], ...] | None
    #: The facts the condition reads, sorted.
    facts: tuple[str, ...]
    #: The line of each action, in the order of ``actions``.
    action_lines: tuple[int, ...]
    lowered: Lowered | None
    #: Its usage limits and budgets, or None.
    limits: Limits | None = None
    #: Its stacking group (``in group X``), or None: the default group.
    group: str | None = None
    #: The groups its group comes after, directly or not, sorted: its percentages
    #: are of the subtotal less their discounts (see :mod:`rulec.dsl.groups`).
    after: tuple[str, ...] = ()

    @property
    def condition(self) -> Condition | None:
        return None if self.lowered is None else self.lowered.condition

    def record(self) -> tuple[Any, ...]:
        """The record's fields in :data:`RECORD_FIELDS` order (the limits as plain data)."""
        limits = None if self.limits is None else self.limits.data()
        return (*(getattr(self, f) for f in RECORD_FIELDS[:-1]), limits)


#: A coupon family's members: its exact codes and its prefixes, upper case.
Family = tuple[frozenset[str], frozenset[str]]


def coupon_families(items: Iterable[nodes.Item]) -> dict[str, Family]:
    """The coupon families ``items`` declare (the first of each name), by name."""
    out: dict[str, Family] = {}
    for item in items:
        if isinstance(item, nodes.CouponFamily) and item.name.text not in out:
            codes: set[str] = set()
            prefixes: set[str] = set()
            for p in item.patterns:
                text = p.text.upper()
                if text.endswith("*"):
                    prefixes.add(text[:-1])
                else:
                    codes.add(text)
            out[item.name.text] = (frozenset(codes), frozenset(prefixes))
    return out


def lower_rules(
    items: Sequence[nodes.Item],
    vocabulary: Vocabulary,
    file: str = "<string>",
    name: str | None = None,
    groups: Mapping[str, tuple[str, ...]] | None = None,
    families: Mapping[str, Family] | None = None,
) -> tuple[LoweredRule, ...]:
    """The lowered rules of one file's checked items, in source order (``rule_0001``, …).

    ``name`` is the file's name in its rule set (its one-line rules are named
    ``NAME:LINE``; see :attr:`rulec.dsl.sources.Source.name`), by default
    its base name. ``groups``: the rule set's stacking groups and the groups
    each comes after (:func:`rulec.dsl.groups.group_bases` of every file's
    items), by default those this file declares. ``families``: the rule set's
    coupon families (:func:`coupon_families` of all its files), by default
    those ``items`` declare. Only rules that passed
    :func:`rulec.dsl.check.check` may be lowered.
    """
    lowering = _Lowering(vocabulary, file, file_name(file) if name is None else name)
    lowering.groups = group_bases(items) if groups is None else groups
    lowering.families = coupon_families(items) if families is None else families
    rules = [i for i in items if isinstance(i, nodes.Rule)]
    return tuple(lowering.rule(r, f"rule_{n:04d}") for n, r in enumerate(rules, start=1))


#: Priority, enabled, exclusive and combinable of a rule without metadata.
_NO_META = (0, True, False, False)


class _Lowering:
    """One ``lower_<Node>`` per condition node of the syntax tree."""

    def __init__(self, vocabulary: Vocabulary, file: str, name: str) -> None:
        self.vocabulary = vocabulary
        self.file = file
        #: The file's name in its rule set: its one-line rules are ``NAME:LINE``.
        self.name = name
        #: (entity, field) -> (fact key, type), resolved once per rule set.
        self.fields: dict[tuple[str, str], tuple[str, Type]] = {}
        self.events: dict[tuple[str, str | None], Event | None] = {}
        self.shapes: dict[Hashable, Hashable] = {}
        self.read_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        #: The facts the rule being lowered reads.
        self.keys: set[str] = set()
        self.event: Event | None = None
        #: Inside ``any ENTITY …``: facts are the member's, not the event's.
        self.within = False
        #: The stacking groups and the groups each comes after.
        self.groups: Mapping[str, tuple[str, ...]] = {}
        #: The rule set's coupon families, by name.
        self.families: Mapping[str, Family] = {}

    def rule(self, rule: nodes.Rule, rule_id: str) -> LoweredRule:
        subject = rule.subject.text if rule.subject is not None else None
        where = (rule.event.text, subject)
        if where not in self.events:
            self.events[where] = self.vocabulary.event(*where)
        self.event = event = self.events[where]
        self.keys = set()
        self.within = False
        cond = rule.condition
        lowered = None
        if cond is not None:
            tree = self.lower(cond)
            shape, constants, positions = split(tree)
            shape = self.shapes.setdefault(shape, shape)  # one key object per shape
            lowered = Lowered(shape, constants, self.file, positions, tree=tree)
        start = end = None
        if rule.meta:
            window = rule.window
            if window is not None:
                got = window_bounds(window)
                assert not isinstance(got, str), "lower only checked rules"
                w_start, w_end = got
                start = w_start.start if w_start else None
                end = w_end.end if w_end else None
            meta = (rule.priority, rule.enabled, rule.exclusive, rule.combinable)
            description = rule.description
        else:  # a one-line rule: the defaults, without a look at its (empty) metadata
            meta = _NO_META
            description = None
        labels = _index_labels(cond)
        span = rule.span
        actions = tuple(_action(a) for a in rule.actions)
        if any(a[0] in LINE_ACTIONS for a in actions):
            self.keys.add("item.all")  # the lines it discounts
        return LoweredRule(
            rule_id,
            rule_name(rule, self.name),
            self.file,
            span.line if span else 0,
            span.column if span else 0,
            event.key if event is not None else rule.event.text,
            actions,
            *meta,
            start,
            end,
            description,
            None if labels is None else tuple(sorted(labels)),
            self.interned(tuple(sorted(self.keys))),
            tuple(a.span.line if a.span else 0 for a in rule.actions),
            lowered,
            limits_of(rule) if rule.meta else None,
            *self.group(rule),
        )

    def group(self, rule: nodes.Rule) -> tuple[str | None, tuple[str, ...]]:
        """The rule's stacking group and the groups that group comes after."""
        group = rule.group if rule.meta else None
        return (None, ()) if group is None else (group, self.groups.get(group, ()))

    def interned(self, value: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple object for equal tuples of facts (most rules read the same few)."""
        return self.read_keys.setdefault(value, value)

    # -- conditions

    def lower(self, node: nodes.Condition) -> Condition:
        got: Condition = _LOWER[type(node)](self, node)
        entity = entity_of(node)
        event = self.event
        if (
            entity is not None
            and not self.within
            and event
            and entity in event.optional
            and negative_atom(node)
        ):
            # About a missing entity (no customer) a condition is false. The
            # positive ones already are: a missing entity has no labels and
            # its fields are None, which no positive test accepts.
            key = absent_key(entity)
            self.keys.add(key)
            guard = Present(key, span=node.span)
            got = AllOf((guard, got), span=node.span)
        return got

    def read(self, key: str) -> str:
        if not self.within:
            self.keys.add(key)
        return key

    def lower_And(self, node: nodes.And) -> Condition:
        return AllOf(tuple(map(self.lower, node.operands)), span=node.span)

    def lower_Or(self, node: nodes.Or) -> Condition:
        return AnyOf(tuple(map(self.lower, node.operands)), span=node.span)

    def lower_Not(self, node: nodes.Not) -> Condition:
        return Negation(self.lower(node.operand), span=node.span)

    def lower_Some(self, node: nodes.Some) -> Condition:
        key = self.read(many_key(node.entity.text))
        self.within = True
        try:
            inner = self.lower(node.condition)
        finally:
            self.within = False
        return Exists(key, inner, span=node.span)

    def lower_HasLabel(self, node: nodes.HasLabel) -> Condition:
        key = self.read(labels_key(node.entity.text))
        return HasLabel(key, node.label.text, node.negated, span=node.span)

    def lower_HasCoupon(self, node: nodes.HasCoupon) -> Condition:
        """A code entered: a member of the entity's codes, in capitals (as the facts hold them)."""
        key = self.read(coupons_key(node.entity.text))
        return HasLabel(key, node.code.text.upper(), node.negated, span=node.span)

    def lower_HasCouponIn(self, node: nodes.HasCouponIn) -> Condition:
        """A code of a family entered: its codes and prefixes, in capitals."""
        key = self.read(coupons_key(node.entity.text))
        codes, prefixes = self.families[node.family.text]
        family = node.family.text
        return CouponIn(key, family, codes, prefixes, node.negated, span=node.span)

    def lower_HasAnyLabel(self, node: nodes.HasAnyLabel) -> Condition:
        key = self.read(labels_key(node.entity.text))
        names = tuple(dict.fromkeys(n.text for n in node.labels))
        return HasAnyLabel(key, names, node.negated, span=node.span)

    def lower_Is(self, node: nodes.Is) -> Condition:
        entity = self.vocabulary.entity(node.entity.text)
        assert entity is not None and entity.identity is not None, "lower only checked rules"
        ref = nodes.FieldRef(
            node.entity, nodes.Name(entity.identity, span=node.span), span=node.span
        )
        op = nodes.Name("!=" if node.negated else "=")
        return self.lower_Compare(nodes.Compare(ref, op, node.value, span=node.span))

    def field(self, ref: nodes.FieldRef) -> tuple[str, Type]:
        where = (ref.entity.text, ref.field.text)
        got = self.fields.get(where)
        if got is None:
            resolved = resolve_field(self.vocabulary, ref)
            assert resolved is not None, "lower only checked rules"
            entity, f = resolved
            got = self.fields[where] = (fact_key(entity.name, f.name), f.type)
        self.read(got[0])
        return got

    def lower_Compare(self, node: nodes.Compare) -> Condition:
        key, t = self.field(node.field)
        value = literal(node.value, t)
        op = node.op.text
        if isinstance(value, Instant):
            if value.date_only:
                return OnDay(key, op, value.start, value.end, span=node.span)
            return Compare(key, op, value.start, True, span=node.span)
        return Compare(key, op, value, op not in ("=", "!="), span=node.span)

    def lower_Between(self, node: nodes.Between) -> Condition:
        key, t = self.field(node.field)
        low = literal(node.low, t)
        high = literal(node.high, t)
        if isinstance(low, Instant):
            assert isinstance(high, Instant)
            top = high.end if high.date_only else high.start
            return Between(key, low.start, top, node.negated, high.date_only, span=node.span)
        return Between(key, low, high, node.negated, False, span=node.span)

    def lower_In(self, node: nodes.In) -> Condition:
        key, t = self.field(node.field)
        values = [literal(v, t) for v in node.values]
        if t is Type.DATETIME:  # a date is a whole day: membership of ranges
            whole: list[bool] = []
            bounds: list[datetime] = []
            for v in values:
                assert isinstance(v, Instant)
                whole.append(v.date_only)
                bounds += (v.start, v.end) if v.date_only else (v.start,)
            return InDays(key, tuple(whole), tuple(bounds), node.negated, span=node.span)
        return In(key, frozenset(values), node.negated, span=node.span)


#: ``_Lowering``'s method per syntax node class.
_LOWER: dict[type, Any] = {
    cls: getattr(_Lowering, f"lower_{cls.__name__}")
    for cls in (
        nodes.Some,
        nodes.Is,
        nodes.And,
        nodes.Or,
        nodes.Not,
        nodes.HasLabel,
        nodes.HasCoupon,
        nodes.HasCouponIn,
        nodes.HasAnyLabel,
        nodes.Compare,
        nodes.Between,
        nodes.In,
    )
}


def literal(v: nodes.Value, t: Type) -> Any:
    """A literal as a ready value: Decimal, int, str, bool, or an Instant for dates."""
    if isinstance(v, nodes.Number):
        return int(v.value) if t is Type.INTEGER else v.value
    if isinstance(v, nodes.String):
        return v.value
    if isinstance(v, nodes.Ident):
        return v.name in ("true", "yes") if t is Type.BOOLEAN else v.name
    assert isinstance(v, nodes.DateValue)
    got = parse_date(v)
    assert isinstance(got, Instant), "lower only checked rules"
    return got


def set_value(a: nodes.SetField) -> str:
    """The text a ``set`` action writes (``set order status to confirmed``: confirmed)."""
    value = a.value
    text = value.name if isinstance(value, nodes.Ident) else getattr(value, "value", None)
    assert isinstance(text, str), "lower only checked rules: settable fields are texts"
    return text


def _action(a: Any) -> tuple[Any, ...]:
    """An action as data: ``("percent", Decimal("10"), title, cap, cap_currency)``, …

    Discounts on the order's lines: ``("items_percent", percent, title, label,
    cap, cap_currency, per_line)``, ``("per_item", amount, currency, title,
    label)``, ``("buy", paid, free, title, label)`` (``buy 3 for 2`` is ``buy 2
    get 1 free``); a tiered discount: ``("tiers", title, ((threshold,
    currency, percent, amount, amount_currency), …))``. ``label`` None: every line.
    Off the shipping charge: ``("shipping", title, percent, amount, currency)``
    (``free shipping``: percent and amount None).
    """
    if isinstance(a, nodes.PercentDiscount):
        cap = a.cap
        if a.items is not None:
            return (
                "items_percent",
                a.percent,
                a.title,
                _label_of(a.items),
                None if cap is None else cap.amount,
                None if cap is None else cap.currency.text,
                cap is not None and cap.per_line,
            )
        return (
            "percent",
            a.percent,
            a.title,
            None if cap is None else cap.amount,
            None if cap is None else cap.currency.text,
        )
    if isinstance(a, nodes.FixedDiscount):
        if a.per_item:
            return ("per_item", a.amount, a.currency.text, a.title, _label_of(a.items))
        return ("fixed", a.amount, a.currency.text, a.title)
    if isinstance(a, nodes.BuyGet):
        paid, free = (a.first, a.second) if a.form == "get" else (a.second, a.first - a.second)
        return ("buy", int(paid), int(free), a.title, _label_of(a.items))
    if isinstance(a, nodes.TieredDiscount):
        tiers = tuple(
            (
                t.threshold,
                t.threshold_currency.text,
                t.percent,
                t.amount,
                None if t.currency is None else t.currency.text,
            )
            for t in a.tiers
        )
        return ("tiers", a.title, tiers)
    if isinstance(a, nodes.ShippingDiscount):
        currency = None if a.currency is None else a.currency.text
        return ("shipping", a.title, a.percent, a.amount, currency)
    if isinstance(a, nodes.SetField):
        return ("set", a.field.entity.text, a.field.field.text, set_value(a))
    if isinstance(a, nodes.EntityAction):
        return (a.verb.text, a.entity.text)
    assert isinstance(a, nodes.LabelAction)
    return ("label", a.entity.text, a.label.text, a.verb.text == "add")


def _label_of(items: nodes.OnItems | None) -> str | None:
    return None if items is None or items.label is None else items.label.text


#: The kinds of lowered action that discount the order's lines: a rule with one
#: reads the order's lines (``item.all``).
LINE_ACTIONS = frozenset({"items_percent", "per_item", "buy"})


def _index_labels(cond: nodes.Condition | None) -> frozenset[tuple[str, str]] | None:
    """Labels of which at least one must be present for ``cond`` to hold.

    None means no such set is known and the rule must be scanned on every
    event; the engine indexes rules by these labels (a Rete alpha network).
    """
    if isinstance(cond, nodes.HasLabel) and not cond.negated:
        return frozenset({(cond.entity.text, cond.label.text)})
    if isinstance(cond, nodes.HasAnyLabel) and not cond.negated:
        return frozenset((cond.entity.text, n.text) for n in cond.labels)
    if isinstance(cond, nodes.And):
        known = [s for s in map(_index_labels, cond.operands) if s is not None]
        return min(known, key=len) if known else None
    if isinstance(cond, nodes.Or):
        parts: list[frozenset[tuple[str, str]]] = []
        for o in cond.operands:
            part = _index_labels(o)
            if part is None:
                return None
            parts.append(part)
        return frozenset().union(*parts)
    return None
