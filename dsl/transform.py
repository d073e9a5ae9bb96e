"""Lark's parse tree → AST nodes, with positions (one method per grammar rule).

The fast parser (:mod:`rulec.dsl.fastparse`) calls the same methods while it
reduces, so both paths build the same nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from lark import Token, Transformer, v_args

from rulec.dsl.diagnostics import Diagnostic
from rulec.dsl.nodes import (
    Action,
    Between,
    Budget,
    BuyGet,
    Cap,
    Combinable,
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
    GivenRefusal,
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
    Name,
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
    Window,
    name_at,
)
from rulec.dsl.nodes import And as AndNode
from rulec.dsl.syntaxerrors import diagnostic, show, token_span

__all__ = ["IMPLICIT_TRUE", "MAX_PRIORITY", "ToAst"]

#: Priorities are whole numbers within this bound.
MAX_PRIORITY = 1_000_000_000


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _shared_zone(low: Any, high: Any) -> Any:
    """``between D1 and D2 ZONE``: the zone applies to D1 too, unless D1 has its own.

    As in a validity window (``from D1 until D2 ZONE``). A first date with a
    zone or a UTC offset of its own keeps it; anything that is not a valid
    date is left for the checker to report.
    """
    if not (
        isinstance(low, DateValue)
        and isinstance(high, DateValue)
        and low.zone is None
        and high.zone is not None
    ):
        return low
    try:
        if datetime.fromisoformat(low.text).tzinfo is not None:
            return low
    except ValueError:
        return low
    return DateValue(low.text, high.zone, span=low.span)


#: The value of a field written alone as a condition (``viewer is_agent``):
#: ``true`` to the compiler, told apart from a written ``true`` by the checker.
IMPLICIT_TRUE = "true"


class _Subject:
    """``for NAME`` after a rule's event, until the rule is built."""

    __slots__ = ("name",)

    def __init__(self, name: Name) -> None:
        self.name = name


class _Given:
    """A ``given`` line of a test, until the test is built."""

    __slots__ = ("condition",)

    def __init__(self, condition: Condition) -> None:
        self.condition = condition


