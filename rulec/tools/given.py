"""Facts written as JSON (``rulec explain --given FACTS.json``), read with their types.

JSON has no decimals and no dates: amounts are read exactly (a JSON number
``120.00`` or a string ``"120.00"`` becomes ``Decimal("120.00")``, never a
float), and a field the vocabulary types as a date is read from ISO 8601
text (``"2026-12-01T09:12:00+01:00"``; a date alone is its midnight UTC).
Labels are a list of names. Nested (``{"customer": {"labels": [...]}}``)
or flat (``{"customer.labels": [...]}``), as ``RuleSet.evaluate`` takes
them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rulec.dsl.diagnostics import RulesError
from rulec.dsl.vocabulary import Type, Vocabulary

__all__ = ["FactsFileError", "read_facts", "typed_facts"]


class FactsFileError(RulesError):
    """Facts that are not valid JSON, or a value of the wrong kind for its field."""


def read_facts(text: str, vocabulary: Vocabulary, source: str = "<facts>") -> dict[str, Any]:
    """Facts from JSON ``text``, typed by ``vocabulary``; FactsFileError if they are not."""
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=int)
    except json.JSONDecodeError as e:
        raise FactsFileError(f"{source}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    return typed_facts(data, vocabulary, source)


def typed_facts(data: Any, vocabulary: Vocabulary, source: str = "<facts>") -> dict[str, Any]:
    """Facts from a JSON document already parsed (numbers as Decimal or int), typed
    by ``vocabulary`` as :func:`read_facts` types them; FactsFileError if they are not."""
    if not isinstance(data, dict):
        raise FactsFileError(f"{source}: the facts must be a JSON object")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = {k: _typed(vocabulary, key, k, v, source) for k, v in value.items()}
        elif isinstance(value, list) and "." not in key and all(isinstance(m, dict) for m in value):
            out[key] = [
                {k: _typed(vocabulary, key, k, v, source) for k, v in m.items()} for m in value
            ]
        elif "." in key:
            entity, _, name = key.partition(".")
            out[key] = _typed(vocabulary, entity, name, value, source)
        else:
            out[key] = value
    return out


def _typed(vocabulary: Vocabulary, entity: str, name: str, value: Any, source: str) -> Any:
    """``value`` as the field ``entity.name`` holds it (unknown fields as they are)."""
    found = vocabulary.entity(entity)
    f = found.field(name) if found is not None else None
    if f is None or value is None:
        return value
    where = f"{source}: {entity} {name.replace('_', ' ')}"
    if f.type in (Type.MONEY, Type.DECIMAL) and not isinstance(value, bool):
        try:
            return Decimal(str(value)) if isinstance(value, int | str) else value
        except InvalidOperation:
            raise FactsFileError(f"{where}: {value!r} is not a number") from None
    if f.type is Type.DATETIME and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise FactsFileError(
                f"{where}: {value!r} is not a date; write 2026-12-01 or 2026-12-01T09:12:00+01:00"
            ) from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return value
