"""Listings: which prices, items or services a viewer may see.

A listing event (``price_listed``, ``item_listed``, ``service_listed``) is
fired once per candidate, conceptually; here it is decided for a whole list
at once. Its rules ``show`` or ``hide`` the candidate::

    label Season_2027 for price
    on price_listed when price has label Season_2027 and viewer wedding year != 2027
      then hide price

**The decision for one candidate.**

1. The rules that can decide are the enabled rules of the event with a
   ``show``/``hide`` action for the candidate, whose validity window holds
   at ``now`` (by default the current UTC time).
2. Of those whose conditions hold, the one with the highest ``priority``
   decides.
3. At equal priority ``hide`` wins over ``show`` (deny overrides); a rule
   with both actions hides.
4. When no rule decides, the candidate is **shown**: listings are open by
   default, and a rule set without listing rules hides nothing.
5. A rule that raises is reported in the verdict's ``errors``. If it is a
   ``hide`` rule, the candidate is hidden (what an eligibility rule guards
   must not leak because the rule could not be evaluated); a ``show`` rule
   that raises is skipped. ``raise_errors=True`` raises RuleRuntimeError.

**Cost.** The deciding rules are found once per rule set and event and
indexed by the candidate's labels; rules that need a label of a shared
entity (``customer has label VIP``) are opened once per list when the
shared entity has it. A candidate is tested only against the rules without
a label requirement and those its own labels bring in, as
:meth:`RuleSet.evaluate` does: a rule that cannot match costs nothing, per
candidate. The rules are tried in decision order and the first that holds
decides.

**Facts.** The shared facts (``viewer``, ``customer``, ``agent``, ``order``)
are flattened once; each candidate's own facts (``price.labels``,
``price.amount``, …) are laid over them. An optional entity of the event
(``customer``, ``agent``, ``order``) that the shared facts do not mention,
or give as None, is missing: a condition about it is false. The viewer's
``is_agent`` is ``role is agent``: either one given fills in the other
(``is_agent`` false leaves the role unknown).

:func:`list_visible` and :func:`explain_listing` do the same from the
database, loading every candidate's labels with one query for the whole list
(together with the shared entities' labels): the number of statements does
not depend on the number of candidates.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from attrs import frozen
from sqlalchemy import Integer, func, inspect, literal, select, union_all
from sqlalchemy.orm import Session

from rulec.dsl.diagnostics import RuleRuntimeError
from rulec.dsl.nodes import Span
from rulec.dsl.vocabulary import Kind, Vocabulary
from rulec.engine.policy import RuleFailure
from rulec.engine.ruleset import Facts, RuleSet, flatten_facts
from rulec.engine.runtime import Rule_, Visibility_
from rulec.engine.vocabulary import DEFAULT_VOCABULARY
from rulec.storage.models import LABEL_LINKS, Label, Order

__all__ = [
    "Verdict",
    "explain_listing",
    "list_visible",
    "listing_facts",
    "verdicts",
    "visible",
]

T = TypeVar("T")


@frozen
class Verdict:
    """Whether one candidate is shown, and which rule decided (None: no rule did)."""

    shown: bool
    rule: str | None = None
    file: str | None = None
    line: int | None = None
    #: The rules that raised while this candidate was decided.
    errors: tuple[RuleFailure, ...] = ()

    @property
    def reason(self) -> str:
        """``hidden by rule 'Agent only' (rules/prices.rules:4)``, or why it is shown."""
        if self.rule is None:
            return "shown: no rule decides"
        verb = "shown" if self.shown else "hidden"
        failed = " (the rule failed)" if any(e.rule == self.rule for e in self.errors) else ""
        where = f"{self.file}:{self.line}"
        if where.endswith(self.rule):  # an unnamed rule is named after its place
            return f"{verb} by the rule at {where}{failed}"
        return f"{verb} by rule '{self.rule}' ({where}){failed}"


_SHOWN = Verdict(True)

#: A rule that can decide, prepared once: (rank, rule, test, hides, windowed, its verdict).
#: ``rank`` orders the decision: priority (higher first), hide before show, source order.
_Entry = tuple[int, Rule_, Any, bool, bool, Verdict]


@frozen
class _Plan:
    """The deciding rules of one event, indexed.

    ``scan``: rules with no label requirement. ``by_label``: candidate label
    → the rules that need it. ``gates``: (shared entity, label) → the rules
    that need it (a rule listing labels of several entities is under each).
    ``windowed``: the entries with a validity window.
    """

    subject: str
    optional: tuple[str, ...]
    scan: tuple[_Entry, ...]
    by_label: dict[str, tuple[_Entry, ...]]
    gates: dict[tuple[str, str], tuple[_Entry, ...]]
    windowed: tuple[_Entry, ...]


#: id(rule set) -> (a weak reference to it, {(event, subject, optional entities): plan}).
_PLANS: dict[int, tuple[weakref.ref[RuleSet], dict[tuple[Any, ...], _Plan]]] = {}


def _subject_of(event: str, vocabulary: Vocabulary) -> tuple[str, tuple[str, ...]]:
    """The candidate entity of a listing event, and the event's optional entities."""
    ev = vocabulary.event(event)
    if ev is not None and ev.kind is Kind.LISTING and ev.subject is not None:
        return ev.subject, ev.optional
    if event.endswith("_listed"):
        return event[: -len("_listed")], ()
    raise ValueError(f"{event!r} is not a listing event")


