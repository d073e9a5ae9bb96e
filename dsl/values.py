"""Interpreting literal values: dates with time zones, currencies, suggestions.

``suggest`` (did you mean) is :func:`rulec.dsl.spelling.suggest`, kept here
for the modules that import it from here.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

from attrs import frozen

from rulec.dsl.nodes import DateValue, Name
from rulec.dsl.spelling import suggest

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
        if not date_only:  # a local time the clocks skip, or show twice
            clash = _local_time_clash(dt, tz, text, zone_name or "UTC")
            if clash is not None:
                return clash
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


def _local_time_clash(dt: datetime, tz: tzinfo, text: str, zone: str) -> str | None:
    """Why the wall-clock time ``dt`` names no single instant in ``tz``, or None.

    When the clocks go forward (daylight saving time), the skipped hour does
    not exist; when they go back, an hour happens twice. Neither can be
    guessed: the message says what to write instead.
    """
    first, second = dt.replace(tzinfo=tz, fold=0), dt.replace(tzinfo=tz, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    if before == after:
        return None
    back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != dt:  # skipped: the clocks jumped over it
        jump = _transition(second.astimezone(UTC), first.astimezone(UTC), tz)
        old = (jump + (before or timedelta())).strftime("%H:%M")
        new = (jump + (after or timedelta())).strftime("%H:%M")
        return (
            f"{text} does not exist in {zone}: that night the clocks go forward from "
            f"{old} to {new} (daylight saving time); write a time before {old} or from {new}"
        )
    return (
        f"{text} happens twice in {zone}: that night the clocks go back; say which one "
        f"with its UTC offset instead of the zone, {text}{_offset(first)} (the first) or "
        f"{text}{_offset(second)} (the second)"
    )


def _transition(low: datetime, high: datetime, tz: tzinfo) -> datetime:
    """The UTC instant between ``low`` and ``high`` (UTC, ``low`` first) at which
    ``tz``'s offset changes, to the minute, without its zone (a naive UTC time)."""
    low, high = min(low, high), max(low, high)
    start = low.astimezone(tz).utcoffset()
    while high - low > timedelta(minutes=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == start:
            low = mid
        else:
            high = mid
    return high.replace(second=0, microsecond=0, tzinfo=None)


def _offset(value: datetime) -> str:
    """The UTC offset of ``value`` as written in a date: ``+02:00``."""
    return value.isoformat()[-6:]


def _hhmm(value: datetime, tz: tzinfo) -> str:
    """The local wall-clock time of the instant ``value`` in ``tz``: ``03:00``."""
    return value.astimezone(UTC).astimezone(tz).strftime("%H:%M")
