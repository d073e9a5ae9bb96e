"""The formatter: one canonical layout for a rule file, comments kept, meaning unchanged.

``format_text(text)`` parses a file (comments included) and writes it out
again from its syntax tree:

- a label declaration on one line: ``label A, B for customer``; a group
  declaration too: ``group Seasonal after Loyalty``;
- a one-line rule on one line when it fits in :data:`WIDTH` columns, else
  one clause a line (``on …``, ``  when …``, ``   and …``, ``  then …``);
- a block rule one clause a line, indented two spaces: its name, each of its
  settings (description, priority, enabled or disabled, exclusive,
  combinable, ``in group``, validity window, usage limits and budgets, in the
  author's order), ``on``, ``when``, ``then``, ``end``;
- ``and`` inside ``or`` (and any group the author wrote) in parentheses, so
  how a condition binds is always written out; ``is``/``is not`` for a text,
  a name or a yes/no value, ``=``/``!=`` for a number or a date;
- actions separated by ``, ``; one blank line where the author left one or
  more; comments where they were: on their own line before the item or
  clause they preceded, or at the end of the line they ended.

The result parses to the same syntax tree (positions aside) and formatting
it again changes nothing; tests hold both over the golden files, the
shipped rules and generated files. A file with syntax errors is not
formatted: :class:`FormatError` carries its diagnostics.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from attrs import frozen

from rulec.dsl.diagnostics import Diagnostic, RulesError
from rulec.dsl.nodes import (
    And,
    Between,
    Budget,
    BuyGet,
    Combinable,
    Comment,
    Compare,
    Condition,
    CouponFamily,
    DateValue,
    Description,
    Enabled,
    EntityAction,
    Exclusive,
    ExpectAction,
    Expectation,
    ExpectCoupon,
    ExpectDescription,
    ExpectFigure,
    ExpectNoDiscount,
    ExpectRule,
    FieldRef,
    FixedDiscount,
    GiveBack,
    GroupDecl,
    HasAnyLabel,
    HasCoupon,
    HasCouponIn,
    HasLabel,
    Ident,
    In,
    InGroup,
    Is,
    Item,
    LabelAction,
    LabelDecl,
    Meta,
    Not,
    Number,
    OnItems,
    Or,
    PercentDiscount,
    Priority,
    Rule,
    RuleTest,
    SetField,
    ShippingDiscount,
    Some,
    Span,
    String,
    Tier,
    TieredDiscount,
    UsageLimit,
    Value,
    Window,
    label_text,
)
from rulec.dsl.parser import parse_source

__all__ = ["WIDTH", "FormatError", "format_text", "label_text"]

#: A one-line rule longer than this is laid out one clause a line.
WIDTH = 100

#: Words a field name cannot be split into: the parser would read them as keywords.
_RESERVED = frozenset(
    [
        "is",
        "in",
        "not",
        "between",
        "and",
        "or",
        "then",
        "when",
        "end",
        "has",
        "lacks",
        "label",
        "any",
        "of",
        "to",
        "from",
        "until",
        "for",
        "on",
        "rule",
    ]
)


class FormatError(RulesError):
    """The file has syntax errors: it is not formatted (``diagnostics`` says why)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0]
        super().__init__(f"{first.span}: {first.code} {first.message}")


def format_text(text: str, file: str = "<string>") -> str:
    """``text`` in the canonical layout; FormatError if it has syntax errors.

    A byte-order mark and Windows line ends are dropped: the layout uses ``\\n``.
    """
    text = text.removeprefix("\ufeff")
    parsed = parse_source(text, file)
    errors = [d for d in parsed.diagnostics if d.severity == "error"]
    if errors:
        raise FormatError(errors)
    return _File(text, parsed.items, parsed.comments).write()


@frozen
class _Line:
    """One output line: its indentation and text, and the comment at its end."""

    text: str
    trailing: str | None = None

    def render(self) -> str:
        return self.text if self.trailing is None else f"{self.text}  {self.trailing}"


