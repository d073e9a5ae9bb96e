"""Names close to a real one: matching across case and look-alike characters,
and hints that never show text looking like what was typed."""

from __future__ import annotations

import pytest

import rulec
from rulec.dsl.spelling import hint, lookalike, notes, skeleton, suggest


class TestSkeleton:
    def test_plain_words_are_case_folded(self):
        assert skeleton("Customer_VIP") == "customer_vip"

    @pytest.mark.parametrize(
        ("word", "plain"),
        [
            ("\u0441ustomer", "customer"),  # Cyrillic es
            ("\u03bfrder", "order"),  # Greek omicron
            ("\u0415UR", "eur"),  # Cyrillic ie
            ("\uff25\uff35\uff32", "eur"),  # fullwidth
            ("paid\u200b", "paid"),  # zero width space
            ("Loya\u04cf", "loyal"),  # Cyrillic palochka
        ],
    )
    def test_look_alikes_and_invisible_characters(self, word, plain):
        assert skeleton(word) == plain

    def test_lookalike_keeps_letters_of_other_scripts_that_look_like_nothing_latin(self):
        assert lookalike("\u0436") == "\u0436"  # Cyrillic zhe
        assert lookalike("o") == "o"


class TestSuggest:
    @pytest.mark.parametrize(
        ("word", "candidates", "best"),
        [
            ("\u0441ustomer", ["customer", "order"], "customer"),
            ("\u0415UR", ["EUR", "MUR"], "EUR"),
            ("OrderCreated", ["order_created", "order_updated"], "order_created"),
            ("subt0tal", ["subtotal", "currency"], "subtotal"),
            ("Customer_V1P", ["Customer_VIP", "Loyal"], "Customer_VIP"),
            ("paid\u200b", ["paid", "pending"], "paid"),
        ],
    )
    def test_finds_the_name_meant(self, word, candidates, best):
        assert suggest(word, candidates) == best

    def test_nothing_close(self):
        assert suggest("bitcoin", ["EUR", "USD"]) is None


class TestHint:
    def test_a_misspelling_shows_the_name(self):
        assert hint("custmer", ["customer"]) == "did you mean 'customer'?"

    def test_other_capitals_show_the_name(self):
        assert hint("Order_Created", ["order_created"]) == "did you mean 'order_created'?"

    def test_a_look_alike_letter_is_named_not_shown(self):
        text = hint("\u0441ustomer", ["customer"])
        assert text == (
            "its 1st character, '\u0441', is U+0441 CYRILLIC SMALL LETTER ES,"
            " not the Latin letter 'c' it looks like: retype it"
        )

    def test_an_invisible_character_is_named(self):
        assert hint("paid\u200b", ["paid"]) == (
            "it has an invisible character (U+200B ZERO WIDTH SPACE) at the end: delete it"
        )

    def test_a_space_at_the_end(self):
        assert hint("paid ", ["paid"]) == "it has a space at the end: delete it"

    def test_a_digit_for_a_letter_shows_both(self):
        assert hint("subt0tal", ["subtotal"]) == (
            "did you mean 'subtotal'? (its 5th character is the digit 0"
            " (U+0030 DIGIT ZERO), not the Latin letter 'o')"
        )

    def test_a_look_alike_of_the_other_case_shows_the_name_and_the_letter(self):
        text = hint("\u0421ustomer_VIp", ["Customer_VIP"])
        assert text is not None
        assert text.startswith("did you mean 'Customer_VIP'? (its 1st character, '\u0421'")

    def test_a_declaration_with_the_look_alike(self):
        text = hint("Gold", ["G\u043eld"])
        assert text is not None
        assert "U+043E CYRILLIC SMALL LETTER O" in text
        assert "where the name is declared" in text

    def test_several_look_alikes(self):
        text = hint("\u0441ust\u043emer", ["customer"])
        assert text is not None
        assert text.endswith("retype them")
        assert "U+0441" in text and "U+043E" in text

    def test_a_letter_of_another_script_that_looks_like_another_letter_is_named(self):
        # a Greek capital rho looks like a P: 'Ρush' is visibly not 'Rush', but
        # the letter is easy to miss
        assert hint("\u03a1ush", ["Rush"]) == (
            "did you mean 'Rush'? (its 1st character, '\u03a1', is U+03A1 GREEK CAPITAL LETTER RHO)"
        )

    def test_notes_say_whether_the_names_look_different(self):
        assert notes("custmer", "customer") == ([], True)
        assert notes("\u0441ustomer", "customer")[1] is False


class TestMessages:
    """Every unknown name goes through the same hint."""

    @pytest.mark.parametrize(
        ("text", "code", "code_point"),
        [
            ('on \u043erder_created then discount 5% "x"', "R201", "U+043E"),
            ('on order_created then disc\u043eunt 5% "x"', "R202", "U+043E"),
            (
                'on order_created when \u0441ustomer order count = 0 then discount 5% "x"',
                "R203",
                "U+0441",
            ),
            (
                'on order_created when order subt\u03bftal > 5 then discount 5% "x"',
                "R204",
                "U+03BF",
            ),
            (
                'on order_created when order status is "paid\u200b" then discount 5% "x"',
                "R219",
                "U+200B",
            ),
        ],
    )
    def test_names_the_character(self, text, code, code_point):
        (d,) = rulec.check_text(text, "t.rules")
        assert d.code == code
        assert code_point in d.full_message
        assert "did you mean" not in d.full_message

    def test_a_long_message_keeps_its_quotes_paired(self):
        # the text between two quoted names is not clipped as if it were one
        (d,) = rulec.check_text('on \u043erder_created then discount 5% "x"', "t.rules")
        assert "…" not in d.full_message
