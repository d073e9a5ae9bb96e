"""The engine: rules fired inside the order backend's own transaction.

``Engine.attach(session_or_factory)`` makes ``order_created`` fire when a
new :class:`Order` is flushed and ``order_updated`` when an order's subtotal
or currency changes. The engine writes the order's discount fields and its
audit rows in the same flush; it never commits, so a rolled-back order
leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from rulec.dsl.diagnostics import RulesError
from rulec.dsl.sources import read_sources
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core.cache import load_sources
from rulec.engine.core.decision import Decision
from rulec.engine.core.facts import Facts
from rulec.engine.core.money import payable
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db.facts.catalog import line_cost
from rulec.engine.db.facts.row import lines_of, load_facts, load_holder_facts
from rulec.engine.db.write import RULE_LINKS, apply_effects, order_targets, write_order
from rulec.engine.metrics import metrics_for
from rulec.engine.vocabulary import DEFAULT_VOCABULARY, project_vocabulary
from rulec.storage.models import (
    HOLDER_LABEL_TYPES,
    Agent,
    Customer,
    Item,
    Order,
    OrderItem,
    Price,
    Professional,
    RuleErrorRecord,
    Service,
)

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = ["DecisionListener", "Engine", "awaits_decision", "logger"]

logger = logging.getLogger("rulec.engine")

_PENDING = "rulec.pending_errors"

#: ``fn(order, facts, decision)``: told of every decision :meth:`Engine.fire` writes.
DecisionListener = Callable[[Order, Facts, Decision], object]


def _load(
    paths: tuple[str | os.PathLike[str], ...],
    vocabulary: Vocabulary,
    cache: str | os.PathLike[str] | None,
) -> RuleSet:
    return load_sources(read_sources(paths), vocabulary, cache)


class Engine:
    """Runs a rule set against orders. One engine serves many threads and sessions.

    **Listeners.** ``Engine(..., on_decision=fn)`` or ``engine.add_listener(fn)``
    registers ``fn(order, facts, decision)``, called by :meth:`fire` (so on
    every ``order_created`` / ``order_updated`` of an attached session) right
    after the decision is written on ``order``, in the caller's thread and
    transaction. ``facts`` are the :class:`Facts` the decision was made from,
    exactly as read from the database: ``rules.evaluate(decision.event, facts)``
    gives the same decision again, which makes listeners good for logging,
    "explain" and audits. A new order has no id yet when it is fired (its
    INSERT follows); ``sqlalchemy.orm.object_session(order)`` gives the
    session. Listeners must not change ``facts``; an exception a listener
    raises propagates and fails the flush (the caller's transaction rolls
    back). Listeners run in the order they were added.

    **Metrics.** Every decision :meth:`fire` and :meth:`fire_label` make is
    counted and timed through the OpenTelemetry API (see
    :mod:`rulec.engine.metrics` and ``docs/operations.md``), with the global
    meter provider, or ``meter_provider`` when given.
    """

    def __init__(
        self,
        rules: RuleSet,
        *,
        vocabulary: Vocabulary = DEFAULT_VOCABULARY,
        raise_errors: bool = False,
        paths: Iterable[str | os.PathLike[str]] = (),
        cache: str | os.PathLike[str] | None = None,
        on_decision: DecisionListener | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self._rules = rules
        self.vocabulary = vocabulary
        self.raise_errors = raise_errors
        self.paths = tuple(paths)
        #: A folder for compiled rule sets (see rulec.engine.core.cache), or None.
        self.cache = cache
        self._lock = threading.Lock()
        #: Why the last :meth:`reload` kept the old rule set (None after one that worked).
        self.reload_error: RulesError | None = None
        #: Replaced as a whole (never mutated), so fire() reads it without a lock.
        self._listeners: tuple[DecisionListener, ...] = (
            (on_decision,) if on_decision is not None else ()
        )
        #: The instruments decisions are recorded with (rulec.engine.metrics).
        self.metrics = metrics_for(meter_provider)

    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | os.PathLike[str]],
        *,
        vocabulary: Vocabulary | None = None,
        raise_errors: bool = False,
        cache: str | os.PathLike[str] | None = None,
        on_decision: DecisionListener | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> Engine:
        """Load, check and compile the rule files at ``paths``; raise on errors
        (RulesInputError when there is no rule file to read: no paths, or
        folders without a ``.rules`` file).

        Without ``vocabulary``, the project's schema file found at or above the
        first path (``rulec.toml``, ``pyproject.toml`` with ``[tool.rulec]``),
        else the default vocabulary. With ``cache`` (a folder), unchanged rule
        files are loaded from their compiled copy there, which makes a restart
        with many rules fast.
        """
        paths = tuple(paths)
        if vocabulary is None:
            vocabulary = project_vocabulary(paths)
        rules = _load(paths, vocabulary, cache)
        return cls(
            rules,
            vocabulary=vocabulary,
            raise_errors=raise_errors,
            paths=paths,
            cache=cache,
            on_decision=on_decision,
            meter_provider=meter_provider,
        )

    @property
    def rules(self) -> RuleSet:
        """The rule set in use; replaced as a whole by :meth:`reload`."""
        return self._rules

    def reload(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> bool:
        """Swap in a freshly loaded rule set and return True; keep the old one and
        return False when the new one cannot be loaded: its files vanished, a
        folder holds no ``.rules`` file any more (RulesInputError), or they have
        errors (RulesCheckError, RulesSyntaxError). Why is logged as an error
        and kept in :attr:`reload_error`."""
        paths = tuple(paths) if paths is not None else self.paths
        with self._lock:
            try:
                rules = _load(paths, self.vocabulary, self.cache)
            except RulesError as e:
                self.reload_error = e
                logger.error("reload failed, keeping rule set %s: %s", self._rules.version, e)
                return False
            self._rules = rules
            self.paths = paths
            self.reload_error = None
        logger.info("loaded rule set %s (%d rules)", rules.version, len(rules))
        return True

    # --------------------------------------------------------- listeners --

    def add_listener(self, fn: DecisionListener) -> None:
        """Call ``fn(order, facts, decision)`` after each decision :meth:`fire` writes."""
        with self._lock:
            self._listeners = (*self._listeners, fn)

    def remove_listener(self, fn: DecisionListener) -> None:
        """Stop calling ``fn`` (its last registration); ValueError if it is not registered."""
        with self._lock:
            listeners = list(self._listeners)
            for n in range(len(listeners) - 1, -1, -1):
                if listeners[n] == fn:
                    del listeners[n]
                    break
            else:
                raise ValueError(f"{fn!r} is not a listener of this engine")
            self._listeners = tuple(listeners)

    # ------------------------------------------------------------ firing --

    def evaluate(self, event_name: str, order: Order, session: Session) -> Decision:
        """The decision for ``order``, from the database, without writing anything."""
        rules = self._rules
        with session.no_autoflush:
            facts = load_facts(session, order, rules.keys_for(event_name))
        return rules.evaluate(event_name, facts, raise_errors=self.raise_errors)

    def fire(self, event_name: str, order: Order, session: Session) -> Decision:
        """Evaluate ``order`` and write the decision on it, in ``session``'s transaction."""
        rules = self._rules  # one rule set for the whole decision, even during a reload
        start = time.perf_counter()
        with session.no_autoflush:
            lines = lines_of(order)
            currency = order.currency or "EUR"
            if lines:  # an order made of lines costs what its lines cost (the catalog's subtotal)
                subtotal = Decimal(0)
                for line in lines:
                    # quantity or price may have changed; rounded to the currency's minor unit
                    total = line_cost(line, currency)
                    if line.line_total != total:
                        line.line_total = total
                    subtotal += total
                if order.subtotal != subtotal:
                    order.subtotal = subtotal
            elif _had_lines(order):  # its last line was removed
                order.subtotal = payable(0, currency)  # 0.00 EUR, 0 JPY
            facts = load_facts(session, order, rules.keys_for(event_name), lines)
            decision = self._decide(rules, event_name, facts)
            if order.created_at is None:
                order.created_at = facts["order.created_at"]
            write_order(session, order, decision, lines)
            self.metrics.decided(decision, time.perf_counter() - start)
            for err in decision.errors:  # logged once the order has its id
                session.info.setdefault(_PENDING, []).append((order, err))
            for fn in self._listeners:
                fn(order, facts, decision)
        return decision

    def _decide(self, rules: RuleSet, event_name: str, facts: Facts) -> Decision:
        """``rules.evaluate``; an evaluation that raises is counted as an error first."""
        try:
            return rules.evaluate(event_name, facts, raise_errors=self.raise_errors)
        except Exception as e:
            self.metrics.raised(event_name, rules.version, e)
            raise

    # ------------------------------------------------------------ attach --

    def attach(self, target: Session | sessionmaker[Session] | type[Session]) -> None:
        """Fire ``order_created`` / ``order_updated`` on every flush of ``target``."""
        event.listen(target, "before_flush", self._before_flush)
        event.listen(target, "after_flush", self._after_flush)

    def detach(self, target: Session | sessionmaker[Session] | type[Session]) -> None:
        event.remove(target, "before_flush", self._before_flush)
        event.remove(target, "after_flush", self._after_flush)

    def _before_flush(self, session: Session, _context: Any, _instances: Any) -> None:
        # label links the caller made, read before any rule changes labels
        # (changes rules make do not fire label events: no cascades, no loops)
        rules = self._rules
        labelled: list[tuple[str, Any, str, bool]] = []
        if rules.has_any_rules(_LABEL_EVENTS):  # asked on every flush
            labelled = _label_links(session)
        for obj in list(session.new):
            if isinstance(obj, Order):
                self.fire("order_created", obj, session)
        updated: dict[int, Order] = {}
        for obj in list(session.dirty):
            if isinstance(obj, Order) and obj not in session.new and _inputs_changed(obj):
                updated[id(obj)] = obj
        for line in _changed_lines(session):
            order = _order_of(session, line)
            if order is not None and order not in session.new and inspect(order).persistent:
                updated.setdefault(id(order), order)
        for order in updated.values():
            self.fire("order_updated", order, session)
        for holder, row, label, add in labelled:
            self.fire_label(session, holder, row, label, add)

    def fire_label(
        self, session: Session, holder: str, row: Any, label: str, add: bool
    ) -> Decision | None:
        """Run the ``<holder>_labeled`` (``add``) or ``_unlabeled`` rules for ``row``.

        Facts: the holder's labels and fields (an order's full facts), and
        ``label.name``. The decision's label changes and settings are applied
        to the row (and, for an order, to its customer and agent). Returns
        None when the rule set has no rules for the event.
        """
        rules = self._rules
        event_name = f"{holder}_{'labeled' if add else 'unlabeled'}"
        if not rules.has_rules(event_name):
            return None
        start = time.perf_counter()
        with session.no_autoflush:
            if isinstance(row, Order):
                facts = load_facts(session, row, rules.keys_for(event_name))
                targets = order_targets(session, row)
            else:
                facts = load_holder_facts(session, holder, row, rules.keys_for(event_name))
                targets = {holder: row}
            facts["label.name"] = label
            decision = self._decide(rules, event_name, facts)
            apply_effects(session, decision, targets)
            self.metrics.decided(decision, time.perf_counter() - start)
            if isinstance(row, Order):  # an order keeps the errors of its decisions
                row.rule_errors.extend(
                    RuleErrorRecord(
                        rule_name=err.rule,
                        rule_file=err.file,
                        rule_line=err.line,
                        message=err.message,
                    )
                    for err in decision.errors
                )
            for err in decision.errors:
                logger.error(
                    "rule %r (%s:%d) failed on %s %s: %s",
                    err.rule,
                    err.file,
                    err.line,
                    holder,
                    getattr(row, "id", None),
                    err.message,
                )
        return decision

    def _after_flush(self, session: Session, _context: Any) -> None:
        session.info.pop(RULE_LINKS, None)  # this flush's rule-made links are written
        for order, err in session.info.pop(_PENDING, []):
            if not err.rule:  # the order itself could not be decided
                logger.error("order %s was not decided: %s", order.id, err.message)
                continue
            logger.error(
                "rule %r (%s:%d) failed on order %s: %s",
                err.rule,
                err.file,
                err.line,
                order.id,
                err.message,
            )


