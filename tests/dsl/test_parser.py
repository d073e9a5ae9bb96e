"""The parser: rule text to AST nodes, positions, and syntax errors as diagnostics."""

from __future__ import annotations

from decimal import Decimal

import pytest

import rulec
from rulec.dsl import parser as parser_module
from rulec.dsl.nodes import (
    And,
    Between,
    Cap,
    Combinable,
    Compare,
    CouponFamily,
    DateValue,
    Description,
    Enabled,
    Exclusive,
    FieldRef,
    FixedDiscount,
    GroupDecl,
    HasAnyLabel,
    HasCoupon,
    HasCouponIn,
    HasLabel,
    Ident,
    In,
    InGroup,
    LabelAction,
    LabelDecl,
    Name,
    Not,
    Number,
    Or,
    PercentDiscount,
    Priority,
    Rule,
    Span,
    String,
    Window,
    walk,
)
from rulec.dsl.parser import decode_source, parse_collect
from rulec.dsl.sources import analyze

VIP = (
    "on order_created when customer has label Customer_VIP"
    ' then discount 10% "VIP New Order Discount"'
)


def n(text: str) -> Name:
    return Name(text)


def has(label: str) -> HasLabel:
    return HasLabel(n("customer"), n(label))


def lacks(label: str) -> HasLabel:
    return HasLabel(n("customer"), n(label), negated=True)


def field(entity: str, name: str) -> FieldRef:
    return FieldRef(n(entity), n(name))


def pct(percent: str, title: str = "x", cap: Cap | None = None) -> PercentDiscount:
    return PercentDiscount(n("discount"), Decimal(percent), title, cap)


def condition(cond: str):
    """The condition node of a one-line rule with condition ``cond``."""
    (rule,) = rulec.parse(f'on order_created when {cond} then discount 10% "x"')
    return rule.condition


def actions(text: str):
    (rule,) = rulec.parse(f"on order_created then {text}")
    return rule.actions


def syntax(text: str, file: str = "t.rules") -> list[tuple[str, int, int]]:
    """``(code, line, column)`` of the syntax diagnostics of ``text``."""
    return [d.check_tuple() for d in parse_collect(text, file)[1]]


def col(line: str, fragment: str) -> int:
    """The 1-based column where ``fragment`` starts in ``line``."""
    assert fragment in line
    return line.index(fragment) + 1


class TestOneLineRule:
    def test_vip_rule(self):
        assert rulec.parse(VIP) == (
            Rule(n("order_created"), has("Customer_VIP"), (pct("10", "VIP New Order Discount"),)),
        )

    def test_rule_without_condition(self):
        assert rulec.parse('on order_updated then discount 5% "All"') == (
            Rule(n("order_updated"), None, (pct("5", "All"),)),
        )

    def test_one_line_rule_has_default_metadata(self):
        (rule,) = rulec.parse(VIP)
        assert rule.name is None
        assert rule.meta == ()
        assert rule.description is None
        assert rule.priority == 0
        assert rule.enabled is True
        assert rule.exclusive is False
        assert rule.combinable is False
        assert rule.window is None

    def test_rule_may_span_several_lines(self):
        text = (
            "on order_created\n"
            "  when customer\n"
            "    has label Customer_VIP\n"
            "  then\n"
            '    discount 10% "VIP New Order Discount"\n'
        )
        assert rulec.parse(text) == rulec.parse(VIP)

    def test_whitespace_is_insignificant(self):
        head, title = VIP.split('"', 1)
        text = head.replace(" ", " \t \n ") + '"' + title
        assert rulec.parse(text) == rulec.parse(VIP)

    def test_several_rules_in_order(self):
        text = f'{VIP}\non order_updated then discount 5% "B"\n'
        first, second = rulec.parse(text)
        assert first.event == n("order_created")
        assert second.event == n("order_updated")

    def test_empty_file_has_no_items(self):
        assert rulec.parse("") == ()
        assert rulec.parse("\n\n   \n") == ()
        assert rulec.parse("# only a comment\n") == ()

    def test_event_and_verb_are_identifiers_not_keywords(self):
        # misspellings parse, so the checker can say "did you mean"
        (rule,) = rulec.parse('on order_craeted then discont 10% "x"')
        assert rule.event == n("order_craeted")
        assert rule.actions[0].verb == n("discont")


class TestComments:
    def test_comments_are_ignored(self):
        text = (
            "# VIP discount\n"
            "on order_created  # the event\n"
            "  when customer has label Customer_VIP # who\n"
            '  then discount 10% "VIP New Order Discount"  # what\n'
            "# the end"
        )
        assert rulec.parse(text) == rulec.parse(VIP)

    def test_hash_inside_a_string_is_text(self):
        (rule,) = rulec.parse('on order_created then discount 10% "No #1 # deal"')
        assert rule.actions[0].title == "No #1 # deal"

    def test_comment_on_the_last_line_without_newline(self):
        assert rulec.parse(VIP + " # end") == rulec.parse(VIP)


#: Comments in every position (line, column of each, 1-based).
COMMENTED = (
    "# rules for VIPs\n"  # 1:1, own line at the top
    "label VIP, Gold for customer # declared once\n"  # 2:30, end of line
    "\n"
    'rule "No #1 # deal" # after the name\n'  # 4:21, '#' in a quoted text is text
    "  # inside the block, own line\n"  # 5:3
    "  priority 3\t# after a tab\n"  # 6:14
    "  on order_created\n"
    "  when customer has label VIP#no space before\n"  # 8:30
    '  then discount 10% "VIP #2"\n'
    "  # before end\n"  # 10:3
    "end # after end\n"  # 11:5
    "#\n"  # 12:1, empty
    '# say "hi" (quotes in a comment)\n'  # 13:1
    "# à la fin, sans saut de ligne"  # 14:1, no newline at the end of the file
)
COMMENTED_AT = [
    ("# rules for VIPs", 1, 1),
    ("# declared once", 2, 30),
    ("# after the name", 4, 21),
    ("# inside the block, own line", 5, 3),
    ("# after a tab", 6, 14),
    ("#no space before", 8, 30),
    ("# before end", 10, 3),
    ("# after end", 11, 5),
    ("#", 12, 1),
    ('# say "hi" (quotes in a comment)', 13, 1),
    ("# à la fin, sans saut de ligne", 14, 1),
]


def comments_at(comments) -> list[tuple[str, int, int]]:
    """(text, line, column) of each comment; the span ends where the text ends."""
    for c in comments:
        assert (c.span.end_line, c.span.end_column) == (c.span.line, c.span.column + len(c.text))
    return [(c.text, c.span.line, c.span.column) for c in comments]