def _plan(rules: RuleSet, event: str, vocabulary: Vocabulary) -> _Plan:
    """The plan of ``event`` in ``rules``, made once per rule set (a race makes two: harmless)."""
    subject, optional = _subject_of(event, vocabulary)
    key = (event, subject, optional)
    cached = _PLANS.get(id(rules))
    if cached is not None and cached[0]() is rules:
        plan = cached[1].get(key)
        if plan is not None:
            return plan
    else:
        rid = id(rules)
        cached = (weakref.ref(rules, lambda _: _PLANS.pop(rid, None)), {})
        _PLANS[rid] = cached
    plan = _make_plan(rules, event, subject, optional)
    cached[1][key] = plan
    return plan


def _make_plan(rules: RuleSet, event: str, subject: str, optional: tuple[str, ...]) -> _Plan:
    deciding: list[tuple[int, Rule_, bool]] = []
    for position, r in enumerate(rules.rules):
        if not r.enabled or r.event != event:
            continue
        votes = [a.show for a in r.actions if type(a) is Visibility_ and a.entity == subject]
        if votes:
            deciding.append((position, r, not all(votes)))
    deciding.sort(key=lambda d: (-d[1].priority, not d[2], d[0]))
    scan: list[_Entry] = []
    by_label: dict[str, list[_Entry]] = {}
    gates: dict[tuple[str, str], list[_Entry]] = {}
    windowed: list[_Entry] = []
    for rank, (_, r, hides) in enumerate(deciding):
        has_window = r.valid_from is not None or r.valid_until is not None
        entry: _Entry = (
            rank,
            r,
            r.test,
            hides,
            has_window,
            Verdict(not hides, r.name, r.file, r.line),
        )
        if has_window:
            windowed.append(entry)
        if r.labels is None:
            scan.append(entry)
            continue
        for entity, name in dict.fromkeys(r.labels):
            if entity == subject:
                by_label.setdefault(name, []).append(entry)
            else:
                gates.setdefault((entity, name), []).append(entry)
    return _Plan(
        subject,
        tuple(optional),
        tuple(scan),
        {k: tuple(v) for k, v in by_label.items()},
        {k: tuple(v) for k, v in gates.items()},
        tuple(windowed),
    )


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


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _span(rule: Rule_) -> Span:
    return Span(rule.file, rule.line, rule.column, rule.line, rule.column)


