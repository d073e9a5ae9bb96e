"""The errors of bad input at the engine's doors: facts and event names.

Every error rulec raises is a :class:`~rulec.dsl.diagnostics.RulesError`.
Facts refused where they enter :meth:`RuleSet.evaluate
<rulec.engine.core.ruleset.RuleSet.evaluate>`, :func:`decide
<rulec.engine.core.decide.decide>` or an order's flush are a
:class:`FactsError` (also a ``ValueError``), one subclass per kind of
mistake; each names the fact's key and the value, and says the fix ("did you
mean") where one fits. docs/reliability.md lists what is refused, and by
which error::

    RulesError
    ├── RulesInputError        a path, or no rule files (rulec.dsl.sources)
    ├── RulesSyntaxError, RulesCheckError, RuleRuntimeError
    ├── UnknownEventError      an event name the vocabulary does not have
    └── FactsError             facts refused (also a ValueError)
        ├── MoneyError         an amount: a float, NaN, infinite, negative,
        │                      finer than its currency's minor unit, too large
        ├── CurrencyError      a currency code that is not ISO 4217
        ├── UnknownFactError   an entity or field the event does not have
        ├── MissingFactError   a required fact missing (an order's currency)
        └── FactTypeError      a value of the wrong type, or not among its values
"""

from __future__ import annotations

from typing import Any

from rulec.dsl.diagnostics import RulesError

__all__ = [
    "CurrencyError",
    "FactTypeError",
    "FactsError",
    "MissingFactError",
    "MoneyError",
    "UnknownEventError",
    "UnknownFactError",
]

_NOTHING: Any = object()


class FactsError(RulesError, ValueError):
    """Facts refused at the door. ``key`` is the fact's key (``"order.subtotal"``),
    ``value`` what was given, ``suggestion`` the fix when there is one."""

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        value: Any = _NOTHING,
        suggestion: str | None = None,
    ) -> None:
        self.key = key
        self.value = None if value is _NOTHING else value
        self.suggestion = suggestion
        super().__init__(f"{message}; {suggestion}" if suggestion else message)


class MoneyError(FactsError):
    """An amount the money rules refuse: not a Decimal (a float, a str), not a
    number (NaN, infinite), negative, finer than its currency's minor unit
    (10.005 EUR, 100.5 JPY), or beyond what a money column stores."""


class CurrencyError(FactsError):
    """A currency code that is not an ISO 4217 code rulec knows (``EUX``, ``eur``)."""


class UnknownFactError(FactsError):
    """A fact the event does not have: an unknown entity (``custmer``), an entity
    the event does not provide, or an unknown field (``order.subtotl``)."""


class MissingFactError(FactsError):
    """A fact the decision cannot be made without: an order's subtotal or currency."""


class FactTypeError(FactsError):
    """A fact of the wrong type (``customer.order_count`` as ``"3"``, labels as one
    string), or a value not among its field's values (``order.status``)."""


class UnknownEventError(RulesError, LookupError):
    """An event name the rule set's vocabulary does not have (``order_craeted``)."""

    def __init__(self, event: str, suggestion: str | None = None) -> None:
        self.event = event
        self.suggestion = suggestion
        text = f"unknown event {event!r}"
        super().__init__(f"{text}; {suggestion}" if suggestion else text)