class TestKeptComments:
    """Comments are kept beside the items, with their positions, for tools (a formatter)."""

    def test_every_position(self):
        parsed = parser_module.parse_source(COMMENTED, "c.rules")
        assert comments_at(parsed.comments) == COMMENTED_AT
        assert {c.span.file for c in parsed.comments} == {"c.rules"}
        assert parsed.diagnostics == []
        assert parsed.items == list(rulec.parse(COMMENTED))
        assert parsed.items[1].name == "No #1 # deal"
        assert parsed.items[1].actions[0].title == "VIP #2"

    def test_a_crlf_file_keeps_no_carriage_return(self):
        parsed = parser_module.parse_source(COMMENTED.replace("\n", "\r\n"), "c.rules")
        assert comments_at(parsed.comments) == COMMENTED_AT

    def test_positions_count_from_after_a_byte_order_mark(self):
        parsed = parser_module.parse_source("\ufeff# first\n" + VIP, "c.rules")
        assert comments_at(parsed.comments) == [("# first", 1, 1)]

    def test_a_file_of_comments_only(self):
        parsed = parser_module.parse_source("  # one\n\n# two\n", "c.rules")
        assert comments_at(parsed.comments) == [("# one", 1, 3), ("# two", 3, 1)]
        assert parsed.items == []

    def test_no_comments(self):
        assert parser_module.parse_source(VIP).comments == ()

    def test_a_file_with_syntax_errors_keeps_the_comments_outside_the_broken_part(self):
        text = (
            "# head\n"
            'on order_created then discount 5% "y" # fine\n'
            'on order_created then discount 10 "x" # broken: no %\n'
            "# skipped with the broken rule\n"
            'on order_created then discount 5% "z" # fine too\n'
        )
        parsed = parser_module.parse_source(text, "c.rules")
        assert [d.code for d in parsed.diagnostics] == ["R104"]
        assert len(parsed.items) == 2
        # the parser skips from the error to the next item, comments included
        assert comments_at(parsed.comments) == [
            ("# head", 1, 1),
            ("# fine", 2, 39),
            ("# fine too", 5, 39),
        ]

    def test_analyze_keeps_each_files_comments_when_asked(self):
        sources = [
            rulec.Source.from_text(COMMENTED, "a.rules"),
            rulec.Source.from_text('on order_created then discount 5% "x"', "b.rules"),
        ]
        analysis = analyze(sources, rulec.DEFAULT_VOCABULARY, comments=True)
        assert comments_at(analysis.comments["a.rules"]) == COMMENTED_AT
        assert analysis.comments["b.rules"] == ()
        assert analysis.diagnostics == ()

    def test_a_check_or_a_load_does_without_them(self):
        sources = [rulec.Source.from_text(COMMENTED, "a.rules")]
        assert analyze(sources, rulec.DEFAULT_VOCABULARY).comments == {}
        assert analyze(sources, rulec.DEFAULT_VOCABULARY, lint=False).comments == {}


class TestBlockRule:
    TEXT = """\
rule "Black Friday VIP"
  description "Extra 15% for VIPs over the Black Friday weekend"
  priority 10
  exclusive
  from 2026-11-27 until 2026-11-30 Europe/Paris
  on order_created
  when customer has label Customer_VIP and order subtotal >= 50.00
  then discount 15% up to 30.00 EUR "Black Friday VIP"
end
"""

    def test_structure(self):
        assert rulec.parse(self.TEXT) == (
            Rule(
                n("order_created"),
                And(
                    (
                        has("Customer_VIP"),
                        Compare(field("order", "subtotal"), n(">="), Number(Decimal("50.00"))),
                    )
                ),
                (pct("15", "Black Friday VIP", Cap(Decimal("30.00"), n("EUR"))),),
                name="Black Friday VIP",
                meta=(
                    Description("Extra 15% for VIPs over the Black Friday weekend"),
                    Priority(10),
                    Exclusive(),
                    Window(DateValue("2026-11-27"), DateValue("2026-11-30", n("Europe/Paris"))),
                ),
            ),
        )

    def test_metadata_properties(self):
        (rule,) = rulec.parse(self.TEXT)
        assert rule.name == "Black Friday VIP"
        assert rule.description == "Extra 15% for VIPs over the Black Friday weekend"
        assert rule.priority == 10
        assert rule.enabled is True
        assert rule.exclusive is True
        assert rule.combinable is False
        assert rule.window == Window(
            DateValue("2026-11-27"), DateValue("2026-11-30", n("Europe/Paris"))
        )

    def test_every_metadata_line(self):
        text = """\
rule "All of it"
  description "d"
  priority -3
  disabled
  combinable
  from 2026-01-01 10:00 Europe/Paris until 2026-02-01 UTC
  on order_updated
  then discount 1% "x"
end"""
        (rule,) = rulec.parse(text)
        assert rule.meta == (
            Description("d"),
            Priority(-3),
            Enabled(False),
            Combinable(),
            Window(
                DateValue("2026-01-01 10:00", n("Europe/Paris")),
                DateValue("2026-02-01", n("UTC")),
            ),
        )
        assert rule.enabled is False
        assert rule.combinable is True
        assert rule.priority == -3

    def test_enabled_and_signed_priority(self):
        (rule,) = rulec.parse(
            'rule "r" enabled priority +7 on order_created then discount 1% "x" end'
        )
        assert rule.meta == (Enabled(True), Priority(7))
        assert rule.enabled is True

    @pytest.mark.parametrize(
        ("window", "expected"),
        [
            ("from 2026-11-27", Window(DateValue("2026-11-27"), None)),
            ("until 2026-11-30", Window(None, DateValue("2026-11-30"))),
            ("from 2026-11-27T10:30", Window(DateValue("2026-11-27T10:30"), None)),
            ("from 2026-11-27    10:30", Window(DateValue("2026-11-27 10:30"), None)),
            ("from 2026-11-27 10:30:15Z", Window(DateValue("2026-11-27 10:30:15Z"), None)),
            ("until 2026-11-27 10:30+01:00", Window(None, DateValue("2026-11-27 10:30+01:00"))),
            (
                "from 2026-11-27 America/New_York",
                Window(DateValue("2026-11-27", n("America/New_York")), None),
            ),
        ],
    )
    def test_validity_windows(self, window, expected):
        (rule,) = rulec.parse(f'rule "r" {window} on order_created then discount 1% "x" end')
        assert rule.window == expected

    def test_block_without_condition_or_metadata(self):
        assert rulec.parse('rule "r" on order_created then discount 1% "x" end') == (
            Rule(n("order_created"), None, (pct("1"),), name="r"),
        )

    def test_last_setting_wins_in_the_properties(self):
        # the checker reports the repetition (R309); the AST keeps both
        (rule,) = rulec.parse(
            'rule "r" priority 1 priority 2 on order_created then discount 1% "x" end'
        )
        assert rule.meta == (Priority(1), Priority(2))
        assert rule.priority == 2

    def test_blocks_and_one_line_rules_mix(self):
        text = f'{VIP}\nrule "b" on order_updated then discount 1% "x" end\n{VIP}\n'
        items = rulec.parse(text)
        assert [i.name for i in items] == [None, "b", None]


