"""Which rulec event each of the old system's trigger codes becomes.

The default table: ``discount_vip`` (the one code the old system fired for
orders, on creation) is ``order_created``; ``pricing_trigger_<Y>_<Y+1>`` is
the price listing for wedding year ``Y``, and its ``_Agent`` twin the same
listing seen by an agent; ``ON_CREATION``, ``ON_LABEL_LINK``, ``DAILY`` and
``MONTHLY`` were declared but never fired, so their rules are written
disabled; any other code is unknown, and written disabled too. ``--map
CODE=TARGET`` overrides a code: TARGET is an event (``order_created``), a
listing event with a wedding year (``price_listed:2027``, or
``price_listed:2027:agent`` for agents), or ``off``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

from attrs import frozen

from rulec.dsl.vocabulary import Vocabulary

__all__ = ["NEVER_FIRED", "MapError", "Target", "parse_map", "target_of"]

#: Codes the old system declared but never fired.
NEVER_FIRED = ("ON_CREATION", "ON_LABEL_LINK", "DAILY", "MONTHLY")
_PRICING = re.compile(r"pricing_trigger_(\d{4})_(\d{4})(_Agent)?")
_LISTING = re.compile(r"(\w+_listed):(\d{4})(?::(agent))?")


class MapError(ValueError):
    """A ``--map`` entry that names no event rulec knows."""


@frozen
class Target:
    """Where the rules of one trigger go."""

    #: ``event``: fired on ``event``; ``listing``: shown on ``event`` for
    #: wedding year ``year`` (to agents only when ``agent``); ``off``: written
    #: disabled, because the old system never fired the code (or it is unknown).
    kind: Literal["event", "listing", "off"]
    event: str
    year: int | None = None
    agent: bool = False
    #: set by ``--map``, not by the default table
    mapped: bool = False
    #: why a code is ``off``: ``never fired`` or ``unknown``
    why: str = ""

    def describe(self) -> str:
        if self.kind == "listing":
            who = " seen by agents" if self.agent else ""
            return f"{self.event} for wedding year {self.year}{who}"
        if self.kind == "off":
            return f"nothing ({self.why})"
        return self.event


def target_of(code: str, overrides: Mapping[str, Target] | None = None) -> Target:
    """The target of trigger ``code``: ``overrides`` first, then the default table."""
    if overrides and code in overrides:
        return overrides[code]
    if code == "discount_vip":
        return Target("event", "order_created")
    m = _PRICING.fullmatch(code)
    if m and int(m[2]) == int(m[1]) + 1:
        return Target("listing", "price_listed", int(m[1]), bool(m[3]))
    if code in NEVER_FIRED:
        return Target("off", "order_created", why="the old system declared it but never fired it")
    return Target("off", "order_created", why="an unknown trigger code")


def parse_map(entries: Iterable[str], vocabulary: Vocabulary) -> dict[str, Target]:
    """``--map CODE=TARGET`` entries, checked against ``vocabulary``'s events."""
    out: dict[str, Target] = {}
    for entry in entries:
        code, eq, target = entry.partition("=")
        code, target = code.strip(), target.strip()
        if not eq or not code or not target:
            raise MapError(f"--map {entry!r}: write CODE=EVENT, e.g. ON_CREATION=order_created")
        if target == "off":
            out[code] = Target("off", "order_created", mapped=True, why="switched off by --map")
            continue
        m = _LISTING.fullmatch(target)
        event = m[1] if m else target
        if event not in vocabulary.event_names() or vocabulary.subjects(event):
            known = ", ".join(n for n in vocabulary.event_names() if not vocabulary.subjects(n))
            raise MapError(f"--map {entry!r}: unknown event {event!r}; events: {known}")
        if m:
            out[code] = Target("listing", event, int(m[2]), bool(m[3]), mapped=True)
        elif event.endswith("_listed"):
            raise MapError(f"--map {entry!r}: a listing needs its wedding year: {event}:2027")
        else:
            out[code] = Target("event", event, mapped=True)
    return out
