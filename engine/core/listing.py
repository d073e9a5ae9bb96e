"""Listing events decided from plain facts: one verdict per candidate, no database.

A listing event (``price_listed``, ``item_listed``, ``service_listed``) is
decided once per candidate by :func:`~rulec.engine.core.decide.decide` with
the visibility policy (:mod:`rulec.engine.core.visibility`).

**Facts.** The shared facts (``viewer``, ``customer``, ``agent``, ``order``)
are flattened once; each candidate's own facts (``price.labels``,
``price.amount``, …) are laid over them. An optional entity of the event
(``customer``, ``agent``, ``order``) that the shared facts do not mention,
or give as None, is missing: a condition about it is false. The viewer's
``is_agent`` is ``role is agent``: either one given fills in the other
(``is_agent`` false leaves the role unknown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rulec.dsl.vocabulary import Kind, Vocabulary
from rulec.engine.core.decide import decide
from rulec.engine.core.decision import Verdict
from rulec.engine.core.facts import Facts, flatten_facts
from rulec.engine.core.ruleset import RuleSet

__all__ = ["listing_subject", "verdicts", "visible"]


def listing_subject(event: str, vocabulary: Vocabulary) -> tuple[str, tuple[str, ...]]:
    """The candidate entity of a listing event, and the event's optional entities."""
    ev = vocabulary.event(event)
    if ev is not None and ev.kind is Kind.LISTING and ev.subject is not None:
        return ev.subject, ev.optional
    raise ValueError(f"{event!r} is not a listing event")


def _shared(facts: Mapping[str, Any], optional: Iterable[str]) -> Facts:
    """The shared facts, flat; optional entities they do not mention are absent."""
    flat = flatten_facts(facts)
    for name, value in facts.items():
        if value is None and "." not in name:  # {"customer": None}: no customer
            flat[f"{name}.absent"] = True
            del flat[name]
    role, is_agent = flat.get("viewer.role"), flat.get("viewer.is_agent")
    if role is not None and is_agent is None:  # is_agent is "role is agent"
        flat["viewer.is_agent"] = role == "agent"
    elif is_agent is True and role is None:
        flat["viewer.role"] = "agent"
    for entity in optional:
        key = f"{entity}.absent"
        if key not in flat and not any(k.startswith(f"{entity}.") for k in flat):
            flat[key] = True
    return flat


def verdicts(
    rules: RuleSet,
    event: str,
    shared_facts: Mapping[str, Any],
    candidates_facts: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    vocabulary: Vocabulary | None = None,
    raise_errors: bool = False,
) -> list[Verdict]:
    """The :class:`Verdict` of each candidate, in order; pure (no database).

    ``shared_facts`` are nested (``{"viewer": {"is_agent": False,
    "wedding_year": 2027}, "customer": None}``) or flat; each candidate's
    facts are its own, nested (``{"price": {"labels": {"Season_2027"},
    "amount": Decimal("900.00")}}``) or flat (``{"price.labels": …}``).
    Validity windows are judged at ``now`` (default: the clock).
    ``vocabulary`` defaults to the rule set's. Facts are checked as
    :meth:`RuleSet.evaluate <rulec.engine.core.ruleset.RuleSet.evaluate>`
    checks them (a misspelled viewer field is refused, with the name meant),
    except that a listing decides no money; :class:`Facts` (what the
    database shell reads) are taken as they are.
    """
    _, optional = listing_subject(event, vocabulary or rules.vocabulary)
    door = rules.door(event)  # the shared facts and each candidate's, checked once
    shared = _shared(shared_facts, optional)
    if type(shared_facts) is not Facts:  # the database's are typed by the catalog
        shared = door.admit(shared, required=False)
    out: list[Verdict] = []
    for own in candidates_facts:
        facts = Facts(shared)
        facts.update(own if type(own) is Facts else door.admit(own, required=False))
        d = decide(rules, event, facts, now=now, raise_errors=raise_errors)
        assert d.verdict is not None  # a listing event's decision
        out.append(d.verdict)
    return out


def visible(
    rules: RuleSet,
    event: str,
    shared_facts: Mapping[str, Any],
    candidates_facts: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    vocabulary: Vocabulary | None = None,
    raise_errors: bool = False,
) -> list[bool]:
    """Whether each candidate is shown, in order (see :func:`verdicts`)."""
    return [
        v.shown
        for v in verdicts(
            rules,
            event,
            shared_facts,
            candidates_facts,
            now=now,
            vocabulary=vocabulary,
            raise_errors=raise_errors,
        )
    ]
