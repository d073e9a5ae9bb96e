"""What a rule's names and windows mean: shared by check, compile and trace.

The checker reports what does not resolve; the compiler (and later the
lowering and the tracing interpreter) rely on the same answers for rules
that passed the check. One definition, so that what the checker accepts is
what the compiled code does.
"""

from __future__ import annotations

from rulec.dsl.nodes import (
    Between,
    Compare,
    Condition,
    FieldRef,
    HasAnyLabel,
    HasCoupon,
    HasCouponIn,
    HasLabel,
    In,
    Is,
    Rule,
    Window,
)
from rulec.dsl.values import Instant, parse_date
from rulec.dsl.vocabulary import Entity, Field, Vocabulary

__all__ = [
    "entity_of",
    "file_name",
    "negative_atom",
    "resolve_field",
    "rule_name",
    "window_bounds",
]


def resolve_field(vocabulary: Vocabulary, ref: FieldRef) -> tuple[Entity, Field] | None:
    entity = vocabulary.entity(ref.entity.text)
    if entity is None:
        return None
    f = entity.field(ref.field.text)
    return (entity, f) if f is not None else None


def window_bounds(window: Window) -> tuple[Instant | None, Instant | None] | str:
    """The start and end instants of a validity window, or an error message.

    A zone written after the end applies to the start too when the start
    has none: ``from 2026-11-27 until 2026-11-30 Europe/Paris``.
    """
    zone = None
    if window.end is not None and window.end.zone is not None:
        zone = window.end.zone
    out: list[Instant | None] = []
    for d in (window.start, window.end):
        if d is None:
            out.append(None)
            continue
        got = parse_date(d, zone)
        if isinstance(got, str):
            return got
        out.append(got)
    return out[0], out[1]


def entity_of(c: Condition) -> str | None:
    """The entity an atomic condition is about (None for and, or, not, any)."""
    if isinstance(c, HasLabel | HasAnyLabel | HasCoupon | HasCouponIn | Is):
        return c.entity.text
    if isinstance(c, Compare | Between | In):
        return c.field.entity.text
    return None


def negative_atom(c: Condition) -> bool:
    """Whether an atom would hold on a missing entity's facts (no labels, None fields)
    if it were not guarded: lacks, is not, !=, not in, not between."""
    if isinstance(c, HasLabel | HasAnyLabel | HasCoupon | HasCouponIn | Is | Between | In):
        return c.negated
    return isinstance(c, Compare) and c.op.text == "!="


def file_name(path: str) -> str:
    """The name a rule file has in its rule set when nothing else says: its base name."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def rule_name(rule: Rule, name: str) -> str:
    """A rule's display name: its block name, else ``NAME:LINE``, where ``name`` is
    its file's name in the rule set (:attr:`rulec.dsl.sources.Source.name`)."""
    if rule.name is not None:
        return rule.name
    return f"{name}:{rule.span.line if rule.span else 0}"
