"""Deep lint (issue 14): each code on a bad file and not on its fix, and the soundness
of every example order: the engine, run again here on the example, does what the
diagnostic says (over the shipped rules, the corpus and generated rule sets)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rulec
from rulec.dsl.diagnostics import Diagnostic
from rulec.dsl.sources import Analysis, Source, analyze
from rulec.engine.core.decide import decide
from rulec.engine.core.ruleset import RuleSet
from rulec.tools.deeplint import Finding, deep_lint, examples, with_deep_lint

CORPUS = Path(__file__).resolve().parents[1] / "data" / "deeplint"
DAY = date(2026, 12, 1)
MOMENT = datetime(2026, 12, 1, tzinfo=UTC)
V = rulec.DEFAULT_VOCABULARY


def analysis_of(text: str, path: str = "t.rules") -> Analysis:
    return analyze([Source.from_text(text, path)], V)


def lint(text: str, path: str = "t.rules", **kw: Any) -> list[Diagnostic]:
    return deep_lint(analysis_of(text, path), V, as_of=kw.pop("as_of", DAY), **kw)


def corpus(name: str) -> Analysis:
    return rulec.analyze_paths([CORPUS / name])


# (file, [(code, line, words the message must hold)])
BAD = [
    (
        "shadowed-exclusive",
        [
            (
                "R320",
                12,
                "rule 'Spring' can never win: whenever it applies, the exclusive rule 'VIP' "
                "(line 4) applies too and takes every other discount's place; e.g. an order with "
                "customer labels Customer_VIP, subtotal 120.00 EUR: 'VIP' applies and 'Spring' "
                "loses to it",
            )
        ],
    ),
    (
        "shadowed-better",
        [
            (
                "R320",
                5,
                "rule 'shadowed-better.bad.rules:5' can never win: whenever it applies, rule "
                "'shadowed-better.bad.rules:4' applies too and always gives at least as much; "
                "e.g. an order with customer labels Gold, customer order count 3, subtotal "
                "100.00 EUR: 'shadowed-better.bad.rules:4' applies",
            )
        ],
    ),
    (
        "conflict-status",
        [
            (
                "R321",
                5,
                "both set the order status, to confirmed and to pending, at the same priority 0: "
                "the first one written wins; e.g. an order with order created by agent true, "
                "order labels Rush, subtotal 100.00 EUR: 'conflict-status.bad.rules:4' sets it "
                "to confirmed",
            )
        ],
    ),
    (
        "conflict-exclusive",
        [
            (
                "R321",
                5,
                "rules 'VIP' (line 4) and 'Big order' are both exclusive at priority 0 and both "
                "apply to some orders: the first one written wins; e.g. an order with customer "
                "labels Customer_VIP, subtotal 500.01 EUR: 'VIP' applies and 'Big order' loses",
            )
        ],
    ),
    (
        "conflict-visibility",
        [
            (
                "R321",
                5,
                "one hiding and one showing: hide wins; e.g. a price with price labels "
                "Agent_Only, Season_2026, viewer role agent, viewer wedding year 2027: "
                "'conflict-visibility.bad.rules:4' hides it",
            )
        ],
    ),
    (
        "listing-overruled",
        [
            (
                "R320",
                6,
                "rule 'listing-overruled.bad.rules:6' can never decide: whenever it applies, rule "
                "'hide agent prices' (line 5) applies too and decides first (at a higher "
                "priority); e.g. a price with price labels Agent_Only",
            )
        ],
    ),
    (
        "window-closed",
        [
            (
                "R322",
                3,
                "the validity window ('until 2025-12-01 Europe/Paris') has closed (as of "
                "2026-12-01): this rule no longer applies to any order",
            )
        ],
    ),
    (
        "labels",
        [("R323", 3, "label 'Customer_Gold' is declared for customer but no rule uses it")],
    ),
]


class TestCorpus:
    @pytest.mark.parametrize(("name", "expected"), BAD, ids=[b[0] for b in BAD])
    def test_the_bad_file_gets_its_code_line_and_example(self, name, expected) -> None:
        found = deep_lint(corpus(f"{name}.bad.rules"), V, as_of=DAY)
        assert [(d.code, d.span.line) for d in found] == [(c, n) for c, n, _ in expected]
        for d, (_, _, words) in zip(found, expected, strict=True):
            assert words in d.message, d.message
            assert d.severity == "warning"

    @pytest.mark.parametrize("name", [b[0] for b in BAD])
    def test_the_fixed_file_is_clean(self, name) -> None:
        fixed = corpus(f"{name}.fixed.rules")
        assert fixed.diagnostics == ()
        assert deep_lint(fixed, V, as_of=DAY) == []

    def test_the_shipped_rules_are_clean_today_and_on_the_day(self) -> None:
        shipped = rulec.analyze_paths([rulec.shipped_rules()])
        assert with_deep_lint(shipped, V) == []
        assert with_deep_lint(shipped, V, as_of=DAY) == []

    def test_rules_with_errors_get_no_deep_lint(self) -> None:
        text = (CORPUS / "shadowed-exclusive.bad.rules").read_text() + "on order_craeted then x\n"
        assert lint(text) == []

    def test_a_load_never_runs_deep_lint(self) -> None:
        text = (CORPUS / "shadowed-exclusive.bad.rules").read_text()
        assert len(rulec.load_text(text)) == 2
        assert [d.code for d in rulec.check_text(text)] == []


class TestWindows:
    RULE = (
        'rule "May"\n  from 2026-05-01 until 2026-06-01\n  on order_created\n'
        '  then discount 5% "May"\nend\n'
    )

    @pytest.mark.parametrize(
        ("day", "codes"),
        [(date(2026, 6, 1), []), (date(2026, 6, 2), ["R322"]), (date(2027, 1, 1), ["R322"])],
    )
    def test_judged_at_the_day_given(self, day, codes) -> None:
        assert [d.code for d in lint(self.RULE, as_of=day)] == codes

    def test_a_window_still_to_open_is_not_reported(self) -> None:
        assert lint(self.RULE, as_of=date(2026, 1, 1)) == []

    def test_a_closed_rule_shadows_nothing(self) -> None:
        text = (
            'rule "Old" exclusive from 2025-01-01 until 2025-02-01 on order_created '
            'then discount 20% "Old" end\n'
            'on order_created then discount 5% "Five"\n'
        )
        assert [d.code for d in lint(text)] == ["R322"]

    NEVER = (
        'rule "Black Friday" from 2026-11-27 until 2026-11-30 Europe/Paris on order_created\n'
        '  when order created < 2026-11-01 then discount 20% "bf" end\n'
        'rule "After" from 2026-11-27 until 2026-11-30 on order_created\n'
        '  when order created at > 2026-11-30 then discount 20% "after" end\n'
        'rule "Inside" from 2026-11-27 until 2026-11-30 on order_created\n'
        '  when order created >= 2026-11-30 then discount 20% "inside" end\n'
        'rule "Late" from 2026-11-27 10:00 until 2026-11-30 10:00 on order_created\n'
        '  when order created >= 2026-11-30 10:00 then discount 20% "late" end\n'
    )

    def test_a_window_that_never_opens_for_the_orders_tested(self) -> None:
        got = [(d.code, d.span.line) for d in lint(self.NEVER, as_of=date(2026, 11, 1))]
        assert got == [("R322", 1), ("R322", 3), ("R322", 7)]
        assert "never opens" in lint(self.NEVER, as_of=date(2026, 11, 1))[0].message

    def test_the_engine_agrees(self) -> None:
        # the rules reported never apply; the others apply to some order
        rules = rulec.load_text(self.NEVER)
        instants = [
            datetime(2026, 10, 31, 22, tzinfo=UTC),
            *(
                datetime(2026, 11, d, h, m, tzinfo=UTC)
                for d in range(26, 31)
                for h in (0, 9, 10, 23)
                for m in (0, 59)
            ),
            datetime(2026, 12, 1, tzinfo=UTC),
        ]
        applied: set[str] = set()
        for when in instants:
            facts = {
                "order.subtotal": Decimal("10.00"),
                "order.currency": "EUR",
                "order.created_at": when,
            }
            applied.update(x.rule for x in rules.evaluate("order_created", facts).applied)
        assert applied == {"Inside"}  # "Late" asks for 10:00 on the 30th on, when it closes


class TestLabels:
    def test_a_label_used_only_in_an_action_or_as_a_value_is_used(self) -> None:
        text = (
            "label Welcomed, Customer_VIP for customer\n"
            "on customer_labeled when label is Customer_VIP then add label Welcomed to customer\n"
        )
        assert lint(text) == []

    def test_each_unused_label_once_at_its_declaration(self) -> None:
        text = (
            "label A, B for customer\nlabel C for order\n"
            'on order_created when customer has label A then discount 1% "x"\n'
        )
        got = [(d.code, d.span.line, d.span.column, d.message) for d in lint(text)]
        assert got == [
            ("R323", 1, 10, "label 'B' is declared for customer but no rule uses it"),
            ("R323", 2, 7, "label 'C' is declared for order but no rule uses it"),
        ]

    def test_an_overruled_listing_rule_never_decides(self) -> None:
        rules = rulec.load_paths([CORPUS / "listing-overruled.bad.rules"])
        loser = rules.rules[1].name
        for labels, role in product([(), ("Agent_Only",)], ["agent", "customer"]):
            facts = {"price.labels": frozenset(labels), "viewer.role": role}
            d = decide(rules, "price_listed", facts, now=MOMENT)
            assert d.verdict is not None and d.verdict.rule != loser


class TestLimits:
    def test_the_pair_cap_says_where_it_stopped(self) -> None:
        found = deep_lint(corpus("shadowed-exclusive.bad.rules"), V, as_of=DAY, max_pairs=0)
        assert [(d.code, d.span.line) for d in found] == [("R326", 4)]
        assert "limits (0 rule pairs proved" in found[0].message

    def test_the_example_cap_reports_nothing_unconfirmed(self) -> None:
        found = deep_lint(corpus("shadowed-exclusive.bad.rules"), V, as_of=DAY, max_confirm=1)
        assert [(d.code, d.span.line) for d in found] == [("R326", 12)]
        assert "1 rules that may never win or may conflict" in found[0].message


# -------------------------------------------------------------- soundness --


def held(rule_set: RuleSet, f: Finding) -> None:
    """The engine, run again on the example, does what the finding says."""
    p = f.pair
    a, b = p.winner.name, p.loser.name
    when = f.facts.get("order.created_at") or MOMENT
    d = decide(rule_set, p.event, f.facts, now=when, all_rules=True)
    assert b in d.matched and a in d.matched, (p, f.facts)
    if p.kind == "overruled":
        assert d.verdict is not None and d.verdict.rule == f.beaten_by != b
        assert f.beaten_by in d.matched
    elif p.kind == "visibility":
        assert d.verdict is not None and d.verdict.rule == a and not d.verdict.shown
    elif p.kind == "setting":
        entity, _, name = p.what.partition(".")
        (change,) = [c for c in d.field_changes if (c.entity, c.field) == (entity, name)]
        assert change.rule == a
        assert any(x.rule == b and "is set by" in x.reason for x in d.lost)
    else:
        applied = [x.rule for x in d.applied]
        winner = f.beaten_by
        assert winner == a or p.code == "R320"  # an R320 loser may lose to a third rule
        assert winner in applied and b not in applied, (p, f.facts, d)
        assert any(x.rule == b and f"'{winner}'" in x.reason for x in d.lost)


ORDERS = [
    {
        "customer.labels": frozenset(labels),
        "order.subtotal": subtotal,
        "order.currency": currency,
        "customer.order_count": count,
        "order.created_at": MOMENT,
    }
    for labels, subtotal, currency, count in product(
        [(), ("A",), ("B",), ("A", "B"), ("A", "C"), ("A", "B", "C")],
        [Decimal("10.00"), Decimal("60.00"), Decimal("150.00")],
        ["EUR", "USD"],
        [0, 3],
    )
]


LISTED = [
    {"price.labels": frozenset(labels), "viewer.role": role, "viewer.wedding_year": year}
    for labels, role, year in product(
        [(), ("P1",), ("P2",), ("P1", "P2")], ["agent", "customer"], [2026, 2027]
    )
]


def never_wins(rule_set: RuleSet, f: Finding) -> None:
    """No order of a small grid gives an R320 loser's discount."""
    b = f.loser
    if f.pair.kind == "overruled":
        for listed in LISTED:
            d = decide(rule_set, f.pair.event, listed, now=MOMENT)
            assert d.verdict is not None and d.verdict.rule != b.name, (f.pair, listed)
        return
    for order in ORDERS:
        d = decide(rule_set, f.pair.event, order, now=MOMENT)
        assert b.name not in [x.rule for x in d.applied], (f.pair, order)


