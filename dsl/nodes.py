"""The rule language's abstract syntax tree.

Nodes are frozen, slotted attrs classes. Every node carries a :class:`Span`
as a keyword-only attribute that is left out of equality, so trees compare
by structure whatever their positions (``parse(src) == (Rule(...),)``).

Validators check *shape* only; business problems (a percentage above 100,
an unknown label) are the checker's job and become diagnostics with spans.
"""

from __future__ import annotations

import re
from decimal import Decimal

import attrs
from attrs import frozen
from attrs.validators import deep_iterable, instance_of, optional

__all__ = [
    "Action",
    "And",
    "Between",
    "Budget",
    "BuyGet",
    "Cap",
    "Combinable",
    "Comment",
    "Compare",
    "Condition",
    "CouponFamily",
    "DateValue",
    "Description",
    "Enabled",
    "EntityAction",
    "Exclusive",
    "ExpectAction",
    "ExpectCoupon",
    "ExpectDescription",
    "ExpectFigure",
    "ExpectNoDiscount",
    "ExpectRule",
    "Expectation",
    "FieldRef",
    "FixedDiscount",
    "GiveBack",
    "GivenRefusal",
    "GroupDecl",
    "HasAnyLabel",
    "HasCoupon",
    "HasCouponIn",
    "HasLabel",
    "Ident",
    "In",
    "InGroup",
    "Is",
    "Item",
    "LabelAction",
    "LabelDecl",
    "Meta",
    "Name",
    "Node",
    "Not",
    "Number",
    "OnItems",
    "Or",
    "PercentDiscount",
    "Priority",
    "Rule",
    "RuleTest",
    "SetField",
    "ShippingDiscount",
    "Some",
    "Span",
    "String",
    "Tier",
    "TieredDiscount",
    "UsageLimit",
    "Value",
    "Window",
    "comment_at",
    "label_text",
    "name_at",
    "walk",
]


@frozen
class Span:
    """A region of a source file: 1-based lines and columns, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@frozen
class Node:
    """Base of every node: a position that does not take part in equality."""

    span: Span | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)


def _children(node: Node) -> tuple[Node, ...]:
    out: list[Node] = []
    for a in node.__attrs_attrs__:  # type: ignore[attr-defined]
        if a.name == "span":
            continue
        v = getattr(node, a.name)
        if isinstance(v, Node):
            out.append(v)
        elif isinstance(v, tuple):
            out.extend(x for x in v if isinstance(x, Node))
    return tuple(out)


def walk(node: Node):  # type: ignore[no-untyped-def]
    """Yield ``node`` and every node below it, depth first, without recursion."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(_children(n)))


# ---------------------------------------------------------------- names ---


@frozen
class Name(Node):
    """An identifier as written: an event, entity, field word, label, currency…"""

    text: str = attrs.field(validator=instance_of(str))

    def __str__(self) -> str:
        return self.text


#: A plain name, as the grammar's NAME terminal reads it.
_PLAIN_NAME = re.compile(r"[^\W\d]\w*")


def label_text(name: str) -> str:
    """A label's name as written in a rule: plain when it can be (``Customer_VIP``),
    else quoted (``"Season 2026-2027"``)."""
    if _PLAIN_NAME.fullmatch(name):
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t") + '"'


def name_at(text: str, file: str, line: int, column: int) -> Name:
    """A name at ``line``, ``column`` of ``file`` (the lexer's text is always a str)."""
    return Name(text, span=Span(file, line, column, line, column + len(text)))


# --------------------------------------------------------------- values ---


@frozen
class Value(Node):
    """Base of literal values on the right of a comparison."""


@frozen
class Number(Value):
    value: Decimal = attrs.field(converter=Decimal)


@frozen
class String(Value):
    value: str = attrs.field(validator=instance_of(str))


@frozen
class Ident(Value):
    """A bare word used as a value: ``EUR`` in ``order currency is EUR``."""

    name: str = attrs.field(validator=instance_of(str))


@frozen
class DateValue(Value):
    """A date or date-time as written; the checker validates it."""

    text: str = attrs.field(validator=instance_of(str))
    zone: Name | None = attrs.field(default=None, validator=optional(instance_of(Name)))


# ----------------------------------------------------------- conditions ---