def verdicts(
    rules: RuleSet,
    event: str,
    shared_facts: Mapping[str, Any],
    candidates_facts: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
) -> list[Verdict]:
    """The :class:`Verdict` of each candidate, in order; pure (no database).

    ``shared_facts`` are nested (``{"viewer": {"is_agent": False,
    "wedding_year": 2027}, "customer": None}``) or flat; each candidate's
    facts are its own, nested (``{"price": {"labels": {"Season_2027"},
    "amount": Decimal("900.00")}}``) or flat (``{"price.labels": …}``). See
    the module's docstring for how a verdict is reached.
    """
    plan = _plan(rules, event, vocabulary)
    when = _now(now)
    closed = frozenset(e[0] for e in plan.windowed if not e[1].valid_at(when))
    shared = _shared(shared_facts, plan.optional)
    if not plan.scan and not plan.by_label and not plan.gates:
        return [_SHOWN for _ in candidates_facts]

    # the rules every candidate is tested against: no label needed, or a shared one present
    opened: dict[int, _Entry] = {e[0]: e for e in plan.scan if e[0] not in closed}
    if plan.gates:
        for key, value in shared.items():
            if not key.endswith(".labels") or not value:
                continue
            entity = key[: -len(".labels")]
            for name in value:
                for e in plan.gates.get((entity, name), ()):
                    if e[0] not in closed:
                        opened[e[0]] = e
    always = tuple(opened[rank] for rank in sorted(opened))
    by_label = plan.by_label
    labels_key = f"{plan.subject}.labels"

    out: list[Verdict] = []
    for own in candidates_facts:
        facts = Facts(shared)
        facts.update(own if type(own) is Facts else flatten_facts(own))
        found: Sequence[_Entry] = always
        if by_label:
            for name in facts[labels_key]:
                hit = by_label.get(name)
                if hit:
                    found = hit if not found else [*found, *hit]
            if type(found) is list:  # several sources: put in decision order, each once
                found = [e for _, e in sorted({e[0]: e for e in found}.items())]
        out.append(_decide(found, facts, closed, raise_errors))
    return out


def _decide(
    found: Sequence[_Entry], facts: Facts, closed: frozenset[int], raise_errors: bool
) -> Verdict:
    """The first rule of ``found`` (in decision order) that holds decides."""
    errors: list[RuleFailure] = []
    for rank, r, test, hides, windowed, verdict in found:
        if windowed and rank in closed:
            continue
        try:
            ok = test(facts)
        except Exception as e:
            if raise_errors:
                raise RuleRuntimeError(r.name, _span(r), f"{type(e).__name__}: {e}") from e
            errors.append(RuleFailure(r.name, r.file, r.line, f"{type(e).__name__}: {e}"))
            if hides:  # deny on error: what the rule guards must not leak
                return Verdict(False, r.name, r.file, r.line, tuple(errors))
            continue
        if ok:
            if errors:
                return Verdict(verdict.shown, r.name, r.file, r.line, tuple(errors))
            return verdict
    return Verdict(True, errors=tuple(errors)) if errors else _SHOWN