class _File:
    """A file's items and comments, laid out."""

    def __init__(self, text: str, items: Sequence[Item], comments: Sequence[Comment]) -> None:
        self.source = text.split("\n")
        self.items = list(items)
        self.comments = sorted(comments, key=lambda c: _at(c.span))
        #: The ids of the comments alone on their line (only white space before them).
        self.alone = frozenset(id(c) for c in self.comments if self.stands_alone(c))

    def stands_alone(self, c: Comment) -> bool:
        line, column = _at(c.span)
        return self.source[line - 1][: column - 1].strip() == ""

    def blank_before(self, line: int) -> bool:
        """Whether the source has a blank line just before ``line`` (1-based)."""
        return line >= 2 and self.source[line - 2].strip() == ""

    def write(self) -> str:
        out: list[str] = []
        pending = list(self.comments)
        for item in self.items:
            span = item.span
            assert span is not None  # every parsed item has one
            while pending and _at(pending[0].span)[0] < span.line:  # comments before it
                c = pending.pop(0)
                self.gap(out, _at(c.span)[0])
                out.append(c.text)
            inside = [c for c in pending if _at(c.span)[0] <= span.end_line]
            pending = pending[len(inside) :]
            self.gap(out, span.line)
            out.extend(line.render() for line in _item(item, inside, self.alone))
        for c in pending:  # after the last item
            self.gap(out, _at(c.span)[0])
            out.append(c.text)
        return "\n".join(out) + "\n" if out else ""

    def gap(self, out: list[str], line: int) -> None:
        if out and self.blank_before(line) and out[-1] != "":
            out.append("")


def _at(span: Span | None) -> tuple[int, int]:
    return (span.line, span.column) if span is not None else (0, 0)


# ------------------------------------------------------------------- items --


def _item(item: Item, comments: Sequence[Comment], alone: frozenset[int]) -> list[_Line]:
    """An item's lines, with the comments written inside it put back."""
    if isinstance(item, LabelDecl):
        lines = [
            _Line(
                f"label {', '.join(label_text(n.text) for n in item.names)} for {item.entity.text}"
            )
        ]
        return _with_comments(lines, [(item.span, 0)], comments, alone, indent="")
    if isinstance(item, GroupDecl):
        after = f" after {', '.join(a.text for a in item.after)}" if item.after else ""
        return _with_comments(
            [_Line(f"group {item.name.text}{after}")], [(item.span, 0)], comments, alone, indent=""
        )
    if isinstance(item, CouponFamily):
        patterns = ", ".join(f'"{p.text}"' for p in item.patterns)
        lines = [_Line(f"coupon family {item.name.text} is {patterns}")]
        return _with_comments(lines, [(item.span, 0)], comments, alone, indent="")
    if isinstance(item, RuleTest):
        return _test(item, comments, alone)
    assert isinstance(item, Rule)
    if item.name is None:
        return _one_line_rule(item, comments, alone)
    return _block_rule(item, comments, alone)


def _head(rule: Rule) -> str:
    subject = f" for {rule.subject.text}" if rule.subject is not None else ""
    return f"on {rule.event.text}{subject}"


def _one_line_rule(rule: Rule, comments: Sequence[Comment], alone: frozenset[int]) -> list[_Line]:
    when = f" when {_cond(rule.condition)}" if rule.condition is not None else ""
    flat = f"{_head(rule)}{when} then {_actions(rule.actions)}"
    if len(flat) <= WIDTH and not any(id(c) in alone for c in comments):
        # one line: a comment written in it goes at its end
        return _ended(_Line(flat), [c.text for c in comments], "")
    lines = [_Line(_head(rule))]
    clauses: list[tuple[Span | None, int]] = [(rule.span, 0)]
    if rule.condition is not None:
        clauses.append((rule.condition.span, len(lines)))
        lines += _when(rule.condition, "  ")
    clauses.append((rule.actions[0].span, len(lines)))
    lines += _then(rule.actions, "  ")
    return _with_comments(lines, clauses, comments, alone, indent="  ")


def _block_rule(rule: Rule, comments: Sequence[Comment], alone: frozenset[int]) -> list[_Line]:
    assert rule.name is not None
    lines = [_Line(f"rule {_string(rule.name)}")]
    clauses: list[tuple[Span | None, int]] = [(rule.span, 0)]
    for meta in rule.meta:  # in the author's order: it is part of the rule's tree
        clauses.append((meta.span, len(lines)))
        lines.append(_Line(f"  {_meta(meta)}"))
    clauses.append((rule.event.span, len(lines)))
    lines.append(_Line(f"  {_head(rule)}"))
    if rule.condition is not None:
        clauses.append((rule.condition.span, len(lines)))
        lines += _when(rule.condition, "  ")
    clauses.append((rule.actions[0].span, len(lines)))
    lines += _then(rule.actions, "  ")
    end = rule.span.end_line if rule.span is not None else 0
    clauses.append((Span("", end, 1, end, 1), len(lines)))
    lines.append(_Line("end"))
    return _with_comments(lines, clauses, comments, alone, indent="  ")


