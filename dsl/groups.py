"""Stacking groups (``group Seasonal after Loyalty``): the declarations of a rule set,
and what each group's base is, shared by the checker and lowering.

A group's percentages are of what the groups it is ``after`` leave of the
subtotal, and those groups' own percentages of what theirs leave: its base
is the subtotal less the discounts of every group it comes after, directly
or through another (:func:`group_bases`). The discount policy
(:mod:`rulec.engine.core.discount`) applies the groups in an order that puts
each after the groups it names, whatever the order of the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rulec.dsl.nodes import GroupDecl, Item

__all__ = ["declared_groups", "find_cycle", "group_bases"]


def declared_groups(items: Iterable[Item]) -> dict[str, GroupDecl]:
    """Each declared group by name: its first declaration (a second is R360)."""
    found: dict[str, GroupDecl] = {}
    for item in items:
        if isinstance(item, GroupDecl):
            found.setdefault(item.name.text, item)
    return found


def _after(decls: Mapping[str, GroupDecl]) -> dict[str, tuple[str, ...]]:
    """Each group's ``after`` names that are declared groups, in the order written."""
    return {name: tuple(a.text for a in d.after if a.text in decls) for name, d in decls.items()}


def find_cycle(decls: Mapping[str, GroupDecl]) -> list[str] | None:
    """A cycle of ``after`` (``["A", "B", "A"]``: A is after B, B after A), or None.

    Groups are visited in order of name, so the cycle reported is the same
    whatever the order of the files."""
    after = _after(decls)
    state: dict[str, int] = {}  # 1: on the path being followed, 2: done
    for start in sorted(after):
        if state.get(start):
            continue
        path = [start]
        todo = [iter(sorted(after[start]))]
        state[start] = 1
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                todo.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                todo.append(iter(sorted(after[nxt])))
    return None


def group_bases(items: Iterable[Item]) -> dict[str, tuple[str, ...]]:
    """Each declared group and, sorted, every group it comes after, directly or
    through another: the groups whose discounts its base is the subtotal less.
    (On a cycle, which the checker refuses, a group may appear in its own.)"""
    after = _after(declared_groups(items))
    out: dict[str, tuple[str, ...]] = {}
    for name in after:
        seen: set[str] = set()
        todo = list(after[name])
        while todo:
            g = todo.pop()
            if g not in seen:
                seen.add(g)
                todo.extend(after[g])
        out[name] = tuple(sorted(seen))
    return out
