"""Rule-set checks: unique rule names (R304), settings given once and
consistent (R309), validity windows with valid dates (R207) that end after
they start (R305), no rule that adds and removes the same label (R310).
"""

from __future__ import annotations

from typing import Any

from rulec.dsl.check.context import Context
from rulec.dsl.check.types import date_text, known_zone
from rulec.dsl.nodes import (
    Budget,
    Combinable,
    Description,
    Enabled,
    Exclusive,
    GiveBack,
    InGroup,
    LabelAction,
    Priority,
    Rule,
    UsageLimit,
    Window,
)
from rulec.dsl.resolve import window_bounds

__all__ = ["stage_rule_set"]


def stage_rule_set(ctx: Context) -> None:
    """Unique names, consistent settings, sane windows, no add-and-remove."""
    seen: dict[str, Rule] = {}
    for rule in ctx.rules:
        # every rule's name: a block's own, or the one a one-line rule is given
        # (FILE-NAME:LINE), which may clash with a block's or with another file's
        name = ctx.rule_name(rule)
        first = seen.get(name)
        if first is not None and first.span is not None:
            ctx.report(
                "R304",
                f"rule name '{name}' is already used at {first.span.file}:{first.span.line}",
                rule.span,
                "give each rule its own name"
                if rule.name is not None
                else f'name it in a block, rule "…" … end, or rename one of the files '
                f"called '{name.rsplit(':', 1)[0]}'",
            )
        else:
            seen[name] = rule
        kinds: dict[type, Any] = {}
        for m in rule.meta:
            k = type(m)
            if isinstance(m, UsageLimit | Budget | GiveBack):
                continue  # several may stand together (stage_usage)
            if k in kinds:
                what = {
                    Description: "description",
                    Priority: "priority",
                    Enabled: "enabled/disabled",
                    Exclusive: "exclusive",
                    Combinable: "combinable",
                    InGroup: "group",
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


def _window(ctx: Context, w: Window) -> None:
    dates = [d for d in (w.start, w.end) if d is not None]
    if not all([known_zone(ctx, d) for d in dates]):
        for d in dates:  # a date written wrong is a mistake of its own
            date_text(ctx, d)
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
