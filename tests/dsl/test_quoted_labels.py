"""Quoted label names (issue 22): ``customer has label "Season 2026-2027"``.

A label's name may be written as quoted text wherever a label is named: in a
declaration, in every label test and in the label actions. The quoted and
the plain form of a name are the same label; the formatter quotes a name
only when a plain name cannot spell it, and compiled code holds it as a
constant.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rulec
from rulec.dsl.fmt import format_text, label_text
from rulec.dsl.nodes import HasAnyLabel, HasLabel, LabelAction, Name, walk

from .test_fastparse import assert_recovers_as_lark, assert_same_or_none

EVERY_PLACE = (
    'label "Season 2026-2027", Plain for customer\n'
    'label "Fragile box" for item\n'
    'on order_created when customer has label "Season 2026-2027" then discount 5% "a"\n'
    'on order_created when customer lacks label "Season 2026-2027"'
    ' and order placed by customer is true then discount 1% "b"\n'
    'on order_created when customer has any label of Plain, "Season 2026-2027"'
    ' then discount 2% "c"\n'
    'on order_created when not customer has any label of "Season 2026-2027"'
    ' then discount 3% "d"\n'
    'on order_created when any item has label "Fragile box" then discount 4% "e"\n'
    'on order_created when any item has any label of "Fragile box" then discount 6% "f"\n'
    'on order_created then add label "Season 2026-2027" to customer\n'
    'on order_created then remove label "Season 2026-2027" from customer\n'
)


class TestParse:
    def test_every_place_a_label_is_named_takes_the_quoted_form(self):
        assert rulec.check_text(EVERY_PLACE, "q.rules") == []
        items = rulec.parse(EVERY_PLACE, "q.rules")
        decl = items[0]
        assert [n.text for n in decl.names] == ["Season 2026-2027", "Plain"]
        first = items[2]
        assert isinstance(first.condition, HasLabel)
        assert first.condition.label == Name("Season 2026-2027")
        labels = [
            n.text
            for item in items[2:]
            for node in walk(item)
            for n in (
                node.labels
                if isinstance(node, HasAnyLabel)
                else (node.label,)
                if isinstance(node, HasLabel | LabelAction)
                else ()
            )
        ]
        assert labels == ["Season 2026-2027"] * 2 + ["Plain", "Season 2026-2027"] * 1 + [
            "Season 2026-2027",
            "Fragile box",
            "Fragile box",
            "Season 2026-2027",
            "Season 2026-2027",
        ]

    def test_the_quoted_and_the_plain_form_are_the_same_label(self):
        quoted = rulec.parse(
            'label "VIP" for customer\non order_created when customer '
            'has label "VIP" then discount 1% "x"',
            "a.rules",
        )
        plain = rulec.parse(
            "label VIP for customer\non order_created when customer has label VIP "
            'then discount 1% "x"',
            "a.rules",
        )
        assert quoted == plain

    def test_escapes_in_a_quoted_label(self):
        text = 'label "Say \\"hi\\" \\\\ now" for customer\n'
        (decl,) = rulec.parse(text, "a.rules")
        assert decl.names[0].text == 'Say "hi" \\ now'

    def test_a_bad_escape_in_a_quoted_label_is_r108(self):
        codes = [d.code for d in rulec.check_text('label "a\\qb" for customer\n', "a.rules")]
        assert codes == ["R108"]

    def test_a_suggestion_writes_the_label_as_it_must_be_written(self):
        text = (
            "label A for customer\n"
            'on order_created when customer has label "Foo Bar" then discount 1% "x"\n'
        )
        (d,) = rulec.check_text(text, "a.rules")
        assert (d.code, d.suggestion) == (
            "R210",
            "declare it with 'label \"Foo Bar\" for customer'",
        )

    def test_an_undeclared_quoted_label_is_r210(self):
        text = (
            'label "Season 2026-2027" for customer\n'
            'on order_created when customer has label "Season 2026-2028" '
            'then discount 1% "x"\n'
        )
        assert [d.code for d in rulec.check_text(text, "a.rules")] == ["R210"]

    def test_the_fast_parser_agrees_with_lark(self):
        assert assert_same_or_none(EVERY_PLACE)
        assert_recovers_as_lark(EVERY_PLACE)
        assert_recovers_as_lark('label "a\\qb" for customer\n')
        assert_recovers_as_lark('label "open for customer\n')


class TestFormat:
    @pytest.mark.parametrize(
        ("name", "written"),
        [
            ("Customer_VIP", "Customer_VIP"),
            ("Größe", "Größe"),
            ("then", "then"),  # a keyword elsewhere is a plain name after `label`
            ("Season 2026-2027", '"Season 2026-2027"'),
            ("2026", '"2026"'),
            ('Say "hi"', '"Say \\"hi\\""'),
            ("", '""'),
        ],
    )
    def test_a_label_is_quoted_only_when_it_must_be(self, name, written):
        assert label_text(name) == written

    def test_format_keeps_quotes_where_needed_and_drops_the_rest(self):
        text = (
            'label "VIP", "Season 2026-2027" for customer\n'
            'on order_created when customer has label "VIP" then discount 1% "x"\n'
        )
        assert format_text(text) == (
            'label VIP, "Season 2026-2027" for customer\n'
            'on order_created when customer has label VIP then discount 1% "x"\n'
        )
        assert format_text(format_text(EVERY_PLACE)) == format_text(EVERY_PLACE)
        assert rulec.parse(format_text(EVERY_PLACE), "q.rules") == rulec.parse(
            EVERY_PLACE, "q.rules"
        )


#: Any one-line text a label could be called, NUL and line breaks aside.
names = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\r\n\x00"),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(names, st.booleans())
def test_any_name_comes_through_parse_format_compile_and_evaluate(name, has_it):
    written = label_text(name)
    text = (
        f"label {written} for customer\n"
        f'on order_created when customer has label {written} then discount 10% "hit"\n'
    )
    items = rulec.parse(text, "g.rules")
    assert items[0].names[0].text == name
    assert assert_same_or_none(text)
    assert rulec.parse(format_text(text), "g.rules") == items
    rules = rulec.load_text(text, "g.rules")
    labels = {name} if has_it else {name + "x"}
    order = {"subtotal": Decimal("10.00"), "currency": "EUR"}
    facts = {"customer": {"labels": labels}, "order": order}
    decision = rules.evaluate("order_created", facts)
    assert decision.discount_amount == (Decimal("1.00") if has_it else Decimal("0.00"))
    # the name is a constant of the compiled module, never a piece of its code
    source = rulec.compile_text(text, "g.rules").source
    assert repr(name) in source