class TestLabelDeclarations:
    def test_one_label(self):
        assert rulec.parse("label Customer_VIP for customer") == (
            LabelDecl((n("Customer_VIP"),), n("customer")),
        )

    def test_several_labels(self):
        assert rulec.parse("label A, B,C for customer") == (
            LabelDecl((n("A"), n("B"), n("C")), n("customer")),
        )

    def test_declarations_and_rules_in_one_file(self):
        items = rulec.parse(f"label Customer_VIP for customer\n{VIP}\nlabel Loyal for customer")
        assert [type(i) for i in items] == [LabelDecl, Rule, LabelDecl]


class TestGroups:
    def test_a_group_and_a_group_after_others(self):
        assert rulec.parse("group Loyalty\ngroup Seasonal after Loyalty, Members") == (
            GroupDecl(n("Loyalty")),
            GroupDecl(n("Seasonal"), (n("Loyalty"), n("Members"))),
        )

    def test_a_block_rule_in_a_group(self):
        (rule,) = rulec.parse(
            'rule "A" combinable in group Loyalty on order_created then discount 1% "a" end'
        )
        assert rule.meta == (Combinable(), InGroup(n("Loyalty")))
        assert rule.group == "Loyalty"
        (plain,) = rulec.parse('rule "B" on order_created then discount 1% "b" end')
        assert plain.group is None

    def test_positions(self):
        (decl, rule) = rulec.parse(
            'group Seasonal after Loyalty\nrule "A"\n  in group Seasonal\n'
            '  on order_created then discount 1% "a"\nend',
            "g.rules",
        )
        assert (decl.after[0].span.line, decl.after[0].span.column) == (1, 22)
        (meta,) = rule.meta
        assert (meta.span.line, meta.span.column, meta.group.span.column) == (3, 3, 12)

    def test_a_one_line_rule_takes_no_group(self):
        # settings are a block rule's, as with every other setting: a syntax error
        (code, line, column) = syntax('on order_created in group Loyalty then discount 1% "a"')[0]
        assert (code[:2], line, column) == ("R1", 1, 18)


class TestGroupSyntaxErrors:
    def messages(self, text):
        return [
            (d.check_tuple(), d.full_message)
            for d in rulec.check_text(text, "t.rules")
            if d.severity == "error"
        ]

    def test_a_comma_left_out_of_after(self):
        got = self.messages("group L\ngroup M\ngroup S after L M\n")
        assert got == [
            (
                ("R100", 3, 17),
                "the groups after 'after' are separated by ','; write group S after L, M",
            ),
        ]

    def test_another_word_than_after_is_not_read_as_a_date_comparison(self):
        ((where, message),) = self.messages("group L\ngroup S before L\n")
        assert where == ("R100", 2, 9)
        assert "in a group declaration" in message and "'group NAME after GROUP" in message

    def test_group_without_in_among_a_rules_settings(self):
        text = 'group L\nrule "A"\n  group L\n  on order_created then discount 1% "a"\nend\n'
        ((where, message),) = self.messages(text)
        assert where == ("R100", 3, 3)
        assert message.endswith("write in group L")

    def test_a_broken_declaration_does_not_hide_the_next_item(self):
        text = 'group S after\ngroup L\nrule "A" in group L on x then discount 1% "a" end\n'
        codes = [w[0] for w, _ in self.messages(text)]
        assert codes[0] == "R100" and "R201" in codes  # the rule after it is checked too


class TestCouponFamilies:
    def test_a_family_of_codes_and_prefixes(self):
        assert rulec.parse('coupon family Partner is "PARTNER-*", FRIENDS') == (
            CouponFamily(n("Partner"), (n("PARTNER-*"), n("FRIENDS"))),
        )

    def test_has_and_lacks_coupon_in_a_family(self):
        (rule,) = rulec.parse(
            "on order_created when order has coupon in Partner and order lacks coupon in Vip "
            'then discount 5% "x"'
        )
        assert rule.condition == And(
            (
                HasCouponIn(n("order"), n("Partner")),
                HasCouponIn(n("order"), n("Vip"), True),
            )
        )

    def test_a_code_named_family_or_in_is_still_written_quoted(self):
        (rule,) = rulec.parse('on order_created when order has coupon "in" then discount 5% "x"')
        assert rule.condition == HasCoupon(n("order"), n("in"))


class TestConditions:
    def test_has_label(self):
        assert condition("customer has label Gold") == has("Gold")

    def test_lacks_label(self):
        assert condition("customer lacks label Gold") == lacks("Gold")

    def test_not_has_label_is_a_not_node(self):
        assert condition("not customer has label Gold") == Not(has("Gold"))

    def test_has_any_label_of(self):
        assert condition("customer has any label of A, B, C") == HasAnyLabel(
            n("customer"), (n("A"), n("B"), n("C"))
        )

    def test_lacks_any_label_of(self):
        assert condition("customer lacks any label of A") == HasAnyLabel(
            n("customer"), (n("A"),), negated=True
        )

    def test_and_chain_is_one_node(self):
        assert condition(
            "customer has label A and customer has label B and customer has label C"
        ) == (And((has("A"), has("B"), has("C"))))

    def test_or_chain_is_one_node(self):
        assert condition(
            "customer has label A or customer has label B or customer has label C"
        ) == (Or((has("A"), has("B"), has("C"))))

    def test_and_binds_tighter_than_or(self):
        got = condition("customer has label A or customer has label B and customer has label C")
        assert got == Or((has("A"), And((has("B"), has("C")))))
        got = condition("customer has label A and customer has label B or customer has label C")
        assert got == Or((And((has("A"), has("B"))), has("C")))

    def test_not_binds_tighter_than_and(self):
        got = condition("not customer has label A and customer has label B")
        assert got == And((Not(has("A")), has("B")))

    def test_parentheses_override_precedence(self):
        got = condition("(customer has label A or customer has label B) and customer has label C")
        assert got == And((Or((has("A"), has("B"))), has("C")))
        got = condition("not (customer has label A and customer has label B)")
        assert got == Not(And((has("A"), has("B"))))

    def test_redundant_parentheses_leave_no_trace(self):
        assert condition("((customer has label A))") == has("A")

    def test_nested_parentheses_are_not_flattened(self):
        got = condition("(customer has label A and customer has label B) and customer has label C")
        assert got == And((And((has("A"), has("B"))), has("C")))

    def test_double_not(self):
        assert condition("not not customer has label A") == Not(Not(has("A")))

    def test_field_of_several_words(self):
        got = condition("customer order count = 0")
        assert got == Compare(field("customer", "order_count"), n("="), Number(Decimal("0")))


