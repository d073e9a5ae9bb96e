"""What the playground page asks for: check the rules, decide an order, read a stored one.

Every answer is a JSON-ready dict. The rules are checked by the one checker
(:func:`rulec.dsl.sources.analyze`), over the whole rule set with the file
on the page in place of its saved text, so a label declared in another file
resolves as it does for ``rulec check``. An order is decided by the one
explanation (:meth:`RuleSet.explain`), its facts through the event's door.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from attrs import frozen

from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.diagnostics import Diagnostic, RulesError
from rulec.dsl.parser import MAX_FILE_BYTES
from rulec.dsl.sources import Analysis, Source, analyze
from rulec.dsl.vocabulary import Event, Kind, Vocabulary
from rulec.engine.core.load import from_analysis
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.core.validate import unknown_event
from rulec.tools.explain import as_json
from rulec.web.order import as_document, basket_of, order_facts

__all__ = ["Playground", "Refused", "StoredOrders"]

#: The name of the file on the page when the playground starts without one.
SCRATCH = "playground.rules"


def _nothing() -> None:
    return None


@frozen
class StoredOrders:
    """Stored orders, read and never written: what ``rulec playground --db`` passes in.

    Plain callables, so the page never imports the database: the command line
    builds them over the engine's own readers (``load_facts``, ``basket``).
    """

    #: Where the orders come from, for the page (a URL with its password masked).
    where: str
    #: The most recent orders: ``(id, title)`` pairs, newest first, at most ``limit``.
    recent: Callable[[int], Sequence[tuple[str, str]]]
    #: One order for an event: its facts (flat, as the engine loads them) and its
    #: stored basket (JSON values); None when there is no such order.
    load: Callable[[str, str], tuple[Mapping[str, Any], dict[str, Any]] | None]
    #: Let go of the database (its connections): when the page stops.
    close: Callable[[], None] = _nothing


class Refused(RulesError):
    """A request the playground cannot answer: ``status`` is the HTTP status to give."""

    def __init__(self, message: str, status: int = 422, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


class Playground:
    """The rule files on the page, their vocabulary, and the stored orders if any."""

    def __init__(
        self,
        sources: Sequence[Source],
        vocabulary: Vocabulary,
        stored: StoredOrders | None = None,
    ) -> None:
        self.sources = list(sources) or [Source.from_text("", SCRATCH)]
        self.vocabulary = vocabulary
        self.stored = stored
        self._lock = threading.Lock()
        self._analyses: OrderedDict[tuple[str, str], Analysis] = OrderedDict()
        self._loaded: OrderedDict[tuple[str, str], RuleSet] = OrderedDict()

    # ----------------------------------------------------------- the page ---

    def setup(self) -> dict[str, Any]:
        """What the page starts from: the files, the order events and their fields."""
        return {
            "files": [{"path": s.path, "name": s.name, "text": s.text or ""} for s in self.sources],
            "events": [_event(e, self.vocabulary) for e in self.order_events()],
            "currencies": sorted(MINOR_UNITS),
            # for the page's colours: the names rules use beside the keywords
            "words": {
                "entities": [e.name for e in self.vocabulary.entities],
                "events": self.vocabulary.event_names(),
            },
            "max_bytes": MAX_FILE_BYTES,
            "stored": None if self.stored is None else {"where": self.stored.where},
        }

    def order_events(self) -> list[Event]:
        """The events that decide an order's money: the ones a basket shows."""
        return [e for e in self.vocabulary.events if e.kind is Kind.ORDER and e.subject is None]

    # -------------------------------------------------------------- check ---

    def check(self, path: str, text: str) -> dict[str, Any]:
        """Every diagnostic of the rule set with ``text`` as the file ``path``."""
        analysis = self._analysis(path, text)
        mine = [d for d in analysis.diagnostics if d.span.file == path]
        others = [d for d in analysis.diagnostics if d.span.file != path]
        errors = sum(d.severity == "error" for d in analysis.diagnostics)
        warnings = len(analysis.diagnostics) - errors
        return {
            "path": path,
            "diagnostics": [_diagnostic(d) for d in mine],
            "others": [_diagnostic(d) for d in others],
            "errors": errors,
            "warnings": warnings,
            "summary": f"{_count(errors, 'error')}, {_count(warnings, 'warning')}",
        }

    # ------------------------------------------------------------- decide ---

    def decide(self, path: str, text: str, event: str, document: Any) -> dict[str, Any]:
        """The basket the order ``document`` gets from the rules, and the explanation
        of every rule of ``event``; Refused when the rules have errors, the event is
        not an order event, or the door refuses the facts."""
        ev = self._event(event)
        rules = self._rules(path, text)
        facts = order_facts(document, self.vocabulary, ev)
        with self._lock:
            explanation = rules.explain(event, facts)
        return {
            "event": event,
            "basket": basket_of(explanation.decision, facts, ev),
            "explanation": as_json(explanation),
            "explanation_text": explanation.text(),
            "facts": as_document_nested(facts),
        }

    # ------------------------------------------------------- stored orders ---

    def recent_orders(self, limit: int = 200) -> list[dict[str, str]]:
        if self.stored is None:
            raise Refused("no database: start the playground with --db URL", 404)
        return [{"id": i, "title": t} for i, t in self.stored.recent(limit)]

    def stored_order(self, order_id: str, event: str) -> dict[str, Any]:
        """A stored order as the page's order form, and its stored basket."""
        if self.stored is None:
            raise Refused("no database: start the playground with --db URL", 404)
        self._event(event)
        found = self.stored.load(order_id, event)
        if found is None:
            raise Refused(f"no order with id {order_id!r}", 404)
        facts, basket = found
        return {
            "id": order_id,
            "order": self._editable(as_document(facts), event),
            "stored": basket,
        }

    def _editable(self, document: dict[str, Any], event: str) -> dict[str, Any]:
        """A stored order's document without what the page derives from its lines
        (the same way, :func:`~rulec.web.order.order_facts`), so that a line added
        on the page counts; an order without lines keeps its subtotal."""
        ev = self._event(event)
        lines = any(document.get(e) for e in ev.many)
        for name, held in document.items():
            found = self.vocabulary.entity(name)
            if found is None:
                continue
            derived = {
                f.name
                for f in found.fields
                if _derived(name, f.name, f.presence_of, ev) is not None
                and (lines or f.name != "subtotal")
            }
            for one in held if isinstance(held, list) else [held]:
                if isinstance(one, dict):
                    for key in derived & one.keys():
                        del one[key]
        return document

    # ------------------------------------------------------------ helpers ---

    def _event(self, event: str) -> Event:
        for e in self.order_events():
            if e.name == event:
                return e
        raise Refused(str(unknown_event(event, [e.name for e in self.order_events()])))

    def _sources(self, path: str, text: str) -> list[Source]:
        """The rule set's files, the one on the page with the page's text."""
        out = [
            attrs.evolve(s, text=text, diagnostics=()) if s.path == path else s
            for s in self.sources
        ]
        if not any(s.path == path for s in self.sources):
            out.append(Source.from_text(text, path))
        return out

    def _analysis(self, path: str, text: str) -> Analysis:
        key = (path, text)
        with self._lock:
            found = self._analyses.get(key)
            if found is None:
                found = analyze(self._sources(path, text), self.vocabulary)
                _remember(self._analyses, key, found)
            return found

    def _rules(self, path: str, text: str) -> RuleSet:
        analysis = self._analysis(path, text)
        key = (path, text)
        with self._lock:
            found = self._loaded.get(key)
            if found is not None:
                return found
            if not analysis.ok:
                errors = [d for d in analysis.diagnostics if d.severity == "error"]
                raise Refused(
                    f"the rules have {_count(len(errors), 'error')}: fix them to try an order",
                    diagnostics=[_diagnostic(d) for d in errors],
                )
            found = from_analysis(analysis, self.vocabulary)
            _remember(self._loaded, key, found)
            return found