def sound(analysis: Analysis) -> list[Finding]:
    rule_set, found = examples(analysis, V, as_of=DAY)
    for f in found:
        held(rule_set, f)
        if f.pair.code == "R320":
            never_wins(rule_set, f)
    return found


class TestSoundness:
    def test_every_corpus_example_holds(self) -> None:
        kinds = []
        for path in sorted(CORPUS.glob("*.rules")):
            kinds += [f.pair.kind for f in sound(rulec.analyze_paths([path]))]
        assert sorted(kinds) == [
            "better",
            "both-exclusive",
            "exclusive",
            "overruled",
            "setting",
            "visibility",
        ]

    def test_the_shipped_rules_have_none(self) -> None:
        assert sound(rulec.analyze_paths([rulec.shipped_rules()])) == []

    @settings(max_examples=120, deadline=None, database=None)
    @given(st.data())
    def test_every_example_over_generated_rule_sets_holds(self, data) -> None:
        text = data.draw(rule_sets())
        analysis = analysis_of(text)
        assert analysis.ok, (analysis.diagnostics, text)
        sound(analysis)
        lint(text)  # and the diagnostics can be written for every finding

    @settings(max_examples=80, deadline=None, database=None)
    @given(st.data())
    def test_every_example_over_generated_listing_rules_holds(self, data) -> None:
        text = data.draw(listing_sets())
        analysis = analysis_of(text)
        assert analysis.ok, (analysis.diagnostics, text)
        sound(analysis)
        lint(text)