class TestOperators:
    @pytest.mark.parametrize(
        ("written", "op"),
        [
            ("=", "="),
            ("is", "="),
            ("!=", "!="),
            ("is not", "!="),
            ("<", "<"),
            ("<=", "<="),
            (">", ">"),
            (">=", ">="),
        ],
    )
    def test_comparisons(self, written, op):
        assert condition(f"order subtotal {written} 50.00") == Compare(
            field("order", "subtotal"), n(op), Number(Decimal("50.00"))
        )

    def test_comparison_without_spaces(self):
        assert condition("order subtotal>=50") == Compare(
            field("order", "subtotal"), n(">="), Number(Decimal("50"))
        )

    def test_unknown_operator_is_kept_for_the_checker(self):
        got = condition("order subtotal == 5")
        assert got == Compare(field("order", "subtotal"), n("=="), Number(Decimal("5")))

    def test_is_with_a_bare_word(self):
        assert condition("order currency is EUR") == Compare(
            field("order", "currency"), n("="), Ident("EUR")
        )

    def test_is_not_with_a_string(self):
        assert condition('order currency is not "EUR"') == Compare(
            field("order", "currency"), n("!="), String("EUR")
        )

    def test_between(self):
        assert condition("order created between 2026-11-27 and 2026-11-30") == Between(
            field("order", "created"), DateValue("2026-11-27"), DateValue("2026-11-30")
        )

    def test_between_numbers(self):
        assert condition("order subtotal between 10 and 20.5") == Between(
            field("order", "subtotal"), Number(Decimal("10")), Number(Decimal("20.5"))
        )

    def test_not_between(self):
        assert condition("customer order count not between 1 and 5") == Between(
            field("customer", "order_count"),
            Number(Decimal("1")),
            Number(Decimal("5")),
            negated=True,
        )

    def test_between_inside_and(self):
        # the 'and' of between binds to between, the next one to the conjunction
        got = condition("order subtotal between 1 and 2 and customer has label A")
        assert got == And(
            (
                Between(field("order", "subtotal"), Number(Decimal("1")), Number(Decimal("2"))),
                has("A"),
            )
        )

    def test_in(self):
        assert condition("order currency in (EUR, USD)") == In(
            field("order", "currency"), (Ident("EUR"), Ident("USD"))
        )

    def test_not_in(self):
        assert condition("customer order count not in (0, 1)") == In(
            field("customer", "order_count"),
            (Number(Decimal("0")), Number(Decimal("1"))),
            negated=True,
        )

    def test_date_with_time_and_zone(self):
        assert condition("order created >= 2026-11-27 08:00 Europe/Paris") == Compare(
            field("order", "created"),
            n(">="),
            DateValue("2026-11-27 08:00", n("Europe/Paris")),
        )

    def test_signed_numbers(self):
        assert condition("order subtotal > -5") == Compare(
            field("order", "subtotal"), n(">"), Number(Decimal("-5"))
        )

    def test_decimal_keeps_its_written_precision(self):
        got = condition("order subtotal >= 50.00")
        assert str(got.value.value) == "50.00"


class TestActions:
    def test_percentage(self):
        assert actions('discount 10% "Ten"') == (pct("10", "Ten"),)

    def test_fractional_percentage(self):
        (action,) = actions('discount 12.5% "x"')
        assert action.percent == Decimal("12.5")

    def test_fixed_amount(self):
        assert actions('discount 5.00 EUR "Five"') == (
            FixedDiscount(n("discount"), Decimal("5.00"), n("EUR"), "Five"),
        )

    def test_capped_percentage(self):
        assert actions('discount 10% up to 20.00 EUR "Capped"') == (
            pct("10", "Capped", Cap(Decimal("20.00"), n("EUR"))),
        )

    def test_add_label(self):
        assert actions("add label Loyal to customer") == (
            LabelAction(n("add"), n("Loyal"), "to", n("customer")),
        )

    def test_remove_label(self):
        assert actions("remove label Trial from customer") == (
            LabelAction(n("remove"), n("Trial"), "from", n("customer")),
        )

    def test_several_actions_with_comma_and_and(self):
        got = actions(
            'discount 10% "A", add label Loyal to customer and remove label Trial from customer'
        )
        assert got == (
            pct("10", "A"),
            LabelAction(n("add"), n("Loyal"), "to", n("customer")),
            LabelAction(n("remove"), n("Trial"), "from", n("customer")),
        )

    def test_a_rule_needs_an_action(self):
        with pytest.raises(rulec.RulesSyntaxError):
            rulec.parse("on order_created then")


class TestText:
    def test_crlf_line_endings(self):
        text = "label Customer_VIP for customer\r\n" + VIP + "\r\n"
        assert rulec.parse(text) == rulec.parse(text.replace("\r\n", "\n"))

    def test_crlf_in_a_multi_line_rule(self):
        text = (
            "on order_created\r\n"
            "  when customer has label Customer_VIP\r\n"
            '  then discount 10% "VIP New Order Discount"\r\n'
        )
        assert rulec.parse(text) == rulec.parse(VIP)

    def test_byte_order_mark(self):
        assert rulec.parse("\ufeff" + VIP) == rulec.parse(VIP)

    def test_byte_order_mark_through_bytes(self):
        source = rulec.Source.from_bytes(b"\xef\xbb\xbf" + VIP.encode(), "bom.rules")
        assert source.diagnostics == ()
        assert source.text == VIP

    def test_escaped_quote_and_backslash(self):
        (action,) = actions(r'discount 10% "say \"hi\" \\ bye"')
        assert action.title == 'say "hi" \\ bye'

    def test_newline_and_tab_escapes(self):
        (action,) = actions(r'discount 10% "a\nb\tc"')
        assert action.title == "a\nb\tc"

    def test_unicode_text(self):
        (action,) = actions('discount 10% "Rabatt für Stammkunden 🎉 — 10 %"')
        assert action.title == "Rabatt für Stammkunden 🎉 — 10 %"

    def test_unicode_label_names(self):
        assert rulec.parse("label Kundin_Größe, 顧客 for customer") == (
            LabelDecl((n("Kundin_Größe"), n("顧客")), n("customer")),
        )

    def test_description_escapes(self):
        (rule,) = rulec.parse(
            r'rule "a \"b\"" description "c\\d" on order_created then discount 1% "x" end'
        )
        assert rule.name == 'a "b"'
        assert rule.description == "c\\d"


