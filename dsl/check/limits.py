"""Limits (R112, R114): more rules than the engine takes, names too long to store."""

from __future__ import annotations

from rulec.dsl.check.context import Context
from rulec.dsl.nodes import LabelAction, LabelDecl, Name

__all__ = ["MAX_LABEL_NAME", "MAX_RULES", "MAX_RULE_NAME", "stage_limits"]


#: A rule set with more rules than this gets R112.
MAX_RULES = 200_000
#: Longer rule names get R114: the engine's audit rows keep at most this many.
MAX_RULE_NAME = 200
#: Longer label names get R114: the database's labels keep at most this many.
MAX_LABEL_NAME = 100


def stage_limits(ctx: Context) -> None:
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


def _label_length(ctx: Context, name: Name) -> None:
    if len(name.text) > MAX_LABEL_NAME:
        ctx.report(
            "R114",
            f"the label name is {len(name.text):,} characters long,"
            f" over the limit of {MAX_LABEL_NAME}",
            name.span,
            "shorten the label name",
        )
