"""Facts: the flat mapping rules read (``"order.subtotal"``), and its normalisation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rulec.engine.core.errors import FactTypeError

__all__ = ["Facts", "flatten_facts", "reader"]


#: Value types that are certainly not mappings, to skip the slower isinstance check.
_PLAIN: frozenset[type] = frozenset(
    {str, int, bool, float, Decimal, frozenset, set, list, tuple, type(None)}
)


class Facts(dict[str, Any]):
    """Flat facts already in the form rules read them.

    Labels are frozensets, datetimes are aware and every fact a rule set
    reads is present. :func:`flatten_facts` and the engine's ``load_facts``
    build them; :meth:`RuleSet.evaluate` takes them as they are, without
    the copy it makes of any other mapping. Build them with those functions
    (or ``Facts(flatten_facts(...))``), not by hand.
    """

    __slots__ = ()

    def __missing__(self, key: str) -> Any:
        """A fact nobody loaded reads as flatten_facts fills it: no labels, or None."""
        return _missing(key)


_NO_LABELS: frozenset[str] = frozenset()


def flatten_facts(facts: Mapping[str, Any], keys: Iterable[str] = ()) -> Facts:
    """Flat facts (``"order.subtotal"``) from nested or flat ones.

    Label collections become frozensets (labels that are not a collection of
    strings, such as one string, raise FactTypeError), naive datetimes are
    taken as UTC, and every key in ``keys`` is present (None, or no labels,
    when missing). Keys and the other values are not checked here: that is
    the door's job (:mod:`rulec.engine.core.validate`).
    """
    flat = Facts()
    k = ""
    try:
        for k, v in facts.items():
            kind = type(v)
            if kind is dict or (kind not in _PLAIN and isinstance(v, Mapping)):
                # an entity: ``{"order": {"subtotal": …, "currency": …}}``
                for name, value in v.items():
                    flat[f"{k}.{name}"] = _value(name, value)
            elif k.endswith(".all") or (
                "." not in k
                and (kind is list or kind is tuple)
                and all(isinstance(m, Mapping) for m in v)
            ):
                # a list entity: ``{"item": [{"labels": {...}, "quantity": 2}, …]}``
                # or ``{"item.all": [...]}``; each member flattened on its own
                entity = k.removesuffix(".all")
                flat[f"{entity}.all"] = tuple(_member(entity, m) for m in v or ())
            else:  # a flat fact: ``{"order.subtotal": …}``
                flat[k] = _value(k.rpartition(".")[2], v)
    except FactTypeError as e:
        if e.key is None or e.key == "coupons":  # labels or codes that are not names: whose
            field = e.key or "labels"
            key = e.key = k if k.endswith(field) else f"{k.removesuffix('.all')}.{field}"
            e.args = (f"{key}: {e.args[0]}",)
        raise
    for k in keys:
        if k not in flat:
            flat[k] = _missing(k)
    return flat


#: Collections labels are usually given as, turned into a frozenset without more ado.
_COLLECTIONS: frozenset[type] = frozenset({set, list, tuple})


def _labels(value: Any) -> frozenset[str]:
    """Labels given as another collection (a set, a list, any iterable), as a
    frozenset of names; one string, a mapping, or names that are not strings are
    refused (FactTypeError)."""
    try:
        if type(value) in _COLLECTIONS:
            labels = frozenset(value)
        elif type(value) is frozenset:  # taken as it is, as flatten_facts takes it
            return value
        elif value is None:
            return _NO_LABELS
        elif isinstance(value, (str, bytes, Mapping)):
            raise TypeError
        else:  # a generator, a dict's keys, …
            labels = frozenset(value)
        "".join(labels)  # every name a string: TypeError otherwise (and at C speed)
        return labels
    except TypeError:  # not iterable, names that cannot be hashed, or not strings
        raise FactTypeError(
            f"labels {value!r} are not a set of names (a set, frozenset, list or tuple of strings)",
            value=value,
        ) from None


def _coupons(value: Any) -> frozenset[str]:
    """Entered coupon codes as rules compare them: trimmed, in capitals (``spring10 ``
    is ``SPRING10``); refused as labels are when they are not a collection of strings."""
    if type(value) is frozenset and all(type(c) is str and c == c.strip().upper() for c in value):
        return value
    try:
        return frozenset(c.strip().upper() for c in _labels(value))
    except FactTypeError:
        raise FactTypeError(
            f"coupon codes {value!r} are not a set of codes (a set, list or tuple of strings)",
            key="coupons",
            value=value,
        ) from None


def reader(key: str, datetimes: bool) -> Callable[[Any], Any] | None:
    """How :func:`flatten_facts` reads the value of ``key`` (a fact of an entity, not
    a list), for a caller that reads one key at a time: labels and codes as
    frozensets, a datetime field's value aware; None: as it is given."""
    if key.endswith(".labels"):
        return _labels
    if key.endswith(".coupons"):
        return _coupons
    return _aware if datetimes else None


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


#: What a missing ``order.shipping`` reads as: no shipping charge, 0 in any currency.
_NO_SHIPPING = Decimal(0)


def _missing(key: str) -> Any:
    """What a fact nobody gave reads as: no labels or codes, no members, 0 for the
    order's shipping charge (an order without one has none), or None."""
    if key.endswith((".labels", ".coupons")):
        return _NO_LABELS
    if key == "order.shipping":
        return _NO_SHIPPING
    return () if key.endswith(".all") else None


def _member(entity: str, member: Mapping[str, Any]) -> Facts:
    """One member of a list entity, its keys prefixed (``labels`` → ``item.labels``)."""
    out = Facts()
    for k, v in member.items():
        key = k if "." in k else f"{entity}.{k}"
        out[key] = _value(key.rpartition(".")[2], v)
    return out


def _value(field: str, value: Any) -> Any:
    """A fact's value as rules see it: labels as a frozenset, datetimes aware (UTC if naive)."""
    if field == "labels":
        return value if type(value) is frozenset else _labels(value)
    if field == "coupons":
        return _coupons(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
