"""Interpreting literal values: dates and time zones, as written in rules
and as written elsewhere (day first, a city for a zone), for the checker's
messages.

``suggest`` (did you mean) is :func:`rulec.dsl.spelling.suggest`, kept here
for the modules that import it from here.
"""

from __future__ import annotations

import calendar
import functools
import re
import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

from attrs import frozen

from rulec.dsl.nodes import DateValue, Name
from rulec.dsl.spelling import suggest

__all__ = [
    "Instant",
    "invalid_date",
    "known_zones",
    "parse_date",
    "resolve_zone",
    "suggest",
    "zone_hint",
    "zone_warning",
]


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
        return invalid_date(text)
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


# ------------------------------------------------------ dates as written ---

_WRITTEN_DATE = re.compile(
    r"(?P<a>\d+)(?P<s1>[-./])(?P<b>\d+)(?P<s2>[-./])(?P<c>\d+)"
    r"(?:(?P<sep>T| +)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<se>\d{2}))?)?"
    r"(?P<off>Z|[+-]\d{2}:\d{2})?$"
)
_GENERIC = "write YYYY-MM-DD, or YYYY-MM-DD HH:MM for a time"


def invalid_date(text: str) -> str:
    """Why ``text``, as written in a rule, is not a date, and the date to write.

    Says what is wrong in the writer's terms and rewrites their own date year
    first: ``27/11/2026`` (day first) → ``2026-11-27``; ``2026-31-12`` (day
    and month swapped) → ``2026-12-31``; ``2026-2-5`` → ``2026-02-05``;
    ``2026-02-30`` → February 2026 has 28 days; ``9:00`` → ``09:00``.
    """
    m = _WRITTEN_DATE.match(text)
    if m is None:
        return f"{text!r} is not a valid date; {_GENERIC}"
    a, b, c = m["a"], m["b"], m["c"]
    why: list[str] = []
    if len(a) == 4:  # year first
        year, month, day = int(a), int(b), int(c)
        if month > 12 and 1 <= day <= 12:
            why.append(f"there is no month {month}: the day and the month are swapped")
            month, day = day, month
        elif m["s1"] != "-" or m["s2"] != "-":
            why.append("the parts of a date are separated by '-'")
    elif len(c) in (2, 4) and len(a) <= 2 and len(b) <= 2:  # day or month first
        year = int(c) if len(c) == 4 else 2000 + int(c)
        first, second = int(a), int(b)
        if first > 12 and 1 <= second <= 12:
            why.append("it is written day first, and dates are written year first")
            month, day = second, first
        elif second > 12 and 1 <= first <= 12:
            why.append("it is written month first, and dates are written year first")
            month, day = first, second
        elif first == second:
            why.append("dates are written year first")
            month = day = first
        else:
            day_first = _iso(year, second, first)
            month_first = _iso(year, first, second)
            if day_first is None or month_first is None:
                return f"{text!r} is not a valid date; {_GENERIC}"
            rest = _time_part(m)[0] or ""
            return (
                f"{text!r} is not a valid date: dates are written year first; write "
                f"{day_first}{rest} if {a} is the day, or {month_first}{rest} if it is the month"
            )
        if len(c) == 2:
            why.append(f"the year is written in full ({year}, if {c} means {year})")
    else:
        return f"{text!r} is not a valid date; {_GENERIC}"
    if not 1 <= month <= 12:
        return f"{text!r} is not a valid date: there is no month {month}; {_GENERIC}"
    last = calendar.monthrange(year, month)[1] if 1 <= year <= 9999 else 31
    if not 1 <= day <= last:
        name = calendar.month_name[month]
        return (
            f"{text!r} is not a valid date: {name} {year} has {last} days; "
            f"the last is {year:04d}-{month:02d}-{last:02d}"
        )
    if (len(b) == 1 or len(c) == 1) and len(a) == 4 and not why:
        why.append("the month and the day have two digits")
    time, time_why, next_day = _time_part(m)
    why += time_why
    if next_day:
        moved = datetime(year, month, day) + timedelta(days=1)
        year, month, day = moved.year, moved.month, moved.day
    if time is None:
        return f"{text!r} is not a valid date: {'; '.join(time_why)}"
    fixed = f"{year:04d}-{month:02d}-{day:02d}{time}"
    if not why or fixed == text:
        return f"{text!r} is not a valid date; {_GENERIC}"
    return f"{text!r} is not a valid date: {'; '.join(why)}; write {fixed}"


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return datetime(year, month, day).date().isoformat()
    except ValueError:
        return None


