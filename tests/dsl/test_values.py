"""Literal values: dates and time zones, and the "did you mean" suggestions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rulec.dsl.currencies import currency_hint
from rulec.dsl.nodes import DateValue, Name
from rulec.dsl.values import (
    Instant,
    invalid_date,
    known_zones,
    parse_date,
    resolve_zone,
    suggest,
    zone_hint,
    zone_warning,
)


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


class TestClockChanges:
    """A local time the clocks skip or show twice names no single instant: say so."""

    @pytest.mark.parametrize(
        ("text", "zone", "jump"),
        [
            ("2026-03-29 02:30", "Europe/Paris", ("02:00", "03:00")),
            ("2026-03-08 02:15", "America/New_York", ("02:00", "03:00")),
            ("2026-10-04 02:59", "Australia/Sydney", ("02:00", "03:00")),
        ],
    )
    def test_a_skipped_time_does_not_exist(self, text, zone, jump):
        got = parse_date(DateValue(text, Name(zone)))
        assert isinstance(got, str)
        assert got.startswith(f"{text} does not exist in {zone}")
        assert f"write a time before {jump[0]} or from {jump[1]}" in got

    def test_a_time_shown_twice_asks_for_its_offset(self):
        got = parse_date(DateValue("2026-10-25 02:30", Name("Europe/Paris")))
        assert isinstance(got, str) and "happens twice in Europe/Paris" in got
        assert "2026-10-25 02:30+02:00 (the first)" in got
        assert "2026-10-25 02:30+01:00 (the second)" in got
        first = parse_date(DateValue("2026-10-25 02:30+02:00"))
        second = parse_date(DateValue("2026-10-25 02:30+01:00"))
        assert isinstance(first, Instant) and isinstance(second, Instant)
        assert second.start - first.start == timedelta(hours=1)

    def test_times_either_side_and_whole_days_are_fine(self):
        for text in ("2026-03-29 01:59", "2026-03-29 03:00", "2026-03-29", "2026-10-25"):
            assert isinstance(parse_date(DateValue(text, Name("Europe/Paris"))), Instant)

    def test_the_window_of_a_skipped_hour_says_so_not_that_it_ends_first(self, check_codes):
        text = (
            'rule "dst"\n'
            "  from 2026-03-29 02:30 until 2026-03-29 03:15 Europe/Paris\n"
            '  on order_created then discount 5% "x"\n'
            "end\n"
        )
        assert check_codes(text) == [("R207", 2, 3)]


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


class TestDatesAsWrittenElsewhere:
    @pytest.mark.parametrize(
        ("text", "fix"),
        [
            ("27/11/2026", "write 2026-11-27"),
            ("27-11-2026", "write 2026-11-27"),
            ("27.11.2026", "write 2026-11-27"),
            ("11/27/2026", "write 2026-11-27"),
            ("27/11/26", "write 2026-11-27"),
            ("2026/11/27", "write 2026-11-27"),
            ("2026-31-12", "write 2026-12-31"),
            ("2026-2-5", "write 2026-02-05"),
            ("2026-11-27 9:00", "write 2026-11-27 09:00"),
            ("2026-11-27 24:00", "write 2026-11-28 00:00"),
            ("27/11/2026 10:00", "write 2026-11-27 10:00"),
            ("2026-02-30", "February 2026 has 28 days; the last is 2026-02-28"),
            ("2028-02-30", "February 2028 has 29 days; the last is 2028-02-29"),
            ("05/06/2026", "write 2026-06-05 if 05 is the day, or 2026-05-06 if it is the month"),
        ],
    )
    def test_says_the_date_to_write(self, text, fix):
        message = invalid_date(text)
        assert message.startswith(f"'{text}' is not a valid date")
        assert fix in message

    @pytest.mark.parametrize("text", ["2026-11-27T25:00", "2026-11-27 10:61", "2026-13-13"])
    def test_says_what_is_wrong_when_there_is_nothing_to_rewrite(self, text):
        assert invalid_date(text).startswith(f"'{text}' is not a valid date: ")

    def test_parse_date_gives_the_message(self):
        assert parse_date(DateValue("27/11/2026")) == invalid_date("27/11/2026")


class TestZonesAsWrittenElsewhere:
    @pytest.mark.parametrize(
        ("name", "zone"),
        [
            ("Paris", "'Europe/Paris'"),
            ("paris", "'Europe/Paris'"),
            ("New_York", "'America/New_York'"),
            ("NewYork", "'America/New_York'"),
            ("Buenos_Aires", "'America/Argentina/Buenos_Aires'"),
            ("europe/paris", "'Europe/Paris'"),
            ("PST", "'America/Los_Angeles'"),
            ("CEST", "'Europe/Paris'"),
            ("BST", "'Europe/London'"),
            ("France", "'Europe/Paris'"),
        ],
    )
    def test_hint(self, name, zone):
        hint = zone_hint(name)
        assert hint is not None and zone in hint

    def test_no_hint_for_nonsense(self):
        assert zone_hint("Mars/Base") is None

    @pytest.mark.parametrize(
        ("name", "words"),
        [
            ("EST", "'America/New_York'"),
            ("MST", "'America/Denver'"),
            ("CET", "'Europe/Paris'"),
            ("EST5EDT", "'America/New_York'"),
            ("Etc/GMT+5", "UTC-05:00"),
            ("Etc/GMT-2", "UTC+02:00"),
            ("localtime", "machine"),
        ],
    )
    def test_legacy_zones_warn(self, name, words):
        warning = zone_warning(name)
        assert warning is not None
        assert words in " ".join(warning)

    @pytest.mark.parametrize("name", ["Europe/Paris", "UTC", "America/New_York", "Etc/GMT", "GMT"])
    def test_zones_of_places_do_not(self, name):
        assert zone_warning(name) is None

    def test_the_offset_suggested_follows_the_date(self):
        warning = zone_warning("Etc/GMT+5", "2026-11-27 10:00")
        assert warning is not None
        assert "2026-11-27 10:00-05:00" in warning[1]


class TestCurrencyWords:
    @pytest.mark.parametrize(
        ("word", "code"),
        [
            ("eur", "'EUR'"),
            ("Eur", "'EUR'"),
            ("EURO", "'EUR'"),
            ("euros", "'EUR'"),
            ("EUROS", "'EUR'"),
            ("pounds", "'GBP'"),
            ("yen", "'JPY'"),
            ("USDs", "'USD'"),
            ("dollars", "'USD'"),
            ("kroner", "'NOK'"),
        ],
    )
    def test_hint(self, word, code):
        hint = currency_hint(word)
        assert hint is not None and code in hint

    def test_dollars_name_the_other_dollars(self):
        hint = currency_hint("dollars")
        assert hint is not None and "'CAD'" in hint

    def test_no_hint_for_other_words(self):
        assert currency_hint("bitcoin") is None