@frozen
class Condition(Node):
    """Base of conditions."""


@frozen
class FieldRef(Node):
    """``order subtotal``, ``customer order count``: an entity and a field."""

    entity: Name
    field: Name  # the field words joined by '_'


@frozen
class HasLabel(Condition):
    """``customer has label X`` (``negated``: ``customer lacks label X``)."""

    entity: Name
    label: Name
    negated: bool = False


@frozen
class HasCoupon(Condition):
    """``order has coupon "SPRING10"`` (``negated``: ``order lacks coupon …``): the
    customer entered the code; codes are compared without regard to case."""

    entity: Name
    code: Name
    negated: bool = False


@frozen
class HasCouponIn(Condition):
    """``order has coupon in Partner`` (``negated``: ``order lacks coupon in …``): the
    customer entered a code of the family ``Partner`` (a ``coupon family``)."""

    entity: Name
    family: Name
    negated: bool = False


@frozen
class HasAnyLabel(Condition):
    """``customer has any label of A, B`` (``negated``: ``lacks any label of``)."""

    entity: Name
    labels: tuple[Name, ...] = attrs.field(converter=tuple)
    negated: bool = False


@frozen
class Compare(Condition):
    """``field OP value`` where OP is ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``.

    ``is`` is written as ``=`` and ``is not`` as ``!=``; an operator the
    language does not know is kept as written for the checker to report.
    """

    field: FieldRef
    op: Name
    value: Value


@frozen
class Between(Condition):
    """``field between low and high`` (inclusive on both ends)."""

    field: FieldRef
    low: Value
    high: Value
    negated: bool = False


@frozen
class In(Condition):
    """``field in (a, b, …)``."""

    field: FieldRef
    values: tuple[Value, ...] = attrs.field(converter=tuple)
    negated: bool = False


@frozen
class Some(Condition):
    """``any item has label X``: ``condition`` (about ``entity``) holds for one of a list."""

    entity: Name
    condition: Condition


@frozen
class Is(Condition):
    """``label is Customer_VIP``: the entity itself, by its identity field."""

    entity: Name
    value: Value
    negated: bool = False


@frozen
class And(Condition):
    operands: tuple[Condition, ...] = attrs.field(converter=tuple)


@frozen
class Or(Condition):
    operands: tuple[Condition, ...] = attrs.field(converter=tuple)


@frozen
class Not(Condition):
    operand: Condition


# -------------------------------------------------------------- actions ---


@frozen
class Action(Node):
    """Base of actions. ``verb`` is the action's name as written."""

    verb: Name


@frozen
class Cap(Node):
    """``up to 30.00 EUR`` on a percentage discount; ``up to 5.00 EUR per line``
    caps each line's part of a discount on items."""

    amount: Decimal = attrs.field(converter=Decimal)
    currency: Name
    per_line: bool = False


@frozen
class OnItems(Node):
    """``on items`` (every line) or ``on items with label Clearance``: the order's
    lines a discount is on."""

    label: Name | None = None


@frozen
class PercentDiscount(Action):
    """``discount 10% "title"`` or ``discount 10% up to 20.00 EUR "title"``; with
    ``items``, a percentage of each matching line (``discount 20% on items with
    label Clearance "title"``)."""

    percent: Decimal = attrs.field(converter=Decimal)
    title: str = attrs.field(validator=instance_of(str))
    cap: Cap | None = None
    items: OnItems | None = None


@frozen
class FixedDiscount(Action):
    """``discount 5.00 EUR "title"``; with ``per_item``, that amount off each unit of
    the matching lines (``discount 2.00 EUR per item on items with label Socks "t"``;
    no ``on items``: every line)."""

    amount: Decimal = attrs.field(converter=Decimal)
    currency: Name
    title: str = attrs.field(validator=instance_of(str))
    per_item: bool = False
    items: OnItems | None = None


@frozen
class BuyGet(Action):
    """``buy 2 get 1 free on items with label Socks "title"`` (``form`` "get": buy
    ``first``, get ``second`` more free) or ``buy 3 for 2 "title"`` (``form`` "for":
    ``first`` units for the price of ``second``). Repeated as often as the basket
    allows; the cheapest units are the free ones."""

    first: Decimal = attrs.field(converter=Decimal)
    second: Decimal = attrs.field(converter=Decimal)
    form: str = attrs.field(validator=attrs.validators.in_(("get", "for")))
    title: str = attrs.field(validator=instance_of(str))
    items: OnItems | None = None