def as_document_nested(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Nested facts (typed, derived) as JSON values, for the page to show."""
    flat: dict[str, Any] = {}
    for entity, value in facts.items():
        if isinstance(value, dict):
            flat.update({f"{entity}.{k}": v for k, v in value.items()})
        elif isinstance(value, list):
            flat[f"{entity}.all"] = [{f"{entity}.{k}": v for k, v in m.items()} for m in value]
        else:
            flat[entity] = value
    return as_document(flat)


_KEEP = 8  # analyses kept: the page asks for the same text to be checked, then decided


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    while len(cache) > _KEEP:
        cache.popitem(last=False)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _diagnostic(d: Diagnostic) -> dict[str, Any]:
    return {
        "path": d.span.file,
        "line": d.span.line,
        "column": d.span.column,
        "end_line": d.span.end_line,
        "end_column": d.span.end_column,
        "code": d.code,
        "severity": d.severity,
        "message": d.message,
        "suggestion": d.suggestion,
    }


def _event(e: Event, vocabulary: Vocabulary) -> dict[str, Any]:
    """An order event as the page's form lays it out: its entities, their fields, and
    whether they carry labels and coupon codes."""
    entities = []
    for name in e.entities:
        found = vocabulary.entity(name)
        if found is None:
            continue
        entities.append(
            {
                "name": name,
                "description": found.description,
                "labelled": found.labelled,
                "coupons": found.coupons,
                "optional": name in e.optional,
                "many": name in e.many,
                "fields": [
                    {
                        "name": f.name,
                        "type": f.type.value,
                        "description": f.description,
                        "values": list(f.values),
                        "derived": _derived(name, f.name, f.presence_of, e),
                    }
                    for f in found.fields
                ],
            }
        )
    return {"name": e.name, "description": e.description, "entities": entities}


def _derived(entity: str, name: str, presence_of: str | None, e: Event) -> str | None:
    """How :func:`~rulec.web.order.order_facts` fills a field the form leaves empty."""
    if presence_of is not None and presence_of in e.optional:
        return f"whether there is a {presence_of}"
    if not e.many:
        return None
    if entity == "order" and name == "subtotal":
        return "the lines' totals, when there are lines"
    if entity == "order" and name in ("line_count", "item_count"):
        return "counted from the lines"
    if entity in e.many and name == "line_total":
        return "quantity × unit price"
    return None