def _test(test: RuleTest, comments: Sequence[Comment], alone: frozenset[int]) -> list[_Line]:
    """A test block: its name, then one clause a line (``on``, ``at``, each ``given``, each
    ``expect``), indented, then ``end``."""
    lines = [_Line(f"test {_string(test.name)}")]
    clauses: list[tuple[Span | None, int]] = [(test.span, 0)]
    subject = f" for {test.subject.text}" if test.subject is not None else ""
    clauses.append((test.event.span, len(lines)))
    lines.append(_Line(f"  on {test.event.text}{subject}"))
    if test.at is not None:
        clauses.append((test.at.span, len(lines)))
        lines.append(_Line(f"  at {_date(test.at)}"))
    for given in test.givens:
        clauses.append((given.span, len(lines)))
        lines.append(_Line(f"  given {_given(given)}"))
    for refused in test.refused:  # after the facts, as the formatter writes them
        clauses.append((refused.span, len(lines)))
        lines.append(_Line(f"  given rule {_string(refused.rule.value)} {refused.reason.text}"))
    for e in test.expects:
        clauses.append((e.span, len(lines)))
        lines.append(_Line(f"  expect {_expectation(e)}"))
    end = test.span.end_line if test.span is not None else 0
    clauses.append((Span("", end, 1, end, 1), len(lines)))
    lines.append(_Line("end"))
    return _with_comments(lines, clauses, comments, alone, indent="  ")


def _given(given: Condition) -> str:
    """A test's facts: a value is stated with ``is`` (``order subtotal is 120.00``)."""
    if isinstance(given, And):
        return " and ".join(_given(o) for o in given.operands)
    text = _cond(given)
    if isinstance(given, Compare) and given.op.text == "=" and text != _field(given.field):
        return f"{_field(given.field)} is {_value(given.value)}"
    return text


def _expectation(e: Expectation) -> str:
    if isinstance(e, ExpectNoDiscount):
        return "no discount"
    if isinstance(e, ExpectFigure):
        currency = f" {e.currency.text}" if e.currency is not None else ""
        figure = e.figure.replace("_", " ")  # shipping_discount: 'shipping discount'
        return f"{figure} {_number(e.amount.value)}{currency}"
    if isinstance(e, ExpectDescription):
        return f"description {_string(e.text)}"
    if isinstance(e, ExpectRule):
        to = f" to {_string(e.to.value)}" if e.to is not None else ""
        return f"{e.status} {_string(e.rule.value)}{to}"
    if isinstance(e, ExpectCoupon):
        return f'coupon "{e.code.text}" {e.outcome.text}'
    assert isinstance(e, ExpectAction)
    return ("" if e.present else "no ") + _action(e.action)


def _with_comments(
    lines: list[_Line],
    clauses: Sequence[tuple[Span | None, int]],
    comments: Sequence[Comment],
    alone: frozenset[int],
    indent: str,
) -> list[_Line]:
    """Put each comment written inside an item back.

    ``clauses`` pairs the source span of each clause with the index of its
    first output line. A comment that followed code on its source line goes
    at the end of the last output line of the clause that line belongs to;
    one alone on its line (``alone``: their ids) goes on its own line, at
    ``indent``, before the clause that followed it.
    """
    if not comments:
        return lines
    starts = [(s.line if s is not None else 0, index) for s, index in clauses]
    before: dict[int, list[str]] = {}
    trailing: dict[int, list[str]] = {}
    for c in comments:
        where = _at(c.span)[0]
        if id(c) in alone:
            index = next((i for start, i in starts if start > where), len(lines) - 1)
            before.setdefault(index, []).append(c.text)
        else:
            index = max((i for start, i in starts if start <= where), default=0)
            following = [i for _, i in starts if i > index]
            last = (min(following) if following else len(lines)) - 1
            trailing.setdefault(last, []).append(c.text)
    out: list[_Line] = []
    for n, line in enumerate(lines):
        out.extend(_Line(indent + text) for text in before.get(n, ()))
        # after the item's last line a comment is outside it: at the margin
        out.extend(_ended(line, trailing.get(n, ()), indent if n < len(lines) - 1 else ""))
    return out