CONDITIONS = [
    None,
    "customer has label A",
    "customer has label A and order subtotal >= 50.00",
    "customer has label A and customer order count > 2",
    "customer has any label of A, B",
    "customer has label B and customer lacks label C",
    "order subtotal > 100.00",
    "customer order count > 2 or customer has label B",
    "order currency is USD and customer has label A",
    "not (customer has label C)",
]
ACTIONS = [
    'discount 5% "five"',
    'discount 10% "ten"',
    'discount 20% up to 10.00 EUR "capped"',
    'discount 5.00 EUR "fixed"',
    'discount 3.00 USD "fixed usd"',
    "set order status to confirmed",
    "set order status to pending",
    'discount 10% "ten", set order status to confirmed',
]


@st.composite
def rule_sets(draw: st.DrawFn) -> str:
    out = ["label A, B, C for customer"]
    for n in range(draw(st.integers(2, 6))):
        cond = draw(st.sampled_from(CONDITIONS))
        when = f" when {cond}" if cond else ""
        action = draw(st.sampled_from(ACTIONS))
        meta = [f"priority {draw(st.sampled_from([0, 0, 5]))}"]
        meta += [s for s in [draw(st.sampled_from(["", "exclusive", "combinable"]))] if s]
        window = draw(st.sampled_from(["", "from 2026-01-01 until 2027-01-01", "from 2026-11-01"]))
        meta += [window] if window else []
        event = draw(st.sampled_from(["order_created", "order_created", "order_updated"]))
        out.append(f'rule "r{n}" {" ".join(meta)} on {event}{when} then {action} end')
    return "\n".join(out) + "\n"