class TestSpans:
    def test_vip_rule_positions(self):
        (rule,) = rulec.parse(VIP, "vip.rules")
        assert rule.span == Span("vip.rules", 1, 1, 1, len(VIP) + 1)
        assert rule.event.span == Span("vip.rules", 1, 4, 1, 17)
        assert rule.condition.span == Span("vip.rules", 1, 23, 1, 54)
        assert rule.condition.label.span == Span("vip.rules", 1, 42, 1, 54)
        (action,) = rule.actions
        assert action.span.column == col(VIP, "discount")
        assert action.span.end_column == len(VIP) + 1

    def test_every_node_has_a_span_in_the_file(self):
        text = TestBlockRule.TEXT
        lines = text.splitlines()
        for item in rulec.parse(text, "bf.rules"):
            for node in walk(item):
                assert node.span is not None, node
                assert node.span.file == "bf.rules"
                assert 1 <= node.span.line <= node.span.end_line <= len(lines)
                assert node.span.column >= 1

    def test_block_rule_lines(self):
        (rule,) = rulec.parse(TestBlockRule.TEXT)
        assert (rule.span.line, rule.span.column) == (1, 1)
        assert (rule.span.end_line, rule.span.end_column) == (9, 4)
        description, priority, exclusive, window = rule.meta
        assert (description.span.line, description.span.column) == (2, 3)
        assert (priority.span.line, exclusive.span.line, window.span.line) == (3, 4, 5)
        assert (rule.event.span.line, rule.event.span.column) == (6, 6)
        assert (rule.condition.span.line, rule.condition.span.column) == (7, 8)
        compare = rule.condition.operands[1]
        line7 = TestBlockRule.TEXT.splitlines()[6]
        assert (compare.op.span.line, compare.op.span.column) == (7, col(line7, ">="))
        assert compare.op.span.column == 59
        assert (rule.actions[0].span.line, rule.actions[0].span.column) == (8, 8)

    def test_multi_word_field_spans_its_words(self):
        got = condition("customer  order count = 0")
        prefix = "on order_created when "
        assert got.field.entity.span.column == len(prefix) + 1
        assert got.field.field.span.column == len(prefix) + len("customer  ") + 1
        assert got.field.field.span.end_column == len(prefix) + len("customer  order count") + 1

    def test_is_not_operator_points_at_is(self):
        got = condition("order currency is not EUR")
        assert got.op.span.column == len("on order_created when order currency ") + 1

    def test_spans_after_crlf(self):
        text = "label A for customer\r\n"
        text += 'on order_created when customer has label A then discount 1% "x"\r\n'
        _, rule = rulec.parse(text)
        assert (rule.span.line, rule.span.column) == (2, 1)
        assert (rule.condition.span.line, rule.condition.span.column) == (2, 23)

    def test_byte_order_mark_does_not_shift_columns(self):
        (rule,) = rulec.parse("\ufeff" + VIP)
        assert (rule.span.line, rule.span.column) == (1, 1)
        assert rule.event.span.column == 4

    def test_spans_do_not_take_part_in_equality(self):
        a = rulec.parse(VIP)
        b = rulec.parse("\n\n   " + VIP, "other.rules")
        assert a == b
        assert a[0].span != b[0].span
        assert Name("x", span=Span("f", 1, 1, 1, 2)) == Name("x", span=Span("g", 9, 9, 9, 10))
        assert Name("x") == Name("x", span=Span("f", 1, 1, 1, 2))

    def test_spans_do_not_show_in_repr(self):
        (rule,) = rulec.parse(VIP)
        assert "span" not in repr(rule)
        assert "Span(" not in repr(rule)

    def test_span_prints_as_file_line_column(self):
        assert str(Span("vip.rules", 3, 14, 3, 20)) == "vip.rules:3:14"


