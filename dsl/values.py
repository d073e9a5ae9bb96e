"""Interpreting literal values: dates with time zones, currencies, suggestions."""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo

from attrs import frozen

from rulec.dsl.nodes import DateValue, Name

__all__ = ["Instant", "known_zones", "parse_date", "resolve_zone", "suggest"]


@functools.cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def resolve_zone(name: str) -> tzinfo | None:
    """The time zone called ``name``, or None if there is none."""
    if name in ("UTC", "Z", "Etc/UTC"):
        return UTC
    if name not in known_zones():
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # pragma: no cover
        return None


@frozen
class Instant:
    """A parsed date or date-time.

    ``start`` is the aware instant it denotes (for a date, the start of that
    day in its zone); ``end`` is the start of the next day for a date and
    ``start`` itself for a date-time, so a date covers its whole day.
    """

    start: datetime
    end: datetime
    date_only: bool


def parse_date(value: DateValue, default_zone: Name | None = None) -> Instant | str:
    """Parse a date literal; return an :class:`Instant` or an error message.

    The checker and the compiler read every date two or three times, and a
    large rule set repeats the same few dates: results are remembered by
    (text, zone), which is all they depend on.
    """
    zone = value.zone.text if value.zone is not None else None
    default = default_zone.text if default_zone is not None else None
    return _parsed(value.text, zone, default)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, zone: str | None, default_zone: str | None) -> Instant | str:
    try:
        return _parse_date(text, zone, default_zone)
    except OverflowError:  # 9999-12-31 has no next day; 0001-01-01 Asia/Tokyo no UTC instant
        return f"{text!r} is too close to the limits of the calendar (years 1 to 9999)"


def _parse_date(text: str, zone: str | None, default_zone: str | None) -> Instant | str:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return f"{text!r} is not a valid date; write YYYY-MM-DD, or YYYY-MM-DD HH:MM for a time"
    zone_name = zone or default_zone
    date_only = len(text) == 10
    if dt.tzinfo is not None:
        if zone is not None:
            return f"{text!r} has a UTC offset and a time zone; give only one"
        start = dt.astimezone(UTC)
    else:
        tz = UTC if zone_name is None else resolve_zone(zone_name)
        if tz is None:
            return f"unknown time zone {zone_name!r}" if zone_name else "unknown time zone"
        start = dt.replace(tzinfo=tz).astimezone(UTC)
    if date_only:
        # the next local midnight, which need not be 24 hours later (DST)
        nxt = (dt + timedelta(days=1)).replace(tzinfo=start.tzinfo if dt.tzinfo else None)
        if dt.tzinfo is None:
            tz = UTC if zone_name is None else resolve_zone(zone_name)
            end = nxt.replace(tzinfo=tz).astimezone(UTC)
        else:  # pragma: no cover - a date-only text has no offset
            end = nxt.astimezone(UTC)
        return Instant(start, end, True)
    return Instant(start, start, False)


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word``, if one is close: for "did you mean"."""
    cands = list(dict.fromkeys(candidates))
    for c in cands:
        if c.lower() == word.lower():
            return c
    lowered = {c.lower(): c for c in cands}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=3, cutoff=0.6)
    if not found:
        return None
    # among equally close words, prefer one that starts like the word typed
    best = difflib.SequenceMatcher(None, word.lower(), found[0]).ratio()
    for f in found:
        close = difflib.SequenceMatcher(None, word.lower(), f).ratio() == best
        if close and f[:1] == word[:1].lower():
            return lowered[f]
    return lowered[found[0]]