def _ended(line: _Line, comments: Sequence[str], indent: str) -> list[_Line]:
    """``line`` with the first of ``comments`` at its end, the others on lines of
    their own after it (two comments on one line would read as one)."""
    if not comments:
        return [line]
    first, *rest = comments
    return [_Line(line.text, first), *(_Line(indent + text) for text in rest)]


# ---------------------------------------------------------------- clauses --


def _when(cond: Condition, indent: str) -> list[_Line]:
    flat = f"{indent}when {_cond(cond)}"
    if len(flat) <= WIDTH or not isinstance(cond, And | Or):
        return [_Line(flat)]
    word = "and" if isinstance(cond, And) else "or"
    first, *rest = cond.operands
    lines = [_Line(f"{indent}when {_operand(first, cond)}")]
    lines += [_Line(f"{indent}{word:>4} {_operand(o, cond)}") for o in rest]
    return lines


def _then(actions: Sequence[object], indent: str) -> list[_Line]:
    flat = f"{indent}then {_actions(actions)}"
    if len(flat) <= WIDTH or len(actions) == 1:
        return [_Line(flat)]
    texts = [_action(a) for a in actions]
    pad = " " * len(f"{indent}then ")
    lines = [_Line(f"{indent}then {texts[0]},")]
    lines += [
        _Line(f"{pad}{t}{',' if n < len(texts) - 1 else ''}") for n, t in enumerate(texts[1:], 1)
    ]
    return lines


def _meta(meta: Meta) -> str:
    if isinstance(meta, Description):
        return f"description {_string(meta.text)}"
    if isinstance(meta, Priority):
        return f"priority {meta.value}"
    if isinstance(meta, Enabled):
        return "enabled" if meta.value else "disabled"
    if isinstance(meta, Exclusive):
        return "exclusive"
    if isinstance(meta, Combinable):
        return "combinable"
    if isinstance(meta, InGroup):
        return f"in group {meta.group.text}"
    if isinstance(meta, UsageLimit):
        n = meta.count.value
        per = f" per {meta.per.text}" if meta.per is not None else ""
        return f"limit {n} {'use' if n == 1 else 'uses'}{per}"
    if isinstance(meta, Budget):
        return f"budget {meta.amount.value} {meta.currency.text}"
    if isinstance(meta, GiveBack):
        return "uses given back when cancelled"
    assert isinstance(meta, Window)
    parts = []
    if meta.start is not None:
        parts.append(f"from {_date(meta.start)}")
    if meta.end is not None:
        parts.append(f"until {_date(meta.end)}")
    return " ".join(parts)


# ------------------------------------------------------------- conditions --


def _cond(c: Condition) -> str:
    if isinstance(c, And | Or):
        word = " and " if isinstance(c, And) else " or "
        return word.join(_operand(o, c) for o in c.operands)
    if isinstance(c, Not):
        inner = c.operand
        text = _cond(inner)
        return f"not ({text})" if isinstance(inner, And | Or) else f"not {text}"
    if isinstance(c, Some):
        return f"any {_cond(c.condition)}"
    if isinstance(c, HasLabel):
        return f"{c.entity.text} {'lacks' if c.negated else 'has'} label {label_text(c.label.text)}"
    if isinstance(c, HasCoupon):
        return f'{c.entity.text} {"lacks" if c.negated else "has"} coupon "{c.code.text}"'
    if isinstance(c, HasCouponIn):
        return f"{c.entity.text} {'lacks' if c.negated else 'has'} coupon in {c.family.text}"
    if isinstance(c, HasAnyLabel):
        names = ", ".join(label_text(n.text) for n in c.labels)
        return f"{c.entity.text} {'lacks' if c.negated else 'has'} any label of {names}"
    if isinstance(c, Is):
        return f"{c.entity.text} is {'not ' if c.negated else ''}{_value(c.value)}"
    if isinstance(c, Compare):
        return f"{_field(c.field)} {_op(c.op.text, c.value)} {_value(c.value)}"
    if isinstance(c, In):
        values = ", ".join(_value(v) for v in c.values)
        return f"{_field(c.field)} {'not in' if c.negated else 'in'} ({values})"
    assert isinstance(c, Between), type(c)
    low, high = c.low, c.high
    if isinstance(low, DateValue) and isinstance(high, DateValue) and low.zone == high.zone:
        low = DateValue(low.text)  # the zone written once, after the second date
    verb = "not between" if c.negated else "between"
    return f"{_field(c.field)} {verb} {_value(low)} and {_value(high)}"