def _time_part(m: re.Match[str]) -> tuple[str | None, list[str], bool]:
    """The time after a date, rewritten (None if it cannot be), why, and whether
    it moved to the next day (``24:00``)."""
    off = m["off"] or ""
    if m["h"] is None:
        return off, [], False
    sep = "T" if m["sep"] == "T" else " "
    hour, minute = int(m["h"]), int(m["mi"])
    second = f":{m['se']}" if m["se"] else ""
    if hour == 24 and minute == 0 and not int(m["se"] or 0):
        return f"{sep}00:00{second}{off}", ["24:00 is 00:00 of the next day"], True
    if hour > 23:
        return None, [f"there is no hour {hour} (hours run from 00 to 23)"], False
    if minute > 59 or int(m["se"] or 0) > 59:
        return None, ["minutes and seconds run from 00 to 59"], False
    why = ["the hour has two digits"] if len(m["h"]) == 1 else []
    return f"{sep}{hour:02d}:{minute:02d}{second}{off}", why, False


# ------------------------------------------------------ zones as written ---

#: Abbreviations written where a time zone is meant → what they stand for and
#: the zones of places to write instead.
_ABBREVIATIONS: dict[str, tuple[str, tuple[str, ...]]] = {}
for _names, _what, _zones in (
    ("CET CEST MET MEST", "Central European time", ("Europe/Paris", "Europe/Berlin")),
    ("WET WEST", "Western European time", ("Europe/Lisbon",)),
    ("EET EEST", "Eastern European time", ("Europe/Athens", "Europe/Helsinki")),
    ("BST", "British Summer Time", ("Europe/London",)),
    ("GMT+1 UTC+1", "one hour ahead of UTC", ("Europe/Paris", "Europe/London")),
    ("IST", "India or Irish Standard Time", ("Asia/Kolkata", "Europe/Dublin")),
    ("MSK", "Moscow time", ("Europe/Moscow",)),
    ("EST EDT ET EST5EDT", "US Eastern time", ("America/New_York",)),
    ("CST CDT CT CST6CDT", "US Central (or China Standard) time", ("America/Chicago",)),
    ("MST MDT MT MST7MDT", "US Mountain time", ("America/Denver", "America/Phoenix")),
    ("PST PDT PT PST8PDT", "US Pacific time", ("America/Los_Angeles",)),
    ("AKST AKDT", "Alaska time", ("America/Anchorage",)),
    ("HST", "Hawaii time", ("Pacific/Honolulu",)),
    ("JST", "Japan time", ("Asia/Tokyo",)),
    ("KST", "Korea time", ("Asia/Seoul",)),
    ("HKT", "Hong Kong time", ("Asia/Hong_Kong",)),
    ("SGT", "Singapore time", ("Asia/Singapore",)),
    ("AEST AEDT", "Australian Eastern time", ("Australia/Sydney", "Australia/Brisbane")),
    ("ACST ACDT", "Australian Central time", ("Australia/Adelaide", "Australia/Darwin")),
    ("AWST", "Australian Western time", ("Australia/Perth",)),
    ("NZST NZDT", "New Zealand time", ("Pacific/Auckland",)),
    ("BRT", "Brasília time", ("America/Sao_Paulo",)),
    ("ART", "Argentina time", ("America/Argentina/Buenos_Aires",)),
    ("SAST", "South Africa time", ("Africa/Johannesburg",)),
    ("WAT", "West Africa time", ("Africa/Lagos",)),
    ("CAT", "Central Africa time", ("Africa/Maputo",)),
    ("EAT", "East Africa time", ("Africa/Nairobi",)),
    ("PKT", "Pakistan time", ("Asia/Karachi",)),
    ("GST", "Gulf time", ("Asia/Dubai",)),
    ("ICT", "Indochina time", ("Asia/Bangkok",)),
    ("WIB", "Western Indonesia time", ("Asia/Jakarta",)),
):
    for _n in _names.split():
        _ABBREVIATIONS[_n] = (_what, _zones)

#: Countries written where a zone is meant (those with one time zone, or one
#: most orders are in) → their zone.
_COUNTRIES = {
    "france": "Europe/Paris",
    "germany": "Europe/Berlin",
    "deutschland": "Europe/Berlin",
    "spain": "Europe/Madrid",
    "italy": "Europe/Rome",
    "netherlands": "Europe/Amsterdam",
    "holland": "Europe/Amsterdam",
    "belgium": "Europe/Brussels",
    "switzerland": "Europe/Zurich",
    "austria": "Europe/Vienna",
    "sweden": "Europe/Stockholm",
    "norway": "Europe/Oslo",
    "denmark": "Europe/Copenhagen",
    "finland": "Europe/Helsinki",
    "ireland": "Europe/Dublin",
    "uk": "Europe/London",
    "unitedkingdom": "Europe/London",
    "england": "Europe/London",
    "greece": "Europe/Athens",
    "czechia": "Europe/Prague",
    "india": "Asia/Kolkata",
    "china": "Asia/Shanghai",
    "korea": "Asia/Seoul",
    "southafrica": "Africa/Johannesburg",
    "uae": "Asia/Dubai",
}
#: Where a city's name is the last part of two zones, the canonical one.
_CANONICAL = {"nicosia": "Asia/Nicosia", "istanbul": "Europe/Istanbul"}
_AREAS = frozenset(
    (
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    )
)