def awaits_decision(order: Order) -> bool:
    """Whether the next flush decides ``order`` (again): it is new, or its subtotal,
    currency or lines changed since it was last decided (what ``_before_flush``
    fires ``order_created`` and ``order_updated`` for)."""
    state = inspect(order)
    session = state.session
    if state.transient or state.pending:
        return True
    if _inputs_changed(order):
        return True
    return session is not None and any(
        _order_of(session, line) is order for line in _changed_lines(session)
    )


def _changed_lines(session: Session) -> list[OrderItem]:
    """The order lines added, changed or removed in ``session`` and not flushed yet."""
    return [
        obj
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, OrderItem)
    ]


def _order_of(session: Session, line: OrderItem) -> Order | None:
    """The order of ``line`` (also when it was added by ``order_id``)."""
    if line.order is None and line.order_id is not None:
        return session.get(Order, line.order_id)
    return line.order


def _inputs_changed(order: Order) -> bool:
    state = inspect(order)
    return any(
        state.attrs[name].history.has_changes() for name in ("subtotal", "currency", "items")
    )


def _had_lines(order: Order) -> bool:
    """Whether a stored order's lines were all removed in this session."""
    state = inspect(order)
    if not state.persistent:
        return False
    history = state.attrs["items"].history
    session = state.session
    return bool(history.deleted) or (
        session is not None
        and any(isinstance(o, OrderItem) and o.order_id == order.id for o in session.deleted)
    )


