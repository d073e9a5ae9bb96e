"""Coupon code families (R232 to R236).

``coupon family Partner is "PARTNER-*", "FRIENDS"`` names codes once per rule
set; ``order has coupon in Partner`` tests them. A family is declared once
(R233); each member is a code one can type (R231) or such a code followed by
one ``*``, a prefix (R234 for a ``*`` elsewhere, or alone); a member another
member already covers is a warning (R235), and so is a family no rule tests
(R236). An unknown family in a condition is R232 (:mod:`.names`, with the
other names).
"""

from __future__ import annotations

import re

from rulec.dsl.check.context import Context, walk
from rulec.dsl.check.names import COUPON_CODE, coupon_code
from rulec.dsl.nodes import CouponFamily, HasCouponIn, Name

__all__ = ["family_members", "stage_families"]


def family_members(family: CouponFamily) -> tuple[frozenset[str], frozenset[str]]:
    """A checked family's exact codes and prefixes, upper case (as codes are compared)."""
    codes: set[str] = set()
    prefixes: set[str] = set()
    for p in family.patterns:
        text = p.text.upper()
        if text.endswith("*"):
            prefixes.add(text[:-1])
        else:
            codes.add(text)
    return frozenset(codes), frozenset(prefixes)


def stage_families(ctx: Context) -> None:
    """Families declared once, of valid members without repeats, and each one tested."""
    for item in ctx.items:
        if not isinstance(item, CouponFamily):
            continue
        first = ctx.families.get(item.name.text)
        if first is not None:
            where = f" (line {first.span.line})" if first.span is not None else ""
            ctx.report(
                "R233",
                f"coupon family '{item.name.text}' is declared twice",
                item.name.span,
                f"a family is declared once in a rule set{where}: "
                "put all its codes in that declaration",
            )
            continue
        ctx.families[item.name.text] = item
        _members(ctx, item)
    used = {
        c.family.text
        for rule in ctx.rules
        for c in walk(rule.condition)
        if isinstance(c, HasCouponIn)
    }
    for name, family in ctx.families.items():
        if name not in used:
            ctx.report(
                "R236",
                f"coupon family '{name}' is not tested by any rule",
                family.name.span,
                f"test it in a rule (when order has coupon in {name}), or remove it",
            )


def _members(ctx: Context, family: CouponFamily) -> None:
    """Each member a code or a prefix; none covered by another."""
    valid: list[tuple[Name, str, bool]] = []  # (member, upper-case text, prefix)
    for p in family.patterns:
        text = p.text
        star = text.find("*")
        if star == -1:
            before = len(ctx.diagnostics)
            coupon_code(ctx, p)
            if len(ctx.diagnostics) == before:
                valid.append((p, text.upper(), False))
            continue
        if star != len(text) - 1 or star == 0:
            cleaned = text.replace("*", "")
            ctx.report(
                "R234",
                f"'{text}' is not a code pattern: a '*' stands for the end of a code, "
                "after a prefix of at least one character",
                p.span,
                f'write "{cleaned}*" for every code that starts with {cleaned}'
                if cleaned
                else 'name the codes, or the prefix they start with ("PARTNER-*")',
            )
            continue
        prefix = text[:-1]
        if COUPON_CODE.fullmatch(prefix) is None:  # R231 for the prefix, mended with its '*'
            cleaned = re.sub(r"[^A-Za-z0-9_-]+", "", prefix.replace(" ", "-"))[:64]
            ctx.report(
                "R231",
                f"'{prefix}' is not the start of a coupon code: codes are letters, digits, "
                "'-' and '_', at most 64",
                p.span,
                f'write "{cleaned}*"' if cleaned else None,
            )
            continue
        valid.append((p, prefix.upper(), True))
    for n, (p, text, prefix) in enumerate(valid):
        if any(t == text and pr == prefix for _, t, pr in valid[:n]):
            ctx.report("R235", f"'{p.text}' is listed twice in the family", p.span, "remove one")
            continue
        cover = next(
            (q for q, t, pr in valid if pr and text.startswith(t) and not (prefix and t == text)),
            None,
        )
        if cover is not None:
            ctx.report(
                "R235",
                f"'{p.text}' is already in the family: '{cover.text}' covers it",
                p.span,
                f"remove '{p.text}'",
            )