def _zone_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum() or ch in "/+")


@functools.cache
def _zone_index() -> tuple[dict[str, str], dict[str, str]]:
    """Zones by their whole name and by their city, ignoring case and ``_``."""
    whole: dict[str, str] = {}
    cities: dict[str, str] = {}
    for zone in sorted(known_zones(), key=lambda z: (-z.count("/"), z)):
        whole.setdefault(_zone_key(zone), zone)
        area, _, _rest = zone.partition("/")
        if area in _AREAS:
            cities.setdefault(_zone_key(zone.rsplit("/", 1)[-1]), zone)
    for city, zone in _CANONICAL.items():
        cities[city] = zone
    return whole, cities


def zone_hint(name: str) -> str | None:
    """How to write the time zone ``name``, when it is written as elsewhere: a
    city without its region (``Paris``, ``new_york``), a name in other capitals
    (``europe/paris``), an abbreviation (``PST``, ``CEST``) or a country."""
    abbreviation = _ABBREVIATIONS.get(name.upper())
    if abbreviation is not None:
        what, zones = abbreviation
        places = " or ".join(f"'{z}'" for z in zones)
        return (
            f"that is an abbreviation ({what}), not a time zone:"
            f" write the zone of a place, {places}"
        )
    key = _zone_key(name)
    whole, cities = _zone_index()
    if key in whole:
        return f"time-zone names are written as in the IANA database: '{whole[key]}'"
    city = cities.get(key.rsplit("/", 1)[-1])
    if city is not None:
        return f"write the zone with its region: '{city}'"
    if key in _COUNTRIES:
        return f"write the zone of a place: '{_COUNTRIES[key]}'"
    return None


#: Zones the database knows that rarely mean what the writer meant.
_LEGACY: dict[str, tuple[str, str]] = {
    "localtime": (
        "'localtime' is the time zone of the machine the rules run on, so the rule"
        " would mean something else on each server",
        "write the zone of a place, such as 'Europe/Paris'",
    ),
    "Factory": (
        "'Factory' is a placeholder of the time-zone database, not a place's zone",
        "write the zone of a place, such as 'Europe/Paris'",
    ),
    "EST": (
        "'EST' is UTC-05:00 all year, without daylight saving time: it is not New York"
        " time, which is UTC-04:00 in summer",
        "write 'America/New_York' for New York time",
    ),
    "MST": (
        "'MST' is UTC-07:00 all year, without daylight saving time: it is Arizona's"
        " time, not Denver's, which is UTC-06:00 in summer",
        "write 'America/Denver' or 'America/Phoenix'",
    ),
    "HST": (
        "'HST' is an abbreviation, kept in the time-zone database for compatibility",
        "write 'Pacific/Honolulu'",
    ),
}


def zone_warning(name: str, date: str | None = None) -> tuple[str, str] | None:
    """(message, suggestion) when the known zone ``name`` is an abbreviation or a
    legacy name that rarely means what was meant: ``CET``, ``EST``, ``localtime``,
    ``Etc/GMT+5`` (which is UTC-05:00: the sign is reversed). ``date``, the
    date-time the zone follows, makes the suggestion of an offset concrete."""
    if name in _LEGACY:
        return _LEGACY[name]
    m = re.fullmatch(r"(?:Etc/)?GMT([+-])(\d{1,2})", name) if "GMT" in name else None
    if m is not None and int(m[2]) != 0:
        sign = "-" if m[1] == "+" else "+"
        offset = f"{sign}{int(m[2]):02d}:00"
        example = f"{date}{offset}" if date and len(date) > 10 else f"10:00{offset}"
        return (
            f"'{name}' is UTC{offset}: in these names the sign is the reverse of a UTC offset's",
            f"write the offset after the time instead ({example}), or the zone of a place",
        )
    abbreviation = _ABBREVIATIONS.get(name)
    if abbreviation is not None:
        what, zones = abbreviation
        places = " or ".join(f"'{z}'" for z in zones)
        return (
            f"'{name}' is an abbreviation ({what}), kept in the time-zone database only"
            " for compatibility, and what it means has changed between its versions",
            f"write the zone of a place: {places}",
        )
    return None
