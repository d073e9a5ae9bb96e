"""Facts and instants in an analyst's words, for explanations and reasons."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["instant", "value_words", "words"]

_KEY = re.compile(r"\b([a-z]\w*)\.([a-z]\w*)\b")


def words(text: str) -> str:
    """Fact keys in words: ``order.subtotal >= 50.00`` → ``order subtotal >= 50.00``."""
    return _KEY.sub(lambda m: f"{m[1]} {m[2].replace('_', ' ')}", text)


def instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def value_words(value: Any) -> str:
    """A fact's value as an analyst reads it."""
    if value is None:
        return "none"
    if isinstance(value, frozenset | set):
        return ", ".join(sorted(map(str, value))) or "none"
    if isinstance(value, datetime):
        return instant(value)
    return str(value)