@v_args(meta=True, inline=True)
class ToAst(Transformer[Token, Any]):
    """Lark tree → AST nodes. Rule names match grammar rule names."""

    def __init__(self, file: str, text: str) -> None:
        super().__init__()
        self.file = file
        self.text = text
        self.diagnostics: list[Diagnostic] = []

    def _span(self, meta: Any) -> Span | None:
        if meta.empty:
            return None
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _string(self, tok: Token) -> str:
        raw = str(tok)[1:-1]
        if "\x00" in raw:
            self._nul(tok, raw)
        if "\\" not in raw:
            return raw
        out: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\":
                nxt = raw[i + 1]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                else:
                    line = tok.line or 1
                    col = (tok.column or 1) + 1 + i
                    self.diagnostics.append(
                        diagnostic(
                            "R108",
                            f"unknown escape sequence {show(chr(92) + nxt)} in a string",
                            Span(self.file, line, col, line, col + 2),
                            suggestion='write \\\\ for a backslash and \\" for a quote',
                            text=self.text,
                            at=tok.start_pos,
                        )
                    )
                    out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def _nul(self, tok: Token, raw: str) -> None:
        """R101 for a NUL inside quoted text: databases (PostgreSQL) cannot store it."""
        line = tok.line or 1
        col = (tok.column or 1) + 1 + raw.index("\x00")
        self.diagnostics.append(
            diagnostic(
                "R101",
                "unexpected character '\\x00' (NUL) in a quoted text",
                Span(self.file, line, col, line, col + 1),
                suggestion="remove it: a text with a NUL cannot be stored in the database",
                text=self.text,
                at=tok.start_pos,
            )
        )

    # names and values
    def name(self, meta: Any, tok: Token) -> Name:
        return Name(str(tok), span=token_span(self.file, tok))

    def quoted_name(self, meta: Any, tok: Token) -> Name:
        """A label's name written as quoted text: the same label as the plain name."""
        return Name(self._string(tok), span=token_span(self.file, tok))

    subject = name
    target = name
    target_word = name
    word = name

    def token_builders(self) -> dict[str, Callable[[str, int, int], Any]]:
        """For the fast parser: the one-token rules built from their text and position."""
        file = self.file

        def name(text: str, line: int, column: int) -> Name:
            return name_at(text, file, line, column)

        return {"name": name, "subject": name, "word": name, "target": name, "target_word": name}

    def zone(self, meta: Any, z: Token | Name) -> Name:
        if isinstance(z, Name):
            return z
        return Name(str(z), span=token_span(self.file, z))

    def number(self, meta: Any, tok: Token) -> Number:
        return Number(Decimal(str(tok)), span=token_span(self.file, tok))

    def string(self, meta: Any, tok: Token) -> String:
        return String(self._string(tok), span=token_span(self.file, tok))

    def ident(self, meta: Any, name: Name) -> Ident:
        return Ident(name.text, span=name.span)

    def date(self, meta: Any, tok: Token, zone: Name | None = None) -> DateValue:
        return DateValue(" ".join(str(tok).split()), zone, span=self._span(meta))

    # conditions
    def field(self, meta: Any, entity: Name, *words: Name) -> FieldRef:
        first, last = words[0].span, words[-1].span
        span = (
            Span(self.file, first.line, first.column, last.end_line, last.end_column)
            if first and last
            else None
        )
        return FieldRef(
            entity, Name("_".join(w.text for w in words), span=span), span=self._span(meta)
        )

    def or_(self, meta: Any, *ops: Condition) -> Condition:
        return ops[0] if len(ops) == 1 else Or(ops, span=self._span(meta))

    def and_(self, meta: Any, *ops: Condition) -> Condition:
        return ops[0] if len(ops) == 1 else AndNode(ops, span=self._span(meta))

    def not_(self, meta: Any, op: Condition) -> Condition:
        return Not(op, span=self._span(meta))

    def has_label(self, meta: Any, entity: Name, label: Name) -> HasLabel:
        return HasLabel(entity, label, span=self._span(meta))

    def lacks_label(self, meta: Any, entity: Name, label: Name) -> HasLabel:
        return HasLabel(entity, label, True, span=self._span(meta))

    def has_coupon(self, meta: Any, entity: Name, code: Name) -> HasCoupon:
        return HasCoupon(entity, code, span=self._span(meta))

    def lacks_coupon(self, meta: Any, entity: Name, code: Name) -> HasCoupon:
        return HasCoupon(entity, code, True, span=self._span(meta))

    def has_coupon_in(self, meta: Any, entity: Name, family: Name) -> HasCouponIn:
        return HasCouponIn(entity, family, span=self._span(meta))

    def lacks_coupon_in(self, meta: Any, entity: Name, family: Name) -> HasCouponIn:
        return HasCouponIn(entity, family, True, span=self._span(meta))

    def has_any_label(self, meta: Any, entity: Name, *labels: Name) -> HasAnyLabel:
        return HasAnyLabel(entity, labels, span=self._span(meta))

    def lacks_any_label(self, meta: Any, entity: Name, *labels: Name) -> HasAnyLabel:
        return HasAnyLabel(entity, labels, True, span=self._span(meta))

    def any_has_label(self, meta: Any, entity: Name, label: Name) -> Some:
        return Some(entity, HasLabel(entity, label, span=self._span(meta)), span=self._span(meta))

    def any_has_any_label(self, meta: Any, entity: Name, *labels: Name) -> Some:
        inner = HasAnyLabel(entity, labels, span=self._span(meta))
        return Some(entity, inner, span=self._span(meta))

    def any_compare(self, meta: Any, field: FieldRef, op: Token, value: Any) -> Some:
        return Some(field.entity, self.compare(meta, field, op, value), span=self._span(meta))

    def any_compare_is(self, meta: Any, field: FieldRef, is_: Token, value: Any) -> Some:
        return Some(field.entity, self.compare_is(meta, field, is_, value), span=self._span(meta))

    def any_compare_is_not(
        self, meta: Any, field: FieldRef, is_: Token, not_: Token, value: Any
    ) -> Some:
        inner = self.compare_is_not(meta, field, is_, not_, value)
        return Some(field.entity, inner, span=self._span(meta))

    def entity_is(self, meta: Any, entity: Name, is_: Token, value: Any) -> Is:
        return Is(entity, value, span=self._span(meta))

    def entity_is_not(self, meta: Any, entity: Name, is_: Token, not_: Token, value: Any) -> Is:
        return Is(entity, value, True, span=self._span(meta))

    def is_true(self, meta: Any, field: FieldRef) -> Compare:
        """``viewer is_agent``: short for ``viewer is_agent is true`` (the checker
        requires a true-or-false field and says how to compare any other)."""
        span = self._span(meta)
        return Compare(
            field,
            Name("=", span=span),
            Ident(IMPLICIT_TRUE, span=span),
            span=span,
        )

    def compare(self, meta: Any, field: FieldRef, op: Token, value: Any) -> Compare:
        return Compare(
            field, Name(str(op), span=token_span(self.file, op)), value, span=self._span(meta)
        )

    def compare_is(self, meta: Any, field: FieldRef, is_: Token, value: Any) -> Compare:
        return Compare(
            field, Name("=", span=token_span(self.file, is_)), value, span=self._span(meta)
        )

    def compare_is_not(
        self, meta: Any, field: FieldRef, is_: Token, not_: Token, value: Any
    ) -> Compare:
        return Compare(
            field, Name("!=", span=token_span(self.file, is_)), value, span=self._span(meta)
        )

    def in_(self, meta: Any, field: FieldRef, *values: Any) -> In:
        return In(field, values, span=self._span(meta))

    def not_in(self, meta: Any, field: FieldRef, *values: Any) -> In:
        return In(field, values, True, span=self._span(meta))

    def between(self, meta: Any, field: FieldRef, low: Any, high: Any) -> Between:
        return Between(field, _shared_zone(low, high), high, span=self._span(meta))

    def not_between(self, meta: Any, field: FieldRef, low: Any, high: Any) -> Between:
        return Between(field, _shared_zone(low, high), high, True, span=self._span(meta))

    # actions
    def actions(self, meta: Any, *acts: Any) -> tuple[Any, ...]:
        return acts

    def cap(self, meta: Any, amount: Token, currency: Name, *per_line: Any) -> Cap:
        return Cap(Decimal(str(amount)), currency, bool(per_line), span=self._span(meta))

    def per_line(self, meta: Any) -> bool:
        return True

    def on_items(self, meta: Any, *label: Name) -> OnItems:
        return OnItems(label[0] if label else None, span=self._span(meta))

    def percent_discount(self, meta: Any, verb: Name, pct: Token, *rest: Any) -> PercentDiscount:
        items = next((r for r in rest if isinstance(r, OnItems)), None)
        cap = next((r for r in rest if isinstance(r, Cap)), None)
        title = self._string(rest[-1])
        return PercentDiscount(
            verb, Decimal(str(pct)[:-1]), title, cap, items, span=self._span(meta)
        )

    def per_item_discount(
        self, meta: Any, verb: Name, amount: Token, currency: Name, *rest: Any
    ) -> FixedDiscount:
        items = rest[0] if len(rest) == 2 else None
        return FixedDiscount(
            verb,
            Decimal(str(amount)),
            currency,
            self._string(rest[-1]),
            True,
            items,
            span=self._span(meta),
        )

    def buy_get(self, meta: Any, verb: Name, first: Token, second: Token, *rest: Any) -> BuyGet:
        return self._buy(meta, verb, first, second, "get", rest)

    def buy_for(self, meta: Any, verb: Name, first: Token, second: Token, *rest: Any) -> BuyGet:
        return self._buy(meta, verb, first, second, "for", rest)

    def _buy(
        self, meta: Any, verb: Name, first: Token, second: Token, form: str, rest: Any
    ) -> BuyGet:
        items = rest[0] if len(rest) == 2 else None
        title = self._string(rest[-1])
        return BuyGet(
            verb,
            Decimal(str(first)),
            Decimal(str(second)),
            form,
            title,
            items,
            span=self._span(meta),
        )

    def percent_tier(self, meta: Any, pct: Token, threshold: Token, currency: Name) -> Tier:
        return Tier(
            Decimal(str(threshold)), currency, Decimal(str(pct)[:-1]), span=self._span(meta)
        )

    def amount_tier(
        self, meta: Any, amount: Token, currency: Name, threshold: Token, t_currency: Name
    ) -> Tier:
        return Tier(
            Decimal(str(threshold)),
            t_currency,
            None,
            Decimal(str(amount)),
            currency,
            span=self._span(meta),
        )

    def tiered_discount(self, meta: Any, verb: Name, *rest: Any) -> TieredDiscount:
        *tiers, title = rest
        return TieredDiscount(verb, tiers, self._string(title), span=self._span(meta))

    def fixed_discount(
        self, meta: Any, verb: Name, amount: Token, currency: Name, title: Token
    ) -> FixedDiscount:
        return FixedDiscount(
            verb, Decimal(str(amount)), currency, self._string(title), span=self._span(meta)
        )

    def free_shipping(self, meta: Any, verb: Name, title: Token) -> ShippingDiscount:
        return ShippingDiscount(verb, self._string(title), span=self._span(meta))

    def percent_shipping(self, meta: Any, verb: Name, pct: Token, title: Token) -> ShippingDiscount:
        percent = Decimal(str(pct)[:-1])
        return ShippingDiscount(verb, self._string(title), percent, span=self._span(meta))

    def fixed_shipping(self, m: Any, verb: Name, n: Token, c: Name, t: Token) -> ShippingDiscount:
        return ShippingDiscount(verb, self._string(t), None, Decimal(str(n)), c, span=self._span(m))

    def label_to(self, meta: Any, verb: Name, label: Name, entity: Name) -> LabelAction:
        return LabelAction(verb, label, "to", entity, span=self._span(meta))

    def label_from(self, meta: Any, verb: Name, label: Name, entity: Name) -> LabelAction:
        return LabelAction(verb, label, "from", entity, span=self._span(meta))

    def set_field(self, meta: Any, verb: Name, entity: Name, *rest: Any) -> SetField:
        *words, value = rest
        field = self.field(meta, entity, *words)
        first, last = entity.span, words[-1].span
        if first and last:
            field = FieldRef(
                field.entity,
                field.field,
                span=Span(self.file, first.line, first.column, last.end_line, last.end_column),
            )
        return SetField(verb, field, value, span=self._span(meta))

    def entity_action(self, meta: Any, verb: Name, entity: Name) -> EntityAction:
        return EntityAction(verb, entity, span=self._span(meta))

    # metadata
    def description(self, meta: Any, text: Token) -> Description:
        return Description(self._string(text), span=self._span(meta))

    def priority(self, meta: Any, tok: Token) -> Priority:
        digits = str(tok).lstrip("+-")
        value = int(str(tok)) if len(digits) <= 12 else MAX_PRIORITY + 1
        if abs(value) > MAX_PRIORITY:
            self.diagnostics.append(
                diagnostic(
                    "R206",
                    "priority must be a whole number between "
                    f"-{MAX_PRIORITY:,} and {MAX_PRIORITY:,}",
                    token_span(self.file, tok),
                    text=self.text,
                    at=tok.start_pos,
                )
            )
            value = 0
        return Priority(value, span=self._span(meta))

    def enabled(self, meta: Any) -> Enabled:
        return Enabled(True, span=self._span(meta))

    def disabled(self, meta: Any) -> Enabled:
        return Enabled(False, span=self._span(meta))

    def exclusive(self, meta: Any) -> Exclusive:
        return Exclusive(span=self._span(meta))

    def combinable(self, meta: Any) -> Combinable:
        return Combinable(span=self._span(meta))

    def in_group(self, meta: Any, group: Name) -> InGroup:
        return InGroup(group, span=self._span(meta))

    def window_from(self, meta: Any, start: DateValue, end: DateValue | None = None) -> Window:
        return Window(start, end, span=self._span(meta))

    def window_until(self, meta: Any, end: DateValue) -> Window:
        return Window(None, end, span=self._span(meta))

    def usage_limit(self, meta: Any, count: Token, per: Name | None = None) -> UsageLimit:
        number = Number(Decimal(str(count)), span=token_span(self.file, count))
        return UsageLimit(number, per, span=self._span(meta))

    def budget(self, meta: Any, amount: Token, currency: Name) -> Budget:
        number = Number(Decimal(str(amount)), span=token_span(self.file, amount))
        return Budget(number, currency, span=self._span(meta))

    def give_back(self, meta: Any) -> GiveBack:
        return GiveBack(span=self._span(meta))

    # top level
    def label_decl(self, meta: Any, *names: Name) -> LabelDecl:
        return LabelDecl(names[:-1], names[-1], span=self._span(meta))

    def group_decl(self, meta: Any, name: Name, *after: Name) -> GroupDecl:
        return GroupDecl(name, after, span=self._span(meta))

    def coupon_family(self, meta: Any, name: Name, is_: Token, *patterns: Name) -> CouponFamily:
        return CouponFamily(name, patterns, span=self._span(meta))

    def for_subject(self, meta: Any, subject: Name) -> _Subject:
        return _Subject(subject)

    def rule(self, meta: Any, event: Name, *rest: Any) -> Rule:
        subject = rest[0].name if isinstance(rest[0], _Subject) else None
        rest = rest[1:] if subject is not None else rest
        condition = rest[0] if len(rest) == 2 else None
        return Rule(event, condition, rest[-1], subject=subject, span=self._span(meta))

    def block_rule(self, meta: Any, name: Token, *rest: Any) -> Rule:
        metas = [m for m in rest if isinstance(m, Meta)]
        tail = [x for x in rest if not isinstance(x, Meta)]
        subject = tail[1].name if isinstance(tail[1], _Subject) else None
        if subject is not None:
            del tail[1]
        event, actions = tail[0], tail[-1]
        condition = tail[1] if len(tail) == 3 else None
        return Rule(
            event,
            condition,
            actions,
            self._string(name),
            tuple(metas),
            subject=subject,
            span=self._span(meta),
        )

    # tests
    def test_at(self, meta: Any, moment: DateValue) -> DateValue:
        return moment

    def test_given(self, meta: Any, condition: Condition) -> _Given:
        return _Given(condition)

    def test_refused(self, meta: Any, rule: Token, reason: Name) -> GivenRefusal:
        return GivenRefusal(self._rule_name(rule), reason, span=self._span(meta))

    def test_expect(self, meta: Any, expectation: Expectation) -> Expectation:
        return expectation

    def expect_no_discount(self, meta: Any) -> ExpectNoDiscount:
        return ExpectNoDiscount(span=self._span(meta))

    def _figure(self, figure: str, meta: Any, tok: Token, currency: Name | None) -> ExpectFigure:
        amount = Number(Decimal(str(tok)), span=token_span(self.file, tok))
        return ExpectFigure(figure, amount, currency, span=self._span(meta))

    def expect_amount(self, meta: Any, tok: Token, currency: Name | None = None) -> ExpectFigure:
        return self._figure("amount", meta, tok, currency)

    def expect_total(self, meta: Any, tok: Token, currency: Name | None = None) -> ExpectFigure:
        return self._figure("total", meta, tok, currency)

    def expect_shipping_discount(
        self, meta: Any, tok: Token, currency: Name | None = None
    ) -> ExpectFigure:
        return self._figure("shipping_discount", meta, tok, currency)

    def expect_description(self, meta: Any, text: Token) -> ExpectDescription:
        return ExpectDescription(self._string(text), span=self._span(meta))

    def _rule_name(self, tok: Token) -> String:
        return String(self._string(tok), span=token_span(self.file, tok))

    def expect_applied(self, meta: Any, rule: Token) -> ExpectRule:
        return ExpectRule("applied", self._rule_name(rule), span=self._span(meta))

    def expect_lost(self, meta: Any, rule: Token, to: Token | None = None) -> ExpectRule:
        winner = self._rule_name(to) if to is not None else None
        return ExpectRule("lost", self._rule_name(rule), winner, span=self._span(meta))

    def expect_not_applied(self, meta: Any, not_: Token, rule: Token) -> ExpectRule:
        return ExpectRule("not applied", self._rule_name(rule), span=self._span(meta))

    def expect_coupon(self, meta: Any, code: Name, outcome: Name) -> ExpectCoupon:
        return ExpectCoupon(code, outcome, span=self._span(meta))

    def expect_action(self, meta: Any, action: Action) -> ExpectAction:
        return ExpectAction(action, span=self._span(meta))

    def expect_no_action(self, meta: Any, action: Action) -> ExpectAction:
        return ExpectAction(action, present=False, span=self._span(meta))

    def test_block(self, meta: Any, name: Token, event: Name, *rest: Any) -> RuleTest:
        subject = next((r.name for r in rest if isinstance(r, _Subject)), None)
        at = next((r for r in rest if isinstance(r, DateValue)), None)
        return RuleTest(
            self._string(name),
            event,
            [r.condition for r in rest if isinstance(r, _Given)],
            [r for r in rest if isinstance(r, Expectation)],
            subject=subject,
            at=at,
            refused=[r for r in rest if isinstance(r, GivenRefusal)],
            span=self._span(meta),
        )

    def start(self, meta: Any, *items: Item) -> list[Item]:
        return list(items)