@frozen
class ShippingDiscount(Action):
    """Off the order's shipping charge: ``free shipping "title"`` (the whole charge:
    ``percent`` and ``amount`` None), ``discount 50% on shipping "title"``
    (``percent``) or ``discount 4.95 EUR on shipping "title"`` (``amount`` and
    ``currency``)."""

    title: str = attrs.field(validator=instance_of(str))
    percent: Decimal | None = None
    amount: Decimal | None = None
    currency: Name | None = None


@frozen
class Tier(Node):
    """``10.00 EUR from 100.00 EUR`` or ``5% from 50.00 EUR``: one tier of a tiered
    discount (``percent``, or ``amount`` and ``currency``)."""

    threshold: Decimal = attrs.field(converter=Decimal)
    threshold_currency: Name
    percent: Decimal | None = None
    amount: Decimal | None = None
    currency: Name | None = None


@frozen
class TieredDiscount(Action):
    """``discount 10.00 EUR from 100.00 EUR, 25.00 EUR from 200.00 EUR "title"``: the
    highest tier the order's subtotal reaches applies."""

    tiers: tuple[Tier, ...] = attrs.field(
        converter=tuple, validator=deep_iterable(instance_of(Tier))
    )
    title: str = attrs.field(validator=instance_of(str))


@frozen
class LabelAction(Action):
    """``add label X to customer`` / ``remove label X from customer``."""

    label: Name
    preposition: str  # "to" or "from"
    entity: Name


@frozen
class SetField(Action):
    """``set order status to confirmed``."""

    field: FieldRef
    value: Value


@frozen
class EntityAction(Action):
    """``show price`` / ``hide price``: an action on the event's entity."""

    entity: Name


# ------------------------------------------------------------- metadata ---


@frozen
class Meta(Node):
    """Base of the metadata lines of a ``rule "…" … end`` block."""


@frozen
class Description(Meta):
    text: str


@frozen
class Priority(Meta):
    value: int


@frozen
class Enabled(Meta):
    value: bool


@frozen
class Exclusive(Meta):
    pass


@frozen
class Combinable(Meta):
    pass


@frozen
class InGroup(Meta):
    """``in group Loyalty``: the rule's discount competes in that stacking group."""

    group: Name


@frozen
class UsageLimit(Meta):
    """``limit 100 uses`` (in total) or ``limit 1 use per customer``."""

    count: Number
    #: ``per customer``: the entity each holder of which has its own count.
    per: Name | None = None


@frozen
class Budget(Meta):
    """``budget 1000.00 EUR``: the discount money the rule may give in a currency."""

    amount: Number
    currency: Name


@frozen
class GiveBack(Meta):
    """``uses given back when cancelled``: a cancelled order returns its use and money."""


@frozen
class Window(Meta):
    """``from A until B`` (either end may be missing)."""

    start: DateValue | None = None
    end: DateValue | None = None


# ------------------------------------------------------------ top level ---


@frozen
class Item(Node):
    """Base of the top-level items of a file."""


@frozen
class LabelDecl(Item):
    """``label A, B for customer``."""

    names: tuple[Name, ...] = attrs.field(converter=tuple)
    entity: Name


@frozen
class GroupDecl(Item):
    """``group Seasonal after Loyalty, Members``: a stacking group, and the groups
    whose discounts come off the subtotal before its percentages are taken."""

    name: Name
    after: tuple[Name, ...] = attrs.field(default=(), converter=tuple)


@frozen
class CouponFamily(Item):
    """``coupon family Partner is "PARTNER-*", "FRIENDS"``: codes and prefixes
    (a trailing ``*``) named once per rule set."""

    name: Name
    patterns: tuple[Name, ...] = attrs.field(converter=tuple)


