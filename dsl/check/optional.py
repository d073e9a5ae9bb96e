"""Optional entities (R311, a warning): a rule that can fire only on a
missing entity's absence of something, which is false, not true.
"""

from __future__ import annotations

from rulec.dsl.check.context import Context, walk
from rulec.dsl.check.satisfiability import MAX_DNF_TERMS, TooBig
from rulec.dsl.nodes import And, Compare, Condition, Ident, Not, Or
from rulec.dsl.resolve import entity_of, negative_atom, resolve_field

__all__ = ["stage_optional"]


def _atoms(c: Condition, positive: bool = True) -> list[list[tuple[Condition, bool]]]:
    """The condition as a disjunction of conjunctions of atoms, each with its polarity.

    Unlike the satisfiability stage's normal form, atoms stay as written: ``customer lacks label X``
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
            if len(out) > MAX_DNF_TERMS:
                raise TooBig
        return out
    return [[(c, positive)]]


def _presence(ctx: Context, atom: Condition, positive: bool) -> str | None:
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


def stage_optional(ctx: Context) -> None:
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
            negative_atom(c) and entity_of(c) in event.optional for c in walk(rule.condition)
        ):
            continue  # no negative test of an optional entity: nothing to warn about
        lines = range(rule.span.line, rule.span.end_line + 1)
        if any((rule.span.file, n) in broken for n in lines):
            continue  # the error, or the contradiction, says more
        try:
            terms = _atoms(rule.condition)
        except TooBig:
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