LISTING_CONDITIONS = [
    None,
    "price has label P1",
    "price has label P1 and viewer role is agent",
    "viewer role is not agent",
    "price has any label of P1, P2",
    "price has label P2 and viewer wedding year != 2026",
]


@st.composite
def listing_sets(draw: st.DrawFn) -> str:
    out = ["label P1, P2 for price"]
    for n in range(draw(st.integers(2, 5))):
        cond = draw(st.sampled_from(LISTING_CONDITIONS))
        when = f" when {cond}" if cond else ""
        action = draw(st.sampled_from(["hide price", "show price"]))
        priority = draw(st.sampled_from([0, 0, 5]))
        out.append(f'rule "l{n}" priority {priority} on price_listed{when} then {action} end')
    return "\n".join(out) + "\n"


class TestCouponFamilies:
    def test_an_exclusive_family_rule_shadows_a_narrower_one_with_an_example_code(self) -> None:
        text = (
            'coupon family Partner is "PARTNER-*", "FRIENDS"\n'
            'rule "A" priority 10 exclusive on order_created\n'
            '  when order has coupon in Partner then discount 20% "A" end\n'
            'rule "B" on order_created\n'
            '  when order has coupon in Partner and order subtotal > 10.00 then discount 10% "B"\n'
            "end\n"
        )
        (d,) = lint(text)
        assert (d.code, d.span.line) == ("R320", 4)
        assert "order coupons (FRIENDS)" in d.message  # an order the engine decided so
