"""Facts at the door: checked once, where a caller's facts enter a decision.

:meth:`RuleSet.evaluate <rulec.engine.core.ruleset.RuleSet.evaluate>` and
:func:`~rulec.engine.core.decide.decide` flatten a caller's facts and pass
them through the :class:`Door` of the event: every key must be a fact of an
entity the event provides (``custmer`` and ``order.subtotl`` are refused,
with the name meant), every value must have its field's type (money a
Decimal or an int, finite, not negative, below :data:`~rulec.engine.core.money.LIMIT`;
a currency an ISO 4217 code; labels a collection of names; …), and an event
that decides an order's money needs the order's subtotal and currency.
Errors are :class:`~rulec.engine.core.errors.FactsError` subclasses naming
the key and the value.

It is cheap where facts are right: one lookup and one type test per key
(the types each key takes are worked out once per event); only a miss goes
the slow way, to say what is wrong. :class:`Facts` the engine reads from
the database are typed by the fact catalog and are not checked again here;
:func:`~rulec.engine.core.decide.decide` still checks their subtotal and
currency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from rulec.dsl.currencies import MINOR_UNITS, currency_hint
from rulec.dsl.spelling import hint
from rulec.dsl.vocabulary import (
    Event,
    Field,
    Kind,
    Type,
    Vocabulary,
    absent_key,
    coupons_key,
    fact_key,
    labels_key,
    many_key,
)
from rulec.engine.core.errors import (
    CurrencyError,
    FactsError,
    FactTypeError,
    MissingFactError,
    MoneyError,
    UnknownEventError,
    UnknownFactError,
)
from rulec.engine.core.facts import Facts, flatten_facts, reader
from rulec.engine.core.money import LIMIT

__all__ = ["Door", "check_currency", "unknown_event"]

_NONE = type(None)
#: The Python types each type of field takes (None: the fact is not known).
_TYPES: dict[Type, tuple[type, ...]] = {
    Type.MONEY: (Decimal, int, _NONE),
    Type.DECIMAL: (Decimal, int, _NONE),
    Type.INTEGER: (int, _NONE),
    Type.STRING: (str, _NONE),
    Type.CURRENCY: (str, _NONE),
    Type.DATETIME: (datetime, _NONE),
    Type.BOOLEAN: (bool, _NONE),
}
_WHAT: dict[Type, str] = {
    Type.MONEY: "an amount (a Decimal, or an int)",
    Type.DECIMAL: "a number (a Decimal, or an int)",
    Type.INTEGER: "an integer",
    Type.STRING: "a string",
    Type.CURRENCY: "an ISO 4217 currency code",
    Type.DATETIME: "a datetime",
    Type.BOOLEAN: "True or False",
}
_LABELS = (frozenset, _NONE)
_MEMBERS = (tuple,)
_FLAG = (bool, _NONE)

#: How a key's value is checked: the types it takes, and a check of the value
#: itself (money in range, a currency code, one of a field's values), or None.
Check = tuple[tuple[type, ...], Callable[[str, Any], None] | None]
#: The same for one field of an entity in the one pass: its key, its check, how it is read.
Fast = tuple[str, tuple[type, ...], Callable[[str, Any], None] | None, Callable[[Any], Any] | None]


def unknown_event(event: str, known: list[str]) -> UnknownEventError:
    """``order_craeted`` is not an event: say which one was meant."""
    subjects = [k for k in known if k.startswith(f"{event}:")]
    if subjects:  # "daily": a scheduled event is named with its subject
        names = " or ".join(f"'{k}'" for k in subjects)
        return UnknownEventError(event, f"a scheduled event is named with its subject: {names}")
    return UnknownEventError(event, hint(event, known))


def check_currency(key: str, value: Any) -> None:
    """``value`` is an ISO 4217 code rulec knows, else CurrencyError (None passes)."""
    if value is None or (type(value) is str and value in MINOR_UNITS):
        return
    if type(value) is not str:
        raise CurrencyError(
            f"{key} {value!r} is a {type(value).__name__}: a currency is an ISO 4217 code "
            "such as 'EUR'",
            key=key,
            value=value,
        )
    raise CurrencyError(
        f"unknown currency {value!r} in {key}: not an ISO 4217 code",
        key=key,
        value=value,
        suggestion=currency_hint(value) or hint(value.upper(), list(MINOR_UNITS)),
    )


def _check_amount(key: str, value: Any) -> None:
    """A finite amount below LIMIT (an order's subtotal: its sign and places are
    :func:`~rulec.engine.core.money.payable`'s, which knows its currency)."""
    if value is None or type(value) is int or value.is_finite():
        if value is None or value < LIMIT:
            return
        raise MoneyError(
            f"{key} {value} is too large: amounts are below 10**10 (what a money column stores)",
            key=key,
            value=value,
        )
    raise MoneyError(f"{key} {value} is not an amount", key=key, value=value)


def _check_money(key: str, value: Any) -> None:
    """A finite amount below LIMIT, not negative."""
    _check_amount(key, value)
    if value is not None and value < 0:
        raise MoneyError(f"{key} {value} is negative", key=key, value=value)


def _one_of(values: tuple[str, ...], name: str) -> Callable[[str, Any], None]:
    allowed = frozenset(values)

    def check(key: str, value: Any) -> None:
        if value is None or value in allowed:
            return
        raise FactTypeError(
            f"{key} {value!r} is not one of {name}'s values ({', '.join(values)})",
            key=key,
            value=value,
            suggestion=hint(value, values),
        )

    return check


def _field_check(entity: str, f: Field) -> Check:
    if f.type is Type.MONEY:
        subtotal = entity == "order" and f.name == "subtotal"
        return _TYPES[f.type], _check_amount if subtotal else _check_money
    if f.type is Type.CURRENCY:
        return _TYPES[f.type], check_currency
    if f.values:
        return _TYPES[f.type], _one_of(f.values, f.name)
    return _TYPES[f.type], None


class Door:
    """The facts one event takes, and how each is checked (see the module)."""

    def __init__(self, vocabulary: Vocabulary, event: Event) -> None:
        self.event = event.key
        self.vocabulary = vocabulary
        self.entities = event.entities
        checks: dict[str, Check] = {}
        members: dict[str, dict[str, Check]] = {}
        for name in event.entities:
            entity = vocabulary.entity(name)
            if entity is None:
                continue
            own = {fact_key(name, f.name): _field_check(name, f) for f in entity.fields}
            if entity.labelled:
                own[labels_key(name)] = (_LABELS, None)
            if entity.coupons:
                own[coupons_key(name)] = (_LABELS, None)
            if name in event.many:
                members[many_key(name)] = own
                checks[many_key(name)] = (_MEMBERS, self._members)
                continue
            if name in event.optional:
                own[absent_key(name)] = (_FLAG, None)
            checks.update(own)
        self.checks = checks
        #: The same, but leaving the subtotal's and currency's values to decide,
        #: which checks them anyway (payable, and the currency's minor unit).
        self.deferred = {
            k: (types, None if k in ("order.subtotal", "order.currency") else value)
            for k, (types, value) in checks.items()
        }
        self.members = members
        #: For the one pass over facts in the README's shape: per key, its types,
        #: its value's check and how its value is read (see :meth:`_laid`).
        self._fast = self._by_entity(checks)
        self._fast_deferred = self._by_entity(self.deferred)
        #: Per set of keys a caller wants present, what each reads as when missing.
        self._defaults: dict[frozenset[str], dict[str, Any]] = {}
        #: Facts an order's decision needs: only an order event discounts, and its
        #: figures are in the order's currency.
        self.required: tuple[str, ...] = ()
        if event.kind is Kind.ORDER and "order" in event.entities:
            self.required = ("order.subtotal", "order.currency")

    def admit(
        self,
        facts: Mapping[str, Any],
        keys: frozenset[str] = frozenset(),
        *,
        required: bool = True,
        deferred: bool = False,
    ) -> Facts:
        """``facts`` flattened and checked; every key in ``keys`` present. Raises a
        FactsError subclass naming what is wrong. ``required=False`` leaves out the
        facts a decision needs (for conditions alone); ``deferred=True`` leaves the
        values (not the types) of the order's subtotal and currency to the caller,
        :func:`~rulec.engine.core.decide.decide`, which checks them anyway."""
        # every key in ``keys`` present: what a missing fact reads as (Facts.__missing__),
        # worked out once per set of keys; the facts given are laid over it
        defaults = self._defaults.get(keys) if keys else None
        if defaults is None and keys:
            probe = Facts()
            defaults = self._defaults[keys] = {k: probe[k] for k in keys}
        out = Facts(defaults) if defaults else Facts()
        if not self._laid(facts, self._fast_deferred if deferred else self._fast, out):
            out = self._flattened(facts, deferred)
            if defaults:
                out = Facts({**defaults, **out})
        if required:
            for k in self.required:
                if out.get(k) is None:
                    raise self._missing(k)
        return out

    def _by_entity(self, checks: Mapping[str, Check]) -> dict[str, dict[str, Fast]]:
        """``checks`` for :meth:`_laid`: per entity, per field name, the fact's key, its
        types, its value's check and how its value is read (lists of members left out)."""
        out: dict[str, dict[str, Fast]] = {}
        for key, (types, check) in checks.items():
            if key.endswith(".all"):
                continue
            entity, _, name = key.partition(".")
            read = reader(key, self._is_datetime(key))
            out.setdefault(entity, {})[name] = (key, types, check, read)
        return out

    def _laid(self, facts: Any, fast: Mapping[str, Mapping[str, Fast]], out: Facts) -> bool:
        """Facts in the README's shape (``{"order": {"subtotal": …}, "customer":
        {"labels": …}}``: a dict of dicts) read, checked and laid into ``out`` in one
        pass; False, with ``out`` to be dropped, for any other shape (flat keys, lists
        of members, other mappings) or a value to refuse, which :meth:`_flattened`
        then reads and refuses the one way. The pass is flatten_facts' and the
        check's in one: on the README's VIP order through ``RuleSet.evaluate`` it
        takes the door from 29,500 to ... instructions a decision (callgrind,
        docs/performance.md), which is what keeps the public path within issue 13's
        budget."""
        if type(facts) is not dict:
            return False
        for entity, fields in facts.items():
            known = fast.get(entity)
            if known is None or type(fields) is not dict:
                return False
            for name, value in fields.items():
                got = known.get(name)
                if got is None:
                    return False
                key, types, check, read = got
                if read is not None:
                    try:
                        value = read(value)
                    except FactsError:
                        return False
                if type(value) not in types:
                    return False
                if check is not None:
                    check(key, value)
                out[key] = value
        return True

    def _flattened(self, facts: Mapping[str, Any], deferred: bool) -> Facts:
        """``facts`` of any shape flattened and checked, a key at a time; raises for
        the first fact refused."""
        try:
            flat = flatten_facts(facts)
        except FactsError:
            raise
        except Exception as e:  # not a mapping, a key not a string, a member not a mapping
            raise FactTypeError(
                f"facts cannot be read ({type(e).__name__}: {e}): facts are a mapping of "
                "entity names to mappings of fields, or of keys such as 'order.subtotal'"
            ) from None
        checks = self.deferred if deferred else self.checks
        for k, v in flat.items():
            try:
                types, value = checks[k]
            except KeyError:
                raise self._unknown(k, v) from None
            if type(v) not in types:
                raise self._wrong(k, v)
            if value is not None:
                value(k, v)
        return flat

    def refuse(self, facts: Mapping[str, Any]) -> None:
        """Raise for the first required fact of ``facts`` that is missing, or a
        currency that is not ISO 4217 (facts taken as they are, not admitted)."""
        for k in self.required:
            if facts[k] is None:
                raise self._missing(k)
        check_currency("order.currency", facts["order.currency"])

    # ------------------------------------------------------- the slow way --

    def _members(self, key: str, members: Any) -> None:
        checks = self.members[key]
        for member in members:
            for k, v in member.items():
                check = checks.get(k)
                if check is None:
                    raise self._unknown(k, v, checks)
                if type(v) not in check[0]:
                    raise self._wrong(k, v, checks)
                if check[1] is not None:
                    check[1](k, v)

    def _missing(self, key: str) -> FactsError:
        entity, _, name = key.partition(".")
        never = "guessed" if name == "currency" else "taken as zero"
        return MissingFactError(
            f"{key} is missing: {self.event} decides the {entity}'s money, which needs "
            f"its {name} (an {entity}'s {name} is never {never})",
            key=key,
        )

    def _wrong(self, key: str, value: Any, checks: Mapping[str, Check] | None = None) -> FactsError:
        kind = type(value).__name__
        entity, _, name = key.partition(".")
        if name == "labels":
            return FactTypeError(
                f"{key} is a {kind}: labels are a set of names", key=key, value=value
            )
        if name == "absent":
            return FactTypeError(f"{key} is a {kind}: it is True or False", key=key, value=value)
        if name == "all":
            return FactTypeError(
                f"{key} is a {kind}: {entity} is a list of mappings, one per {entity}",
                key=key,
                value=value,
            )
        f = self._field(entity, name)
        assert f is not None
        if f.type is Type.MONEY:
            never = ", never a float" if kind == "float" else ""
            return MoneyError(
                f"{key} {value!r} is a {kind}: money is a Decimal (or an int){never}",
                key=key,
                value=value,
            )
        if f.type is Type.CURRENCY:
            try:
                check_currency(key, value)
            except CurrencyError as e:
                return e
        return FactTypeError(
            f"{key} {value!r} is a {kind}: {entity} {f.name} is {_WHAT[f.type]}",
            key=key,
            value=value,
        )

    def _is_datetime(self, key: str) -> bool:
        entity, _, name = key.partition(".")
        f = self._field(entity, name)
        return f is not None and f.type is Type.DATETIME

    def _field(self, entity: str, name: str) -> Field | None:
        e = self.vocabulary.entity(entity)
        return e.field(name) if e is not None else None

    def _unknown(
        self, key: str, value: Any, checks: Mapping[str, Check] | None = None
    ) -> FactsError:
        top = checks is None  # a fact of the event, not of a member of a list
        if checks is None:
            checks = self.checks
        entity, dot, name = key.partition(".")
        if not dot:  # {"order": None}, {"custmer": 3}, {"order_subtotal": ...}
            if entity in self.entities:
                return FactTypeError(
                    f"{entity} is a {type(value).__name__}: an entity is a mapping of its fields",
                    key=key,
                    value=value,
                )
            return UnknownFactError(
                f"unknown fact {key!r} in the facts of {self.event}",
                key=key,
                value=value,
                suggestion=hint(key, [*self.entities, *checks]),
            )
        if entity not in self.entities:
            if self.vocabulary.entity(entity) is not None:
                return UnknownFactError(
                    f"{self.event} has no {entity}: its facts are about "
                    f"{', '.join(self.entities)} (fact {key!r})",
                    key=key,
                    value=value,
                )
            return UnknownFactError(
                f"unknown entity {entity!r} in the facts of {self.event} (fact {key!r})",
                key=key,
                value=value,
                suggestion=hint(entity, self.entities),
            )
        many = many_key(entity)
        if top and many in self.members and key != many:
            return UnknownFactError(
                f"{key}: {entity} is a list in {self.event}; give it as "
                f"{{{entity!r}: [{{...}}, ...]}}",
                key=key,
                value=value,
            )
        names = [k.partition(".")[2] for k in checks if k.startswith(entity + ".")]
        f = self._field(entity, name)
        meant = f.name if f is not None and f.name in names else None
        return UnknownFactError(
            f"unknown field {name!r} of {entity} in the facts of {self.event} (fact {key!r})",
            key=key,
            value=value,
            suggestion=f"did you mean '{meant}'?" if meant else hint(name, names),
        )