def visible(
    rules: RuleSet,
    event: str,
    shared_facts: Mapping[str, Any],
    candidates_facts: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
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


# ----------------------------------------------------------------- database --

#: Ids per label query; lists longer than this take one more query per chunk.
CHUNK = 10_000

_labels_table = Label.__table__
_orders_table = Order.__table__


def _reads(keys: frozenset[str] | None, key: str) -> bool:
    return keys is None or key in keys


def _columns(row: Any) -> dict[str, Any]:
    """The row's column attributes by name (loading them if they are expired)."""
    mapper = inspect(type(row))
    out = {}
    for attr in mapper.column_attrs:
        value = getattr(row, attr.key)
        if type(value) is datetime and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        out[attr.key] = value
    return out


def _labels_loaded(row: Any) -> bool:
    state = inspect(row)
    return bool(state.pending or state.transient or "labels" not in state.unloaded)


def _refresh(session: Session, rows: Sequence[Any]) -> None:
    """Load the expired columns of persistent ``rows``: one SELECT per class."""
    stale: dict[type, list[Any]] = {}
    for row in rows:
        state = inspect(row)
        if state.persistent and state.expired_attributes:
            stale.setdefault(type(row), []).append(state.identity[0])
    for cls, ids in stale.items():
        pk: Any = inspect(cls).primary_key[0]
        for start in range(0, len(ids), CHUNK):
            session.execute(select(cls).where(pk.in_(ids[start : start + CHUNK]))).all()


def _load_labels(
    session: Session, wanted: Sequence[tuple[str, list[int]]]
) -> list[dict[int, set[str]]]:
    """Labels of many holders' rows, one ``UNION ALL`` query (per CHUNK ids).

    ``wanted`` pairs a holder (``"price"``) with row ids; the result has, per
    pair, a dict from id to label names (ids without labels left out).
    """
    found: list[dict[int, set[str]]] = [{} for _ in wanted]
    pending = [(n, holder, ids) for n, (holder, ids) in enumerate(wanted) if ids]
    conn = session.connection({"mapper": Label})
    while pending:
        parts = []
        room = CHUNK
        rest = []
        for n, holder, ids in pending:
            if room <= 0:
                rest.append((n, holder, ids))
                continue
            take, more = ids[:room], ids[room:]
            room -= len(take)
            link = LABEL_LINKS[holder]
            column = link.c[f"{holder}_id"]
            parts.append(
                select(literal(n, Integer).label("part"), column.label("id"), _labels_table.c.name)
                .join_from(link, _labels_table, link.c.label_id == _labels_table.c.id)
                .where(column.in_(take))
            )
            if more:
                rest.append((n, holder, more))
        statement = parts[0] if len(parts) == 1 else union_all(*parts)
        for part, row_id, name in conn.execute(statement):
            found[part].setdefault(row_id, set()).add(name)
        pending = rest
    return found


def _order_facts(session: Session, order: Order, keys: frozenset[str] | None) -> dict[str, Any]:
    created = order.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    day: date | None = order.wedding_date
    facts: dict[str, Any] = {
        "order.absent": False,
        "order.subtotal": Decimal(order.subtotal) if order.subtotal is not None else Decimal(0),
        "order.currency": order.currency or "EUR",
        "order.created_at": created,
        "order.status": order.status or "new",
        "order.wedding_date": None if day is None else datetime.combine(day, time(), tzinfo=UTC),
        "order.wedding_year": None if day is None else day.year,
        "order.placed_by_customer": order.customer_id is not None or order.customer is not None,
        "order.created_by_agent": order.agent_id is not None or order.agent is not None,
    }
    if _reads(keys, "order.item_count") or _reads(keys, "order.line_count"):
        lines = order.items
        facts["order.line_count"] = len(lines)
        facts["order.item_count"] = sum(line.quantity or 0 for line in lines)
    return facts


def _order_count(session: Session, customer: Any, order: Order | None) -> int:
    if customer.id is None:
        return 0
    query = (
        select(func.count())
        .select_from(_orders_table)
        .where(_orders_table.c.customer_id == customer.id)
    )
    if order is not None and order.id is not None:
        query = query.where(_orders_table.c.id != order.id)
    return int(session.connection({"mapper": Order}).execute(query).scalar_one())


def listing_facts(
    session: Session,
    rules: RuleSet,
    event: str,
    candidates: Sequence[Any],
    *,
    viewer: Mapping[str, Any] | None,
    customer: Any = None,
    agent: Any = None,
    order: Order | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
) -> tuple[Facts, list[Facts]]:
    """The shared facts and each candidate's facts, from the database.

    ``candidates`` are rows of the event's candidate model (``Price`` for
    ``price_listed``); ``viewer`` maps the viewer's fields (``is_agent``,
    ``wedding_year``) to values. ``customer``, ``agent`` and ``order`` are
    rows, or None when there is none (they are not taken from each other:
    pass ``order.customer`` if that is the customer). Labels in memory are
    the truth (loaded collections, new rows); the others are read with one
    query for the whole list and the shared entities. Only the facts the
    rule set reads are loaded when it says which it reads.
    """
    plan = _plan(rules, event, vocabulary)
    subject = plan.subject
    if subject not in LABEL_LINKS:
        raise ValueError(f"no label table for {subject!r}: cannot list {event!r} from the database")
    keys = rules.fact_keys or None
    with session.no_autoflush:
        _refresh(session, [*candidates, *(r for r in (customer, agent, order) if r is not None)])
        holders = [(subject, list(candidates))]
        holders += [(name, [row]) for name, row in (("customer", customer), ("agent", agent))]
        holders.append(("order", [order]))
        wanted: list[tuple[str, list[int]]] = []
        for holder, rows in holders:
            ids = []
            if _reads(keys, f"{holder}.labels"):
                for row in rows:
                    if row is not None and not _labels_loaded(row) and row.id is not None:
                        ids.append(row.id)
            wanted.append((holder, ids))
        loaded = _load_labels(session, wanted)

        def labels_of(n: int, row: Any) -> frozenset[str]:
            if _labels_loaded(row):
                return frozenset(label.name for label in row.labels)
            return frozenset(loaded[n].get(row.id, ()))

        shared = Facts({f"viewer.{k}": v for k, v in (viewer or {}).items()})
        for n, (holder, rows) in enumerate(holders[1:], start=1):
            row = rows[0]
            if row is None:
                shared[f"{holder}.absent"] = True
                continue
            if holder == "order":
                shared.update(_order_facts(session, row, keys))
            else:
                shared[f"{holder}.absent"] = False
                shared.update({f"{holder}.{k}": v for k, v in _columns(row).items()})
            shared[f"{holder}.labels"] = labels_of(n, row)
        if customer is not None and _reads(keys, "customer.order_count"):
            shared["customer.order_count"] = _order_count(session, customer, order)

        own: list[Facts] = []
        read_labels = _reads(keys, f"{subject}.labels")
        for row in candidates:
            facts = Facts({f"{subject}.{k}": v for k, v in _columns(row).items()})
            facts[f"{subject}.labels"] = labels_of(0, row) if read_labels else frozenset()
            own.append(facts)
    return shared, own


def explain_listing(
    session: Session,
    rules: RuleSet,
    event: str,
    candidates: Sequence[T],
    *,
    viewer: Mapping[str, Any] | None,
    customer: Any = None,
    agent: Any = None,
    order: Order | None = None,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
) -> list[tuple[T, Verdict]]:
    """Every candidate with its :class:`Verdict` (shown or hidden, and by which rule)."""
    shared, own = listing_facts(
        session,
        rules,
        event,
        candidates,
        viewer=viewer,
        customer=customer,
        agent=agent,
        order=order,
        vocabulary=vocabulary,
    )
    found = verdicts(
        rules, event, shared, own, now=now, vocabulary=vocabulary, raise_errors=raise_errors
    )
    return list(zip(candidates, found, strict=True))


def list_visible(
    session: Session,
    rules: RuleSet,
    event: str,
    candidates: Sequence[T],
    *,
    viewer: Mapping[str, Any] | None,
    customer: Any = None,
    agent: Any = None,
    order: Order | None = None,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
) -> list[T]:
    """The candidates the viewer may see, in their order.

    ``list_visible(session, rules, "price_listed", prices, viewer={"is_agent":
    False, "wedding_year": 2027}, customer=ada)``. The number of statements
    is the same for 5 prices or 5,000: one for all the labels, plus one
    for the customer's order count when a rule reads it, the order's lines
    when a rule counts them, and a reload of rows whose columns are expired
    (after a commit). :func:`explain_listing` gives the reasons.
    """
    return [
        c
        for c, v in explain_listing(
            session,
            rules,
            event,
            candidates,
            viewer=viewer,
            customer=customer,
            agent=agent,
            order=order,
            now=now,
            vocabulary=vocabulary,
            raise_errors=raise_errors,
        )
        if v.shown
    ]
