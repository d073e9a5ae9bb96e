"""The engine: rules fired inside the order backend's own transaction.

``Engine.attach(session_or_factory)`` makes ``order_created`` fire when a
new order (of the engine's binding: the reference ``Order`` by default) is
flushed and ``order_updated`` when an order's subtotal, currency, shipping charge or lines
change. The engine writes the order's discount fields and its
audit rows in the same flush; it never commits, so a rolled-back order
leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from rulec.dsl.diagnostics import RulesError
from rulec.dsl.sources import read_sources
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core.cache import load_sources
from rulec.engine.core.coupons import Refusal, unlocking
from rulec.engine.core.decision import Decision
from rulec.engine.core.facts import Facts
from rulec.engine.core.money import payable
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db.facts.binding import REFERENCE, Binding, BindingError
from rulec.engine.db.facts.catalog import line_cost
from rulec.engine.db.facts.row import lines_of, load_facts, load_holder_facts
from rulec.engine.db.limits import CANCELLED, enforce, forget_pending, give_back, preview
from rulec.engine.db.records import forget_deferred, write_deferred, write_errors
from rulec.engine.db.write import RULE_LINKS, apply_effects, order_targets, write_order
from rulec.engine.metrics import metrics_for
from rulec.engine.vocabulary import DEFAULT_VOCABULARY, project_vocabulary

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = ["DecisionListener", "Engine", "awaits_decision", "logger"]

logger = logging.getLogger("rulec.engine")

_PENDING = "rulec.pending_errors"

#: ``fn(order, facts, decision)``: told of every decision :meth:`Engine.fire` writes.
DecisionListener = Callable[[Any, Facts, Decision], object]


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
        binding: Binding = REFERENCE,
    ) -> None:
        #: The backend's models the engine reads and writes (the reference models by default).
        self.binding = binding
        binding.check_rules(rules)  # a field (or labels) the rules read must be mapped
        self._label_events = _label_events(binding)  # asked on every flush
        self._rules = rules
        self.vocabulary = vocabulary
        self.raise_errors = raise_errors
        self.paths = tuple(paths)
        #: A folder for compiled rule sets (see rulec.engine.core.cache), or None.
        self.cache = cache
        self._lock = threading.Lock()
        #: Why the last :meth:`reload` kept the old rule set (None after one that worked).
        self.reload_error: RulesError | BindingError | None = None
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
        binding: Binding = REFERENCE,
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
            binding=binding,
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
                self.binding.check_rules(rules)
            except (RulesError, BindingError) as e:
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

    def evaluate(self, event_name: str, order: Any, session: Session) -> Decision:
        """The decision for ``order``, from the database, without writing anything: a
        rule whose usage limit or budget is spent as the counters stand is refused,
        as the next flush would refuse it (nothing is claimed)."""
        rules = self._rules
        with session.no_autoflush:
            facts = load_facts(session, order, rules.keys_for(event_name), binding=self.binding)
            decision = rules.evaluate(event_name, facts, raise_errors=self.raise_errors)
            if rules.limited:
                decision, _ = preview(
                    session,
                    order,
                    decision,
                    rules.limited,
                    self.binding,
                    lambda refused: rules.evaluate(
                        event_name, facts, raise_errors=self.raise_errors, refused=refused
                    ),
                )
        return decision

    def fire(self, event_name: str, order: Any, session: Session) -> Decision:
        """Evaluate ``order`` and write the decision on it, in ``session``'s transaction."""
        rules = self._rules  # one rule set for the whole decision, even during a reload
        start = time.perf_counter()
        b = self.binding
        o, ln = b.o, b.ln
        with session.no_autoflush:
            lines = lines_of(order, b)
            currency = o.get(order, "currency") or "EUR"
            if lines:  # an order made of lines costs what its lines cost (the catalog's subtotal)
                subtotal = Decimal(0)
                for line in lines:
                    # quantity or price may have changed; rounded to the currency's minor unit
                    total = line_cost(line, currency, b)
                    if ln.has("line_total") and ln.get(line, "line_total") != total:
                        ln.set(line, "line_total", total)
                    subtotal += total
                if o.get(order, "subtotal") != subtotal:
                    o.set(order, "subtotal", subtotal)
            elif _had_lines(order, b):  # its last line was removed
                o.set(order, "subtotal", payable(0, currency))  # 0.00 EUR, 0 JPY
            facts = load_facts(session, order, rules.keys_for(event_name), lines, b)
            decision = self._decide(rules, event_name, facts)
            if rules.limited:  # each applied rule with limits claims its use, or is refused
                decision = enforce(
                    session,
                    order,
                    decision,
                    rules.limited,
                    b,
                    lambda refused: self._decide(rules, event_name, facts, refused),
                )
            if o.has("created_at") and o.get(order, "created_at") is None:
                o.set(order, "created_at", facts["order.created_at"])
            unlocked = unlocking(decision, rules.rules_of(event_name)) if decision.coupons else {}
            write_order(session, order, decision, lines, b, unlocked)
            self.metrics.decided(decision, time.perf_counter() - start)
            for err in decision.errors:  # logged once the order has its id
                session.info.setdefault(_PENDING, []).append((order, err))
            for fn in self._listeners:
                fn(order, facts, decision)
        return decision

    def _decide(
        self,
        rules: RuleSet,
        event_name: str,
        facts: Facts,
        refused: Mapping[str, Refusal] | None = None,
    ) -> Decision:
        """``rules.evaluate``; an evaluation that raises is counted as an error first."""
        try:
            return rules.evaluate(
                event_name, facts, raise_errors=self.raise_errors, refused=refused
            )
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
        rules, b = self._rules, self.binding
        forget_deferred(session)  # rows of a flush that failed: its orders are decided again
        forget_pending(session)
        labelled: list[tuple[str, Any, str, bool]] = []
        if rules.has_any_rules(self._label_events):
            labelled = _label_links(session, b)
        order_cls = b.order
        for obj in list(session.new):
            if isinstance(obj, order_cls):
                self.fire("order_created", obj, session)
        updated: dict[int, Any] = {}
        for obj in list(session.dirty):
            if isinstance(obj, order_cls) and obj not in session.new and _inputs_changed(obj, b):
                updated[id(obj)] = obj
        for line in _changed_lines(session, b):
            order = _order_of(session, line, b)
            if order is not None and order not in session.new and inspect(order).persistent:
                updated.setdefault(id(order), order)
        for order in updated.values():
            self.fire("order_updated", order, session)
        for holder, row, label, add in labelled:
            self.fire_label(session, holder, row, label, add)
        for obj in list(session.dirty):  # cancelled: uses given back where the rule says so
            if isinstance(obj, order_cls) and _cancelled_now(obj, b):
                give_back(session, obj, b)

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
        b = self.binding
        is_order = isinstance(row, b.order)
        with session.no_autoflush:
            if is_order:
                facts = load_facts(session, row, rules.keys_for(event_name), binding=b)
                targets = order_targets(session, row, b)
            else:
                facts = load_holder_facts(session, holder, row, rules.keys_for(event_name), b)
                targets = {holder: row}
            facts["label.name"] = label
            decision = self._decide(rules, event_name, facts)
            apply_effects(session, decision, targets, binding=b)
            self.metrics.decided(decision, time.perf_counter() - start)
            if is_order:  # an order keeps the errors of its decisions
                write_errors(session, b, row, decision.errors, replace=False)
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
        write_deferred(session, self.binding)  # rulec's rows of the orders just inserted
        forget_pending(session)
        for order, err in session.info.pop(_PENDING, []):
            if not err.rule:  # the order itself could not be decided
                logger.error(
                    "order %s was not decided: %s", self.binding.o.get(order, "id"), err.message
                )
                continue
            logger.error(
                "rule %r (%s:%d) failed on order %s: %s",
                err.rule,
                err.file,
                err.line,
                self.binding.o.get(order, "id"),
                err.message,
            )