class TestSyntaxErrors:
    def test_parse_raises_rules_syntax_error(self):
        with pytest.raises(rulec.RulesSyntaxError) as info:
            rulec.parse('on order_created then discount 10 "x"', "bad.rules")
        assert isinstance(info.value, rulec.RulesError)
        (d,) = info.value.diagnostics
        assert d.check_tuple() == ("R104", 1, 35)
        assert str(info.value).startswith("bad.rules:1:35: R104 ")

    @pytest.mark.parametrize(
        ("action", "fix"),
        [
            ('discount 50 on shipping "x"', "write 50% on shipping, or 50.00 EUR on shipping"),
            (
                'discount 2.5 on items with label Socks "x"',
                "write 2.5% on items with label Socks, "
                "or 2.5 EUR per item on items with label Socks",
            ),
        ],
    )
    def test_an_amount_without_its_unit_before_on_says_so(self, action, fix):
        # 'on' was read as the amount's currency: the message is about the amount
        text = f"label Socks for item\non order_created then {action}\n"
        (d,) = [d for d in rulec.check_text(text, "t.rules") if d.severity == "error"]
        assert d.check_tuple() == ("R104", 2, 32)
        assert d.suggestion == fix

    def test_error_message_counts_the_other_errors(self):
        text = 'on order_created then discount 10 "x"\non order_created then discount 10 "y"\n'
        with pytest.raises(rulec.RulesSyntaxError) as info:
            rulec.parse(text)
        assert len(info.value.diagnostics) == 2
        assert "(and 1 more error)" in str(info.value)

    def test_missing_then(self):
        text = 'on order_created when customer has label X discount 10% "x"'
        (d,) = parse_collect(text, "t.rules")[1]
        assert d.check_tuple() == ("R103", 1, col(text, "discount"))
        assert d.severity == "error"
        assert "then" in d.message
        assert d.suggestion == "write 'then' between the conditions and the actions"

    @pytest.mark.parametrize(
        "text",
        [
            'on order_created when order subtotal > 5 discount 10% "x"',
            "on order_created when order currency is EUR add label A to customer",
            'on order_created discount 10% "x"',
            'rule "r"\n  on order_created\n  when customer has label X\n  discount 10% "x"\nend',
        ],
    )
    def test_missing_then_variants(self, text):
        (d,) = parse_collect(text, "t.rules")[1]
        assert d.code == "R103"
        last = text.splitlines()[d.span.line - 1]
        assert last[d.span.column - 1 :].startswith(("discount", "add"))

    def test_missing_percent(self):
        text = 'on order_created then discount 10 "x"'
        (d,) = parse_collect(text)[1]
        assert d.check_tuple()[0] == "R104"
        assert d.span.column == col(text, '"x"')
        assert "%" in d.message

    def test_unquoted_description(self):
        text = "on order_created then discount 10% VIP New Order Discount"
        assert syntax(text) == [("R105", 1, col(text, "VIP"))]

    def test_unquoted_rule_name(self):
        text = 'rule Black on order_created then discount 10% "x" end'
        assert syntax(text) == [("R105", 1, 6)]

    def test_unterminated_string(self):
        text = 'on order_created then discount 10% "VIP\non order_updated then discount 5% "x"'
        assert syntax(text) == [("R106", 1, col(text, '"VIP'))]

    def test_unexpected_end(self):
        text = "on order_created when customer has label X\n"
        ds = parse_collect(text)[1]
        assert [d.check_tuple() for d in ds] == [("R107", 2, 1)]
        assert "'then'" in ds[0].suggestion

    def test_unexpected_end_in_a_block(self):
        text = 'rule "r"\n  on order_created then discount 10% "x"'
        assert syntax(text) == [("R107", 2, 41)]

    def test_bad_escape(self):
        text = r'on order_created then discount 10% "C:\temp\q"'
        ds = parse_collect(text)[1]
        assert [d.check_tuple() for d in ds] == [("R108", 1, col(text, r"\q"))]
        assert r"'\q'" in ds[0].message

    def test_bad_escape_in_a_description(self):
        text = r'rule "r" description "50\%" on order_created then discount 1% "x" end'
        assert syntax(text) == [("R108", 1, col(text, r"\%"))]

    def test_nul_byte(self):
        text = 'on order_created\x00 then discount 10% "x"'
        ds = parse_collect(text)[1]
        assert [d.check_tuple() for d in ds] == [("R101", 1, 17)]
        assert "\\x00" in ds[0].message
        assert "\x00" not in ds[0].message

    def test_dollar(self):
        text = 'on order_created when order subtotal > $50 then discount 10% "x"'
        assert syntax(text) == [("R116", 1, col(text, "$"))]

    def test_generic_syntax_error_says_what_was_expected(self):
        text = 'on order_created when ( customer has label X then discount 10% "x"'
        (d,) = parse_collect(text)[1]
        assert d.check_tuple() == ("R100", 1, col(text, "then"))
        assert d.message == "unexpected 'then'"
        assert d.suggestion == "expected ')'"

    def test_extra_text_after_a_rule(self):
        text = 'on order_created then discount 10% "x" "y"'
        (d,) = parse_collect(text)[1]
        assert d.check_tuple() == ("R100", 1, col(text, '"y"'))

    def test_syntax_diagnostics_carry_the_source_line(self):
        text = 'label A for customer\non order_created then discount 10 "x"\n'
        (d,) = parse_collect(text)[1]
        assert d.source_line == 'on order_created then discount 10 "x"'

    def test_the_source_line_is_the_line_the_parser_counts(self):
        # str.splitlines also splits at \x1e, \x0c, \x85 and U+2028: the line shown was
        # another than the diagnostic's, and differed between a file and a region of it
        text = 'label A for customer # a\x1eb\u2028c\r\non order_created then discount 10 "x"\r\n'
        (d,) = parse_collect(text)[1]
        assert d.check_tuple()[:2] == ("R104", 2)
        assert d.source_line == 'on order_created then discount 10 "x"'
        assert parser_module.source_line(text, 1) == "label A for customer # a\x1eb\u2028c"
        assert parser_module.source_line(text, 3) == ""
        assert parser_module.source_line(text, 4) == ""

    def test_every_diagnostic_of_a_long_file_carries_its_own_line(self):
        # found from the token's offset, not by counting the lines before it for each
        lines = [f'on order_created then discount 1% "bad \\q {i}"' for i in range(3000)]
        text = "\r\n".join(lines) + '\r\non order_created then discount 10 "x"\r\n'
        ds = parse_collect(text)[1]
        assert [d.code for d in ds] == ["R108"] * 3000 + ["R104"]
        assert [d.source_line for d in ds[:3000]] == lines
        assert ds[-1].source_line == 'on order_created then discount 10 "x"'

    def test_errors_in_several_rules_are_all_reported(self):
        text = """\
label A for customer
on order_created when customer has label A discount 10% "x"
on order_created when customer has label A then discount 10% "ok"
on order_created when customer has label B then discount 10% "undeclared"
on order_created then discount 10 "x"
rule "r"
  on order_created then discount 10% VIP
end
on order_craeted then discount 10% "x"
"""
        assert [d.check_tuple() for d in rulec.check_text(text, "t.rules")] == [
            ("R103", 2, 44),  # missing 'then', recognised after the first item too
            ("R210", 4, 42),  # the rules between the broken ones are still checked
            ("R104", 5, 35),
            ("R105", 7, 38),
            ("R201", 9, 4),
        ]

    def test_good_items_between_errors_are_kept(self):
        text = (
            'on order_created then discount 10 "x"\n'
            'on order_updated then discount 5% "kept"\n'
            "on order_created then $\n"
            "label Kept for customer\n"
        )
        items, ds = parse_collect(text)
        assert [d.code for d in ds] == ["R104", "R116"]
        assert [type(i) for i in items] == [Rule, LabelDecl]
        assert items[0].actions[0].title == "kept"

    def test_nul_in_quoted_text(self):
        # PostgreSQL cannot store a NUL: a title with one made every order fail to save
        text = 'rule "a\x00" description "\x00" on order_created then discount 1% "t\\n\x00" end'
        assert syntax(text) == [("R101", 1, 8), ("R101", 1, 24), ("R101", 1, 65)]
        assert "NUL" in rulec.check_text(text)[0].message

    def test_stops_after_twenty_errors(self):
        text = "".join('on order_created then discount 10 "x"\n' for _ in range(30))
        got = syntax(text)
        assert got == [("R104", line, 35) for line in range(1, 21)] + [("R113", 21, 1)]

    def test_syntax_errors_are_sorted_by_position(self):
        text = 'on order_created then discount 10% "\\q"\non order_created then $\n'
        got = syntax(text)
        assert got == sorted(got, key=lambda t: (t[1], t[2]))


