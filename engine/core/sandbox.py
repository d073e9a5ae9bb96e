"""The only names compiled rule code can see.

The loader executes a compiled module in a namespace holding exactly
``__all__`` from this module and ``{"__builtins__": {}}``: no ``open``, no
``__import__``, no ``getattr``. ``__all__`` must equal
``rulec.dsl.compiler.RUNTIME_NAMES``; a test holds them together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Set
from datetime import datetime
from decimal import Decimal
from types import CodeType, FunctionType
from typing import Any

from rulec.engine.core.rules import (
    Action,
    FixedDiscount_,
    LabelChange_,
    PercentDiscount_,
    Rule_,
    SetField_,
    Visibility_,
)

#: What compiled code sees (the classes below are the engine's, built by RULES_).
__all__ = ["ANY_", "FN_", "FS", "GET_", "RULES_", "SOME_", "D", "T"]


def D(text: str) -> Decimal:
    """A Decimal from the constant string the compiler wrote."""
    return Decimal(text)


def T(text: str) -> datetime:
    """An aware datetime from the constant ISO string the compiler wrote."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:  # pragma: no cover - the compiler always writes an offset
        raise ValueError(f"naive datetime {text!r} in compiled rules")
    return value


def FS(items: tuple[Any, ...]) -> frozenset[Any]:
    """A frozenset from a constant tuple."""
    return frozenset(items)


def ANY_(wanted: frozenset[str], present: Set[str]) -> bool:
    """Whether any of the ``wanted`` labels is ``present``."""
    return not wanted.isdisjoint(present)


def GET_(facts: Mapping[str, Any], key: str) -> Any:
    """The fact ``key``, or None when ``facts`` leaves it out (``customer.absent``)."""
    return facts.get(key)


def SOME_(members: Iterable[Mapping[str, Any]], test: Callable[[Mapping[str, Any]], bool]) -> bool:
    """Whether ``test`` holds for one of ``members`` (``any item has label X``)."""
    return any(test(member) for member in members)


def FN_(anchor: FunctionType, codes: tuple[CodeType, ...]) -> tuple[FunctionType, ...]:
    """The rule functions of a compiled module, from the code objects it holds.

    ``codes`` is a constant of the module: code objects the compiler made
    (``rulec.dsl.codetemplate``), or read from a cache file that checked
    every one of them (``rulec.engine.core.cache``). ``anchor`` is a function the
    module defines (``lambda: None``) for its globals: the new functions run
    in the module's namespace, as a ``def`` there would, and that namespace
    must be a sandboxed one (no builtins).
    """
    if not isinstance(anchor, FunctionType) or not isinstance(codes, tuple):
        raise TypeError("FN_ takes a function of the module and a tuple of code objects")
    namespace = anchor.__globals__
    if namespace.get("__builtins__") != {}:
        raise TypeError("FN_ makes functions only in a namespace without builtins")
    functions = []
    for code in codes:
        if not isinstance(code, CodeType) or code.co_freevars:
            raise TypeError("FN_ takes code objects of plain functions")
        functions.append(FunctionType(code, namespace))
    return tuple(functions)


def RULES_(
    tests: tuple[Callable[[Mapping[str, Any]], bool], ...],
    table: tuple[str | tuple[Any, ...], ...],
) -> tuple[Rule_, ...]:
    """The ``Rule_`` records of a compiled module, from its constant table.

    ``tests[i]`` is the condition function of ``table[i]``, the rule's
    fields in the order the compiler writes them
    (``rulec.dsl.compiler.RECORD_FIELDS``): a JSON array in a module compiled
    from its syntax tree (what ``rulec compile`` shows), the same values as a
    tuple in a module compiled by shape (whose constants never go through
    ``compile()``, so need no text form). Equal actions are built once and
    shared.
    """
    actions: dict[tuple[Any, ...], Action] = {}
    rules = []
    for test, text in zip(tests, table, strict=True):
        row = json.loads(text) if isinstance(text, str) else text
        (
            id_,
            name,
            file,
            line,
            column,
            event,
            acts,
            priority,
            enabled,
            exclusive,
            combinable,
            valid_from,
            valid_until,
            description,
            labels,
            facts,
            label_only,
        ) = row
        built = []
        for a in acts:
            key = tuple(a)  # an action's fields are scalars
            action = actions.get(key)
            if action is None:
                action = actions[key] = _action(a)
            built.append(action)
        rules.append(
            Rule_(
                id=id_,
                name=name,
                file=file,
                line=line,
                column=column,
                event=event,
                test=test,
                actions=tuple(built),
                priority=priority,
                enabled=enabled,
                exclusive=exclusive,
                combinable=combinable,
                valid_from=None if valid_from is None else T(valid_from),
                valid_until=None if valid_until is None else T(valid_until),
                description=description,
                labels=None if labels is None else tuple(tuple(pair) for pair in labels),
                facts=tuple(facts),
                label_only=label_only,
            )
        )
    return tuple(rules)


def _action(row: list[Any]) -> Action:
    kind = row[0]
    if kind == "percent":
        _, percent, title, cap, cap_currency = row
        return PercentDiscount_(D(percent), title, None if cap is None else D(cap), cap_currency)
    if kind == "fixed":
        _, amount, currency, title = row
        return FixedDiscount_(D(amount), currency, title)
    if kind == "label":
        _, entity, label, add = row
        return LabelChange_(entity, label, add)
    if kind == "set":
        _, entity, name, value = row
        return SetField_(entity, name, value)
    if kind in ("show", "hide"):
        return Visibility_(row[1], kind == "show")
    raise ValueError(f"unknown action {kind!r} in compiled rules")