def awaits_decision(order: Any, binding: Binding = REFERENCE) -> bool:
    """Whether the next flush decides ``order`` (again): it is new, or its subtotal,
    currency, shipping charge or lines changed since it was last decided (what ``_before_flush``
    fires ``order_created`` and ``order_updated`` for)."""
    state = inspect(order)
    session = state.session
    if state.transient or state.pending:
        return True
    if _inputs_changed(order, binding):
        return True
    return session is not None and any(
        _order_of(session, line, binding) is order for line in _changed_lines(session, binding)
    )


def _changed_lines(session: Session, b: Binding) -> list[Any]:
    """The order lines added, changed or removed in ``session`` and not flushed yet."""
    line_cls = b.line
    return [
        obj for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, line_cls)
    ]


def _order_of(session: Session, line: Any, b: Binding) -> Any:
    """The order of ``line`` (also when it was added by ``order_id``)."""
    ln = b.ln
    order = ln.get(line, "order")
    key = ln.get(line, "order_id")
    if order is None and key is not None:
        return session.get(b.order, key)
    return order


def _inputs_changed(order: Any, b: Binding) -> bool:
    state = inspect(order)
    names = (b.o.attr(name) for name in ("subtotal", "currency", "shipping_amount", "items"))
    return any(state.attrs[name].history.has_changes() for name in names if name is not None)


def _cancelled_now(order: Any, b: Binding) -> bool:
    """Whether a stored order's status was set to cancelled in this session."""
    name = b.o.attr("status")
    state = inspect(order)
    if name is None or not state.persistent:
        return False
    history = state.attrs[name].history
    return (
        bool(history.added)
        and history.added[-1] in CANCELLED
        and not (history.deleted and history.deleted[0] in CANCELLED)
    )


def _had_lines(order: Any, b: Binding) -> bool:
    """Whether a stored order's lines were all removed in this session."""
    state = inspect(order)
    if not state.persistent:
        return False
    items = b.o.attr("items")
    assert items is not None
    history = state.attrs[items].history
    session = state.session
    key = b.o.get(order, "id")
    return bool(history.deleted) or (
        session is not None
        and any(isinstance(o, b.line) and b.ln.get(o, "order_id") == key for o in session.deleted)
    )


#: The label holders whose label links fire label events (an order line's do not).
_SILENT = frozenset({"order_item"})


def _label_events(b: Binding) -> tuple[str, ...]:
    """Every label event of ``b``'s holders: a flush looks for label links only when
    one has rules."""
    return tuple(
        f"{holder}_{verb}"
        for holder in b.holders
        if holder not in _SILENT
        for verb in ("labeled", "unlabeled")
    )


def _label_links(session: Session, b: Binding) -> list[tuple[str, Any, str, bool]]:
    """(holder, row, label name, added) for every label link the application made
    or undid in ``session`` (those rules made, in a scheduled run, are left out).

    Only labels of the holder's entity type count: undoing a link the ORM
    would have refused (written with Core) takes away no label the holder had.
    """
    by_rules: set[tuple[int, str, bool]] = session.info.pop(RULE_LINKS, set())
    out: list[tuple[str, Any, str, bool]] = []
    for obj in (*session.new, *session.dirty):
        holder = b.holder_of(obj)
        if holder is None or holder in _SILENT:
            continue
        out.extend(
            (holder, obj, name, added)
            for name, added in b.labels.changes(holder, obj)
            if (id(obj), name, added) not in by_rules
        )
    return out


def _now() -> datetime:  # pragma: no cover - kept for callers that need the engine's clock
    return datetime.now(UTC)
