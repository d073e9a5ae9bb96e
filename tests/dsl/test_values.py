"""Literal values: dates and time zones, and the "did you mean" suggestions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rulec.dsl.nodes import DateValue, Name
from rulec.dsl.values import Instant, known_zones, parse_date, resolve_zone, suggest


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def date(text: str, zone: str | None = None) -> DateValue:
    return DateValue(text, Name(zone) if zone else None)


class TestParseDate:
    def test_date_covers_its_whole_day_in_utc(self):
        assert parse_date(date("2026-11-27")) == Instant(utc(2026, 11, 27), utc(2026, 11, 28), True)

    def test_date_in_a_time_zone(self):
        got = parse_date(date("2026-11-27", "Europe/Paris"))
        assert got == Instant(utc(2026, 11, 26, 23), utc(2026, 11, 27, 23), True)

    def test_date_time_is_one_instant(self):
        got = parse_date(date("2026-11-27 10:30"))
        assert got == Instant(utc(2026, 11, 27, 10, 30), utc(2026, 11, 27, 10, 30), False)

    def test_date_time_with_t_and_seconds(self):
        got = parse_date(date("2026-11-27T10:30:15"))
        assert got.start == utc(2026, 11, 27, 10, 30, 15)
        assert not got.date_only

    def test_date_time_in_a_time_zone(self):
        got = parse_date(date("2026-07-01 12:00", "America/New_York"))
        assert got.start == utc(2026, 7, 1, 16)  # EDT is UTC-4

    def test_utc_offset(self):
        got = parse_date(date("2026-11-27 10:00+01:00"))
        assert got.start == utc(2026, 11, 27, 9)

    def test_z_suffix(self):
        assert parse_date(date("2026-11-27 10:00Z")).start == utc(2026, 11, 27, 10)

    def test_results_are_always_utc(self):
        for d in (date("2026-11-27", "Asia/Tokyo"), date("2026-11-27 10:00+05:30")):
            got = parse_date(d)
            assert got.start.utcoffset() == timedelta(0)
            assert got.end.utcoffset() == timedelta(0)

    def test_default_zone_applies_when_none_is_written(self):
        got = parse_date(date("2026-11-27"), Name("Europe/Paris"))
        assert got.start == utc(2026, 11, 26, 23)

    def test_written_zone_beats_the_default(self):
        got = parse_date(date("2026-11-27", "UTC"), Name("Europe/Paris"))
        assert got.start == utc(2026, 11, 27)

    def test_day_of_the_spring_change_has_23_hours(self):
        got = parse_date(date("2026-03-29", "Europe/Paris"))
        assert got.end - got.start == timedelta(hours=23)

    def test_day_of_the_autumn_change_has_25_hours(self):
        got = parse_date(date("2026-10-25", "Europe/Paris"))
        assert got.end - got.start == timedelta(hours=25)

    def test_offset_and_zone_together_is_an_error(self):
        got = parse_date(date("2026-11-27 10:00+01:00", "Europe/Paris"))
        assert got == "'2026-11-27 10:00+01:00' has a UTC offset and a time zone; give only one"

    @pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "2026-11-27 24:30", "0000-01-01"])
    def test_invalid(self, text):
        got = parse_date(date(text))
        assert isinstance(got, str)
        assert got.startswith(f"'{text}' is not a valid date")

    def test_unknown_zone(self):
        assert parse_date(date("2026-11-27", "Mars/Base")) == "unknown time zone 'Mars/Base'"

    @pytest.mark.parametrize(
        ("text", "zone"),
        [
            ("9999-12-31", None),
            ("9999-12-31 23:00", "America/New_York"),
            ("0001-01-01", "Asia/Tokyo"),
        ],
    )
    def test_edges_of_the_calendar_are_errors_not_crashes(self, text, zone):
        got = parse_date(date(text, zone))
        assert isinstance(got, str)
        assert "limits of the calendar" in got

    def test_last_representable_instant(self):
        assert parse_date(date("9999-12-31 23:59")).start == utc(9999, 12, 31, 23, 59)


class TestZones:
    @pytest.mark.parametrize("name", ["UTC", "Z", "Etc/UTC"])
    def test_utc_names(self, name):
        assert resolve_zone(name) is UTC

    def test_iana_zone(self):
        zone = resolve_zone("Europe/Paris")
        assert zone is not None
        assert datetime(2026, 1, 1, tzinfo=zone).utcoffset() == timedelta(hours=1)

    @pytest.mark.parametrize("name", ["Mars/Base", "europe/paris", "", "../etc/passwd", "Paris"])
    def test_unknown(self, name):
        assert resolve_zone(name) is None

    def test_known_zones(self):
        zones = known_zones()
        assert {"UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"} <= zones


class TestSuggest:
    def test_close_word(self):
        assert suggest("order_craeted", ["order_created", "order_updated"]) == "order_created"

    def test_case_only_difference(self):
        assert suggest("eur", ["EUR", "USD"]) == "EUR"

    def test_nothing_close(self):
        assert suggest("payment", ["order_created", "order_updated"]) is None

    def test_no_candidates(self):
        assert suggest("x", []) is None

    def test_prefers_a_word_with_the_same_first_letter(self):
        assert suggest("vIP", ["VIP", "ZIP"]) == "VIP"
        assert suggest("cold", ["bold", "colt"]) == "colt"

    def test_returns_the_candidate_as_written(self):
        assert suggest("customer_vip", ["Customer_VIP"]) == "Customer_VIP"