#: The label holders whose label links fire label events, by model.
_HOLDERS: dict[type, str] = {
    Customer: "customer",
    Order: "order",
    Item: "item",
    Price: "price",
    Agent: "agent",
    Professional: "professional",
    Service: "service",
}


#: Every label event: a flush looks for label links only when one has rules.
_LABEL_EVENTS = tuple(
    f"{holder}_{verb}" for holder in _HOLDERS.values() for verb in ("labeled", "unlabeled")
)


def _label_links(session: Session) -> list[tuple[str, Any, str, bool]]:
    """(holder, row, label name, added) for every label link the application made
    or undid in ``session`` (those rules made, in a scheduled run, are left out).

    Only labels of the holder's entity type count: undoing a link the ORM
    would have refused (written with Core) takes away no label the holder had.
    """
    by_rules: set[tuple[int, str, bool]] = session.info.pop(RULE_LINKS, set())
    out: list[tuple[str, Any, str, bool]] = []
    for obj in (*session.new, *session.dirty):
        holder = _HOLDERS.get(type(obj))
        if holder is None:
            continue
        state = inspect(obj)
        if "labels" in state.unloaded:
            continue
        history = state.attrs["labels"].history
        kind = HOLDER_LABEL_TYPES[holder]
        for labels, added in ((history.added or (), True), (history.deleted or (), False)):
            out.extend(
                (holder, obj, label.name, added)
                for label in labels
                if label.entity_type == kind and (id(obj), label.name, added) not in by_rules
            )
    return out


def _now() -> datetime:  # pragma: no cover - kept for callers that need the engine's clock
    return datetime.now(UTC)