class TestMalformedActions:
    """An action whose shape the language does not know (issue 13, bug 9): R214 names
    what the verb takes and suggests the action rewritten from the user's own words."""

    @staticmethod
    def one(text: str) -> rulec.Diagnostic:
        (d,) = parse_collect(text, "t.rules")[1]
        return d

    def test_discount_without_an_amount(self):
        text = 'on order_created then discount cheapest item "3 for 2"'
        d = self.one(text)
        assert d.check_tuple() == ("R214", 1, col(text, "discount"))
        assert (d.span.end_line, d.span.end_column) == (1, len(text) + 1)
        assert d.message == (
            "this 'discount' action has an unknown shape: 'discount' takes a percentage"
            " (10%) or an amount with its currency (5.00 EUR), then a quoted text"
        )
        assert d.suggestion == "write 'discount 10% \"3 for 2\"' or 'discount 5.00 EUR \"3 for 2\"'"

    @pytest.mark.parametrize(
        ("action", "suggestion"),
        [
            ('discount cheapest "3 for 2"', 'discount 10% "3 for 2"'),
            ('discount "3 for 2"', 'discount 10% "3 for 2"'),
            ('discount 10% up 5.00 EUR "x"', 'discount 10% up to 5.00 EUR "x"'),
            ('discount 10% up to 5.00 "x"', 'discount 10% up to 5.00 EUR "x"'),
        ],
    )
    def test_other_discounts(self, action, suggestion):
        text = f"on order_created then {action}"
        d = self.one(text)
        assert d.check_tuple() == ("R214", 1, col(text, "discount"))
        assert "'discount' takes a percentage (10%)" in d.message
        assert d.suggestion.startswith(f"write '{suggestion}'")

    @pytest.mark.parametrize(
        ("action", "takes", "suggestion"),
        [
            ("add label Gold", "'add' takes label NAME to ENTITY", "add label Gold to ENTITY"),
            ("add label Gold customer", "'add' takes label NAME", "add label Gold to customer"),
            ("add Gold to customer", "'add' takes label NAME", "add label Gold to customer"),
            (
                "remove label Gold",
                "'remove' takes label NAME from",
                "remove label Gold from ENTITY",
            ),
            (
                "set order status confirmed",
                "'set' takes ENTITY FIELD to VALUE",
                "set order status to confirmed",
            ),
            (
                'set order note "gift"',
                "'set' takes ENTITY FIELD to VALUE",
                'set order note to "gift"',
            ),
        ],
    )
    def test_label_and_set_actions_say_their_shape(self, action, takes, suggestion):
        # followed by another rule, as in a real file: the error shows on the next line
        text = f'on order_created then {action}\non order_updated then discount 1% "y"\n'
        ds = parse_collect(text, "t.rules")[1]
        assert [d.check_tuple()[:2] for d in ds] == [("R214", 1)]
        assert ds[0].span.column == col(text, action)
        assert takes in ds[0].message
        assert ds[0].suggestion == f"write '{suggestion}'"

    def test_an_unknown_verb_is_named(self):
        text = 'on order_created then discont cheapest item "3 for 2"'
        d = self.one(text)
        assert d.check_tuple() == ("R202", 1, col(text, "discont"))
        assert d.message == "unknown action 'discont'"
        assert d.suggestion == "did you mean 'discount'?"

    def test_a_later_action_of_a_block(self):
        text = (
            'rule "r"\n  on order_created\n  then discount 5% "a"\n'
            '    and discount cheapest item "3 for 2"\nend\n'
        )
        assert syntax(text) == [("R214", 4, 9)]

    def test_a_block_whose_end_was_read_as_a_field_word(self):
        # 'set' reads names up to 'to': the block's 'end' became one, up to the end of the file
        text = 'rule "r"\n  on order_created\n  then set order status confirmed\nend\n'
        (d,) = parse_collect(text)[1]
        assert d.check_tuple() == ("R214", 3, 8)
        assert d.suggestion == "write 'set order status to confirmed'"

    def test_a_field_of_a_hundred_thousand_words_is_not_read_as_an_action(self):
        # past the 'then', the words are read only as far as an action could go
        text = "on order_created then set order status\n" + "word " * 25_000 + '"x"\n'
        assert [c for c, _, _ in syntax(text)] == ["R100"]
        text = "on order_created then set order status\n" + "word " * 10 + '"x"\n'
        assert [c for c, _, _ in syntax(text)] == ["R214"]

    @pytest.mark.parametrize(
        "text",
        [
            'on order_created then discount 10% "x"\non order_updated then discount 10%',
            "on order_created then add label X\n",
            "on order_created then set order status\n",
        ],
    )
    def test_an_action_cut_by_the_end_of_the_file_is_r107(self, text):
        assert [c for c, _, _ in syntax(text)] == ["R107"]

    @pytest.mark.parametrize(
        "text",
        [
            'on order_created then discount 10% "x" "y"',  # a whole action, then stray text
            # a block without its 'end'
            'rule "r" on order_updated then discount 1% "a"\non order_created then discount 9% "b"',
            'on order_created then "x"',  # no verb at all
            'on order_created when ( customer has label X then discount 10% "x"',
        ],
    )
    def test_errors_outside_an_action_keep_their_code(self, text):
        assert [c for c, _, _ in syntax(text)] == ["R100"]

    def test_shape_errors_the_grammar_reads_are_the_checkers(self):
        # a known shape with the wrong verb parses; the checker says what the verb takes
        text = "label Gold for customer\non order_created then discount label Gold to customer"
        assert parse_collect(text)[1] == []
        (d,) = rulec.check_text(text)
        assert d.code == "R214" and "'discount' takes a percentage (10%)" in d.message


