"""Stacking groups: declared once, ``after`` declared groups without a cycle, each
rule's ``in group`` a declared group, each group with a rule in it (R240, R309, R360
to R362)."""

from __future__ import annotations

from rulec.dsl.check.context import Context, did_you_mean
from rulec.dsl.groups import declared_groups, find_cycle
from rulec.dsl.nodes import Exclusive, GroupDecl, InGroup, Name

__all__ = ["stage_groups"]


def stage_groups(ctx: Context) -> None:
    """Group declarations and the rules' ``in group``."""
    decls = declared_groups(ctx.items)
    names = sorted(decls)
    for item in ctx.items:
        if not isinstance(item, GroupDecl):
            continue
        first = decls[item.name.text]
        if first is not item and first.span is not None:
            ctx.report(
                "R360",
                f"group '{item.name.text}' is already declared at "
                f"{first.span.file}:{first.span.line}",
                item.name.span,
                "declare each group once; put every group it comes after in that one declaration",
            )
        for a in item.after:
            if a.text not in decls:
                _unknown(ctx, a, names)
    cycle = find_cycle(decls)
    if cycle is not None:
        # reported at the first group of the cycle, at its 'after' name that closes it
        decl = decls[cycle[0]]
        at = next((a for a in decl.after if a.text == cycle[1]), decl.name)
        ctx.report(
            "R361",
            "the groups' order goes round in a circle: " + " after ".join(cycle),
            at.span,
            "a group's base cannot include its own discounts; remove one 'after'",
        )
    used: set[str] = set()
    for rule in ctx.rules:
        group = None
        exclusive = None
        for m in rule.meta:
            if isinstance(m, InGroup):
                group = m
            elif isinstance(m, Exclusive):
                exclusive = m
        if group is None:
            continue
        used.add(group.group.text)
        if group.group.text not in decls:
            _unknown(ctx, group.group, names)
        if exclusive is not None:
            ctx.report(
                "R309",
                "a rule cannot be both exclusive and in a group",
                group.span,
                "an exclusive rule applies alone, so no group stacks with it; "
                "remove 'exclusive' or the group",
            )
    for name in names:
        decl = decls[name]
        if name not in used:
            ctx.report(
                "R362",
                f"no rule is in group '{name}'",
                decl.name.span,
                f"put a rule in it with 'in group {name}', or remove the declaration",
            )


def _unknown(ctx: Context, name: Name, names: list[str]) -> None:
    ctx.report(
        "R240",
        f"group '{name.text}' is not declared",
        name.span,
        did_you_mean(name.text, names) or f"declare it with 'group {name.text}'",
    )
