"""The only names compiled rule code can see.

The loader runs the compiler's factories (``rulec.dsl.compiler``) in a
namespace holding exactly ``__all__`` from this module and
``{"__builtins__": {}}``: no ``open``, no ``__import__``, no ``getattr``.
``__all__`` must equal ``rulec.dsl.compiler.RUNTIME_NAMES``; a test holds
them together. A rule's values never reach this namespace: they are the
arguments its factory is called with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any

#: What compiled code sees.
__all__ = ["ANY_", "CODE_IN_", "FS", "GET_", "SOME_"]


def ANY_(wanted: frozenset[str], present: Set[str]) -> bool:
    """Whether any of the ``wanted`` labels is ``present``."""
    return not wanted.isdisjoint(present)


def CODE_IN_(entered: Set[str], codes: frozenset[str], prefixes: frozenset[str]) -> bool:
    """Whether a code ``entered`` is one of a family's: among ``codes``, or starting
    with one of ``prefixes`` (``order has coupon in Partner``)."""
    if not codes.isdisjoint(entered):
        return True
    if prefixes:
        starts = tuple(prefixes)
        return any(code.startswith(starts) for code in entered)
    return False


def FS(items: tuple[Any, ...]) -> frozenset[Any]:
    """A frozenset of a factory's constants (the labels of ``has any label of``)."""
    return frozenset(items)


def GET_(facts: Mapping[str, Any], key: str) -> Any:
    """The fact ``key``, or None when ``facts`` leaves it out (``customer.absent``)."""
    return facts.get(key)


def SOME_(members: Iterable[Mapping[str, Any]], test: Callable[[Mapping[str, Any]], bool]) -> bool:
    """Whether ``test`` holds for one of ``members`` (``any item has label X``)."""
    return any(test(member) for member in members)


def namespace() -> dict[str, Any]:
    """A fresh namespace for compiled code: these names and no builtins."""
    names: dict[str, Any] = {name: globals()[name] for name in __all__}
    names["__builtins__"] = {}
    return names