@frozen
class Rule(Item):
    """A rule: the one-line form, or a named block with metadata."""

    event: Name
    condition: Condition | None
    actions: tuple[Action, ...] = attrs.field(
        converter=tuple, validator=deep_iterable(instance_of(Action))
    )
    name: str | None = None
    meta: tuple[Meta, ...] = attrs.field(default=(), converter=tuple)
    #: ``on daily for customer``: the subject of a scheduled event.
    subject: Name | None = None

    def _last(self, kind: type) -> Meta | None:
        found = None
        for m in self.meta:
            if isinstance(m, kind):
                found = m
        return found

    @property
    def description(self) -> str | None:
        m = self._last(Description)
        return m.text if isinstance(m, Description) else None

    @property
    def priority(self) -> int:
        m = self._last(Priority)
        return m.value if isinstance(m, Priority) else 0

    @property
    def enabled(self) -> bool:
        m = self._last(Enabled)
        return m.value if isinstance(m, Enabled) else True

    @property
    def exclusive(self) -> bool:
        return self._last(Exclusive) is not None

    @property
    def combinable(self) -> bool:
        return self._last(Combinable) is not None

    @property
    def group(self) -> str | None:
        """The stacking group it is in (``in group X``), or None: the default group."""
        m = self._last(InGroup)
        return m.group.text if isinstance(m, InGroup) else None

    @property
    def window(self) -> Window | None:
        m = self._last(Window)
        return m if isinstance(m, Window) else None

    @property
    def usage_limits(self) -> tuple[UsageLimit | Budget | GiveBack, ...]:
        """The rule's usage limits, budgets and give-back setting, in source order."""
        return tuple(m for m in self.meta if isinstance(m, UsageLimit | Budget | GiveBack))


# ---------------------------------------------------------------- tests ---


@frozen
class Expectation(Node):
    """Base of what a test expects of the decision (``expect …``)."""


@frozen
class ExpectNoDiscount(Expectation):
    """``expect no discount``."""


@frozen
class ExpectFigure(Expectation):
    """``expect amount 12.00 EUR``, ``expect total 108.00`` or ``expect shipping
    discount 4.95 EUR``: one of the order's figures."""

    #: ``"amount"`` (the discount amount), ``"total"`` or ``"shipping_discount"``.
    figure: str
    amount: Number
    currency: Name | None = None


@frozen
class ExpectDescription(Expectation):
    """``expect description "VIP New Order Discount"``."""

    text: str


@frozen
class ExpectRule(Expectation):
    """``expect applied "VIP"``, ``expect lost "Spring" to "VIP"``, ``expect not applied "X"``.

    A rule is named by its name or by its discount's description.
    """

    #: ``"applied"``, ``"lost"`` or ``"not applied"``.
    status: str
    rule: String
    #: With ``lost``: the rule it lost to.
    to: String | None = None


@frozen
class ExpectCoupon(Expectation):
    """``expect coupon "SPRING10" applied``, ``expect coupon "NOPE" unknown``: what became
    of a code entered on the order, by its stable reason code."""

    code: Name
    outcome: Name


@frozen
class GivenRefusal(Node):
    """``given rule "Spring sale" limit_reached``: in a test, the database refuses the
    rule a use, for the reason named (a usage limit reached, a budget spent)."""

    rule: String
    reason: Name


@frozen
class ExpectAction(Expectation):
    """``expect add label Loyal to customer``, ``expect no hide price``: an effect, or none."""

    action: Action
    present: bool = True


@frozen
class RuleTest(Item):
    """``test "name" on EVENT [at DATE] given … expect … end``: an example and its decision."""

    name: str
    event: Name
    givens: tuple[Condition, ...] = attrs.field(converter=tuple)
    expects: tuple[Expectation, ...] = attrs.field(converter=tuple)
    subject: Name | None = None
    at: DateValue | None = None
    #: The rules the database refuses a use in this test (``given rule "X" limit_reached``).
    refused: tuple[GivenRefusal, ...] = attrs.field(default=(), converter=tuple)


# ------------------------------------------------------------- comments ---


@frozen
class Comment(Node):
    """A ``#`` comment, kept beside a file's items for tools (a formatter, a
    language server); rules never see it.

    ``text`` runs from the ``#`` to the end of its line, without the line
    break (nor the ``\\r`` of a CRLF file); the span covers exactly ``text``.
    """

    text: str = attrs.field(validator=instance_of(str))


def comment_at(text: str, file: str, line: int, column: int) -> Comment:
    """A comment at ``line``, ``column`` of ``file``."""
    return Comment(text, span=Span(file, line, column, line, column + len(text)))