def _operand(o: Condition, parent: And | Or) -> str:
    """An operand of ``and``/``or``: groups in parentheses, how it binds written out."""
    return f"({_cond(o)})" if isinstance(o, And | Or) else _cond(o)


def _op(op: str, value: Value) -> str:
    """``is``/``is not`` for texts, names and yes/no; symbols for numbers and dates."""
    if op in ("=", "!=") and isinstance(value, String | Ident):
        return "is" if op == "=" else "is not"
    return op


def _field(f: FieldRef) -> str:
    words = f.field.text.split("_")
    if any(not w or w in _RESERVED or w[0].isdigit() for w in words):
        words = [f.field.text]
    return " ".join([f.entity.text, *words])


def _value(v: Value) -> str:
    if isinstance(v, Number):
        return _number(v.value)
    if isinstance(v, String):
        return _string(v.value)
    if isinstance(v, Ident):
        return v.name
    assert isinstance(v, DateValue)
    return _date(v)


def _date(d: DateValue) -> str:
    return d.text if d.zone is None else f"{d.text} {d.zone.text}"


def _number(value: Decimal) -> str:
    return f"{value:f}"


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t") + '"'


# ---------------------------------------------------------------- actions --


def _actions(actions: Sequence[object]) -> str:
    return ", ".join(_action(a) for a in actions)


def _on_items(items: OnItems | None) -> str:
    if items is None:
        return ""
    if items.label is None:
        return " on items"
    return f" on items with label {label_text(items.label.text)}"


def _tier(t: Tier) -> str:
    if t.percent is not None:
        what = f"{_number(t.percent)}%"
    else:
        assert t.amount is not None and t.currency is not None
        what = f"{_number(t.amount)} {t.currency.text}"
    return f"{what} from {_number(t.threshold)} {t.threshold_currency.text}"


def _action(a: object) -> str:
    if isinstance(a, PercentDiscount):
        cap = ""
        if a.cap:
            per_line = " per line" if a.cap.per_line else ""
            cap = f" up to {_number(a.cap.amount)} {a.cap.currency.text}{per_line}"
        on = _on_items(a.items)
        return f"{a.verb.text} {_number(a.percent)}%{on}{cap} {_string(a.title)}"
    if isinstance(a, FixedDiscount):
        per = f" per item{_on_items(a.items)}" if a.per_item else ""
        return f"{a.verb.text} {_number(a.amount)} {a.currency.text}{per} {_string(a.title)}"
    if isinstance(a, BuyGet):
        middle = "get" if a.form == "get" else "for"
        free = " free" if a.form == "get" else ""
        on = _on_items(a.items)
        return (
            f"{a.verb.text} {_number(a.first)} {middle} {_number(a.second)}{free}{on} "
            f"{_string(a.title)}"
        )
    if isinstance(a, TieredDiscount):
        tiers = ", ".join(map(_tier, a.tiers))
        return f"{a.verb.text} {tiers} {_string(a.title)}"
    if isinstance(a, ShippingDiscount):
        if a.percent is not None:
            what = f"{_number(a.percent)}% on shipping"
        elif a.amount is not None and a.currency is not None:
            what = f"{_number(a.amount)} {a.currency.text} on shipping"
        else:
            what = "shipping"
        return f"{a.verb.text} {what} {_string(a.title)}"
    if isinstance(a, LabelAction):
        return f"{a.verb.text} label {label_text(a.label.text)} {a.preposition} {a.entity.text}"
    if isinstance(a, SetField):
        return f"{a.verb.text} {_field(a.field)} to {_value(a.value)}"
    assert isinstance(a, EntityAction), type(a)
    return f"{a.verb.text} {a.entity.text}"