class TestLimits:
    @staticmethod
    def rule(cond: str) -> str:
        return f'label X for customer\non order_created when {cond} then discount 10% "x"'

    def test_thirty_two_levels_of_parentheses_are_fine(self):
        assert rulec.check_text(self.rule("(" * 32 + "customer has label X" + ")" * 32)) == []

    def test_thirty_three_levels_of_parentheses_are_too_deep(self):
        cond = "(" * 33 + "customer has label X" + ")" * 33
        assert [d.check_tuple() for d in rulec.check_text(self.rule(cond))] == [("R111", 2, 56)]

    def test_thirty_two_nots_are_fine(self):
        assert rulec.check_text(self.rule("not " * 32 + "customer has label X")) == []

    def test_thirty_three_nots_are_too_deep(self):
        cond = "not " * 33 + "customer has label X"
        (d,) = rulec.check_text(self.rule(cond))
        assert d.check_tuple() == ("R111", 2, 23 + 4 * 32)
        assert "32" in d.message

    def test_five_thousand_parentheses(self):
        cond = "(" * 5000 + "customer has label X" + ")" * 5000
        assert [d.code for d in rulec.check_text(self.rule(cond))] == ["R111"]

    def test_five_thousand_nots(self):
        cond = "not " * 5000 + "customer has label X"
        assert [d.code for d in rulec.check_text(self.rule(cond))] == ["R111"]

    def test_five_thousand_mixed(self):
        cond = "not (" * 2500 + "customer has label X" + ")" * 2500
        assert [d.code for d in rulec.check_text(self.rule(cond))] == ["R111"]

    def test_a_rule_too_deep_does_not_hide_the_others(self):
        deep = "(" * 40 + "customer has label X" + ")" * 40
        text = (
            "label X for customer\n"
            'on order_craeted then discount 1% "y"\n'
            f'on order_created when {deep} then discount 1% "x"\n'
            'on order_created then discount 10 "z"\n'
            'on order_created when customer has label Y then discount 1% "w"\n'
        )
        assert [d.check_tuple() for d in rulec.check_text(text)] == [
            ("R201", 2, 4),
            ("R111", 3, 56),
            ("R104", 4, 35),
            ("R210", 5, 42),  # the declaration on line 1 still counts: no R211
        ]

    def test_unbalanced_parentheses(self):
        text = self.rule("(" * 5000 + "customer has label X")
        assert [d.code for d in rulec.check_text(text)] == ["R100"]

    def test_too_deep_is_a_syntax_error_for_parse(self):
        with pytest.raises(rulec.RulesSyntaxError) as info:
            rulec.parse(self.rule("not " * 100 + "customer has label X"))
        assert info.value.diagnostics[0].code == "R111"

    def test_oversize_bytes(self, monkeypatch):
        monkeypatch.setattr(parser_module, "MAX_FILE_BYTES", 100)
        text, ds = decode_source(b"#" * 101, "big.rules")
        assert text is None
        assert [d.check_tuple() for d in ds] == [("R110", 1, 1)]
        assert "101" in ds[0].message
        assert ds[0].span.file == "big.rules"

    def test_size_limit_is_inclusive(self, monkeypatch):
        monkeypatch.setattr(parser_module, "MAX_FILE_BYTES", 100)
        assert decode_source(b"#" * 100, "ok.rules") == ("#" * 100, [])

    def test_oversize_file_through_source(self, monkeypatch):
        monkeypatch.setattr(parser_module, "MAX_FILE_BYTES", 50)
        source = rulec.Source.from_bytes(VIP.encode(), "big.rules")
        assert source.text is None
        assert [d.code for d in source.diagnostics] == ["R110"]
        analysis = rulec.dsl.sources.analyze([source], rulec.DEFAULT_VOCABULARY)
        assert [d.code for d in analysis.diagnostics] == ["R110"]
        assert not analysis.ok

    def test_oversize_text(self, monkeypatch):
        monkeypatch.setattr(parser_module, "MAX_FILE_BYTES", 50)
        assert [d.check_tuple() for d in rulec.check_text(VIP)] == [("R110", 1, 1)]

    def test_default_size_limit_on_real_bytes(self):
        size = parser_module.MAX_FILE_BYTES + 1
        text, ds = decode_source(b" " * size, "huge.rules")
        assert text is None
        assert [d.code for d in ds] == ["R110"]

    def test_one_megabyte_line_of_garbage(self):
        text = 'on order_created then discount 10% "x" ' + "x" * 1_000_000
        (d,) = rulec.check_text(text)
        assert d.check_tuple() == ("R100", 1, 40)
        assert len(d.message) < 200
        assert len(d.source_line) <= 160

    def test_one_megabyte_of_unexpected_characters(self):
        (d,) = rulec.check_text("@" * 1_000_000)
        assert d.check_tuple() == ("R101", 1, 1)

    @pytest.mark.parametrize("ch", ["$", "\u201c", "\u00a0", "&", "\u2013", "\u2265", "'"])
    def test_one_megabyte_of_pasted_characters(self, ch):
        # the habits (issue 21) read the line of the error: a huge one must not blow up
        (d,) = rulec.check_text("on order_created then discount " + ch * 1_000_000)
        assert d.span.line == 1
        assert len(d.full_message) < 400

    def test_one_megabyte_unterminated_string(self):
        (d,) = rulec.check_text('on order_created then discount 10% "' + "a" * 1_000_000)
        assert d.check_tuple() == ("R106", 1, 36)

    def test_one_megabyte_title_is_fine(self):
        title = "a" * 1_000_000
        (rule,) = rulec.parse(f'on order_created then discount 10% "{title}"')
        assert rule.actions[0].title == title


class TestDecoding:
    def test_invalid_utf8(self):
        data = b'on order_created\nthen discount 10% "ab\xffc"\n'
        source = rulec.Source.from_bytes(data, "latin.rules")
        assert source.text is None
        (d,) = source.diagnostics
        assert d.check_tuple() == ("R102", 2, 22)
        assert "0xff" in d.message
        assert d.span.file == "latin.rules"

    def test_invalid_utf8_column_counts_characters_not_bytes(self):
        data = 'on order_created then discount 10% "éé'.encode() + b'\xe9"\n'
        (d,) = rulec.Source.from_bytes(data, "x.rules").diagnostics
        assert d.check_tuple() == ("R102", 1, len('on order_created then discount 10% "éé') + 1)

    def test_invalid_utf8_on_the_first_byte(self):
        (d,) = rulec.Source.from_bytes(b"\x80abc", "x.rules").diagnostics
        assert d.check_tuple() == ("R102", 1, 1)

    def test_invalid_utf8_after_a_byte_order_mark(self):
        # the BOM was counted as a character: the column was one too far right
        (d,) = rulec.Source.from_bytes(b"\xef\xbb\xbf# ab\xff\n", "x.rules").diagnostics
        assert d.check_tuple() == ("R102", 1, 5)
        assert "offset 7" in d.message  # the offset stays the file's
        (d,) = rulec.Source.from_bytes(b"\xef\xbb\xbf\x80", "x.rules").diagnostics
        assert d.check_tuple() == ("R102", 1, 1)

    def test_truncated_multibyte_sequence_at_the_end(self):
        (d,) = rulec.Source.from_bytes(b"# caf\xc3", "x.rules").diagnostics
        assert d.check_tuple() == ("R102", 1, 6)

    def test_valid_utf8(self):
        text = '# Größe\non order_created then discount 10% "Größe"\n'
        source = rulec.Source.from_bytes(text.encode(), "ok.rules")
        assert source.text == text
        assert source.diagnostics == ()

    def test_utf16_file_is_not_utf8(self):
        source = rulec.Source.from_bytes(VIP.encode("utf-16"), "u16.rules")
        assert [d.code for d in source.diagnostics] == ["R102"]
