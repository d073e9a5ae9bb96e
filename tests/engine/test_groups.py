"""Stacking groups in the discount policy: the best of each group, groups stacked,
each group's percentages on the base its declaration states, whatever the order
of the files and rules (issue 15)."""

import random
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

import rulec
from rulec.engine.core.cache import load_sources
from rulec.engine.core.stacking import group_order

HEAD = "label VIP for customer\n"


def block(name, then, *meta):
    settings_ = "".join(f"  {m}\n" for m in meta)
    return f'rule "{name}"\n{settings_}  on order_created then {then}\nend\n'


def _load(sources):
    return load_sources(sources, rulec.DEFAULT_VOCABULARY)


def decide(rs, subtotal="100.00", items=None):
    order = {"subtotal": Decimal(subtotal), "currency": "EUR"}
    facts = {"customer": {"labels": {"VIP"}}, "order": order}
    if items is not None:
        facts["item"] = items
    return rs.evaluate("order_created", facts)


LOYALTY = HEAD + "group Loyalty\ngroup Seasonal after Loyalty\n"
RULES = [
    block("Loyal 10", 'discount 10% "Loyal 10"', "in group Loyalty"),
    block("Loyal 5", 'discount 5% "Loyal 5"', "in group Loyalty"),
    block("Season 20", 'discount 20% "Season 20"', "in group Seasonal"),
    block("Plain", 'discount 3.00 EUR "Plain"'),
]


def applied(d):
    return [(a.rule, a.amount, a.group, a.base) for a in d.applied]


class TestPolicy:
    def test_best_of_each_group_and_groups_stack_on_their_base(self):
        d = decide(_load([rulec.Source("p.rules", LOYALTY + "".join(RULES))]))
        assert applied(d) == [
            ("Plain", Decimal("3.00"), None, None),
            ("Loyal 10", Decimal("10.00"), "Loyalty", None),
            # 20% of what Loyalty leaves: 100.00 - 10.00
            ("Season 20", Decimal("18.00"), "Seasonal", Decimal("90.00")),
        ]
        assert [(x.rule, x.reason) for x in d.lost] == [
            ("Loyal 5", "a better discount in group 'Loyalty' applied: 'Loyal 10'")
        ]
        assert (d.discount_amount, d.total_amount) == (Decimal("31.00"), Decimal("69.00"))
        # 10% + 20% of a smaller base is not 30%: no single percentage is shown
        assert d.discount_percentage is None

    def test_groups_on_the_subtotal_add_up_their_percentages(self):
        text = HEAD + "group A\ngroup B\n"
        text += block("a", 'discount 10% "a"', "in group A")
        text += block("b", 'discount 15% "b"', "in group B")
        d = decide(_load([rulec.Source("p.rules", text)]))
        assert [(a.group, a.base, a.amount) for a in d.applied] == [
            ("A", None, Decimal("10.00")),
            ("B", None, Decimal("15.00")),
        ]
        assert d.discount_percentage == Decimal("25")

    def test_a_group_is_after_the_groups_its_groups_come_after(self):
        text = HEAD + "group C after B\ngroup B after A\ngroup A\n"
        text += block("c", 'discount 50% "c"', "in group C")
        text += block("b", 'discount 50% "b"', "in group B")
        text += block("a", 'discount 50% "a"', "in group A")
        d = decide(_load([rulec.Source("p.rules", text)]))
        # A: 50% of 100 = 50; B: 50% of 50 = 25; C: 50% of (100 - 50 - 25) = 12.50
        assert [(a.rule, a.amount, a.base) for a in d.applied] == [
            ("a", Decimal("50.00"), None),
            ("b", Decimal("25.00"), Decimal("50.00")),
            ("c", Decimal("12.50"), Decimal("25.00")),
        ]
        assert d.total_amount == Decimal("12.50")

    def test_combinable_members_stack_on_their_groups_winner(self):
        text = HEAD + "group Loyalty\n"
        text += block("big", 'discount 10% "big"', "in group Loyalty")
        text += block("small", 'discount 5% "small"', "in group Loyalty")
        text += block("extra", 'discount 2.00 EUR "extra"', "in group Loyalty", "combinable")
        d = decide(_load([rulec.Source("p.rules", text)]))
        assert [a.rule for a in d.applied] == ["big", "extra"]
        assert [x.rule for x in d.lost] == ["small"]

    def test_an_exclusive_rule_still_applies_alone(self):
        text = LOYALTY + "".join(RULES)
        text += block("Half", 'discount 50% "Half"', "exclusive")
        d = decide(_load([rulec.Source("p.rules", text)]))
        assert [a.rule for a in d.applied] == ["Half"]
        assert {x.reason for x in d.lost} == {"exclusive rule 'Half' applied"}

    def test_the_total_is_never_below_zero_the_last_applied_is_reduced(self):
        text = HEAD + "group A\ngroup B\n"
        text += block("a", 'discount 70.00 EUR "a"', "in group A")
        text += block("b", 'discount 60.00 EUR "b"', "in group B")
        d = decide(_load([rulec.Source("p.rules", text)]))
        assert [(a.rule, a.amount, a.capped) for a in d.applied] == [
            ("a", Decimal("70.00"), False),
            ("b", Decimal("30.00"), True),
        ]
        assert d.total_amount == Decimal("0.00")

    def test_a_base_used_up_gives_nothing_off(self):
        text = HEAD + "group A\ngroup B after A\n"
        text += block("a", 'discount 120.00 EUR "a"', "in group A")
        text += block("b", 'discount 10% "b"', "in group B")
        d = decide(_load([rulec.Source("p.rules", text)]))
        assert [(a.rule, a.amount) for a in d.applied] == [("a", Decimal("100.00"))]
        assert [(x.rule, x.reason) for x in d.lost] == [("b", "the order is already free")]

    def test_tiers_of_a_group_after_others_are_judged_on_its_base(self):
        text = HEAD + "group A\ngroup B after A\n"
        text += block("a", 'discount 10% "a"', "in group A")
        text += block("t", 'discount 5.00 EUR from 100.00 EUR "t"', "in group B")
        d = decide(_load([rulec.Source("p.rules", text)]))
        assert [a.rule for a in d.applied] == ["a"]
        (lost,) = d.lost
        assert lost.rule == "t"
        assert lost.reason == (
            "no discount applies: its group's base 90.00 EUR is below its lowest tier, from 100.00"
        )

    def test_discounts_on_lines_are_on_the_lines_own_prices(self):
        text = "label Clearance for item\ngroup A\ngroup B after A\n"
        text += block("a", 'discount 10% "a"', "in group A")
        text += block("b", 'discount 50% on items with label Clearance "b"', "in group B")
        items = [
            {"quantity": 1, "unit_price": Decimal("60.00"), "labels": {"Clearance"}},
            {"quantity": 1, "unit_price": Decimal("40.00"), "labels": set()},
        ]
        d = decide(_load([rulec.Source("p.rules", text)]), items=items)
        assert [(a.rule, a.amount, a.base) for a in d.applied] == [
            ("a", Decimal("10.00"), None),
            ("b", Decimal("30.00"), None),
        ]
        assert sum(d.line_discounts) == d.discount_amount == Decimal("40.00")

    def test_rules_in_no_group_behave_as_before(self):
        text = HEAD + block("x", 'discount 10% "x"') + block("y", 'discount 5% "y"')
        text += block("z", 'discount 1.00 EUR "z"', "combinable")
        d = decide(_load([rulec.Source("p.rules", text)]))
        assert [(a.rule, a.group) for a in d.applied] == [("x", None), ("z", None)]
        assert [(x.rule, x.reason) for x in d.lost] == [("y", "a better discount applied: 'x'")]


class TestOrderDoesNotMatter:
    def test_files_declarations_and_rules_in_any_order_decide_alike(self):
        decls = ["group Loyalty\n", "group Seasonal after Loyalty\n", "group Clearance\n"]
        rules = [
            *RULES,
            block("Clear 7", 'discount 7% "Clear 7"', "in group Clearance"),
            block("Clear 2", 'discount 2.00 EUR "Clear 2"', "in group Clearance", "combinable"),
        ]
        first = None
        rng = random.Random(15)
        for _ in range(12):
            parts = decls + rules
            rng.shuffle(parts)
            cut = rng.randint(1, len(parts) - 1)
            files = [HEAD + "".join(parts[:cut]), "".join(parts[cut:])]
            if rng.random() < 0.5:
                files.reverse()
            rs = _load([rulec.Source(f"{n}.rules", t) for n, t in enumerate(files)])
            d = decide(rs)
            got = (sorted(applied(d)), d.discount_amount, d.total_amount)
            if first is None:
                first = got
            assert got == first
        assert first[1] == Decimal("40.00")  # 3 + 10 + 18 + 7 + 2

    def test_group_order_is_by_dependency_then_name(self):
        assert group_order({"Z": (), "B": ("Z",), "A": ()}) == ["A", "Z", "B"]
        assert group_order({"C": ("A", "B"), "B": ("A",), "A": ()}) == ["A", "B", "C"]


class TestCache:
    def test_a_cached_rule_set_keeps_its_groups(self, tmp_path):
        sources = [rulec.Source("p.rules", LOYALTY + "".join(RULES))]
        cold = load_sources(sources, rulec.DEFAULT_VOCABULARY, tmp_path)
        warm = load_sources(sources, rulec.DEFAULT_VOCABULARY, tmp_path)
        assert list(tmp_path.iterdir())
        assert [(r.group, r.after) for r in warm.rules] == [(r.group, r.after) for r in cold.rules]
        assert [(r.name, r.group, r.after) for r in warm.rules][2] == (
            "Season 20",
            "Seasonal",
            ("Loyalty",),
        )
        assert decide(warm) == decide(cold)


# ---- a property: the policy against an independent computation of it ---------------

CENT = Decimal("0.01")


def expected(subtotal, groups, offers):
    """The discount amount, worked out on its own: ``groups`` maps each group to the
    groups it comes after directly; ``offers`` are ``(group, percent or None, amount
    or None, combinable)``, in rule order."""

    def closure(g):
        seen, todo = set(), list(groups[g])
        while todo:
            x = todo.pop()
            if x not in seen:
                seen.add(x)
                todo.extend(groups[x])
        return seen

    def amount(o, base):
        _, pct, fixed, _ = o
        if pct is not None:
            return (base * pct / 100).quantize(CENT, ROUND_HALF_UP)
        return fixed

    def best(members, base):
        plain = [amount(o, base) for o in members if not o[3]]
        extra = [amount(o, base) for o in members if o[3]]
        return (max(plain) if plain else Decimal(0)) + sum(extra, Decimal(0))

    total = best([o for o in offers if o[0] is None], subtotal)
    taken = {}
    done = set()
    while len(done) < len(groups):
        for g in sorted(groups):
            if g in done or not set(groups[g]) <= done:
                continue
            base = max(subtotal - sum((taken[a] for a in closure(g)), Decimal(0)), Decimal(0))
            taken[g] = best([o for o in offers if o[0] == g], base)
            done.add(g)
            break
    total += sum(taken.values(), Decimal(0))
    return min(total, subtotal)


@st.composite
def rule_sets(draw):
    n = draw(st.integers(0, 4))
    names = [f"G{i}" for i in range(n)]
    groups = {
        g: tuple(sorted(draw(st.sets(st.sampled_from(names[:i]))))) if i else ()
        for i, g in enumerate(names)
    }
    offers = draw(
        st.lists(
            st.tuples(
                st.sampled_from([None, *names]),
                st.one_of(st.none(), st.integers(1, 100).map(Decimal)),
                st.integers(1, 150).map(lambda c: Decimal(c)),
                st.booleans(),
            ),
            min_size=1,
            max_size=8,
        )
    )
    offers = [(g, p, None if p is not None else a, c) for g, p, a, c in offers]
    subtotal = draw(st.integers(0, 30000).map(lambda c: Decimal(c) / 100))
    return groups, offers, subtotal, draw(st.randoms(use_true_random=False))


@settings(max_examples=60, deadline=None)
@given(rule_sets())
def test_the_policy_is_an_independent_computation_whatever_the_order(drawn):
    groups, offers, subtotal, rng = drawn
    decls = [
        f"group {g}" + (f" after {', '.join(a)}" if a else "") + "\n" for g, a in groups.items()
    ]
    blocks = []
    for n, (g, pct, fixed, comb) in enumerate(offers):
        then = f'discount {pct}% "r{n}"' if pct is not None else f'discount {fixed} EUR "r{n}"'
        meta = ([f"in group {g}"] if g else []) + (["combinable"] if comb else [])
        blocks.append(block(f"r{n}", then, *meta))
    want = expected(subtotal, groups, offers)
    seen = set()
    for _ in range(2):
        parts = decls + blocks
        rng.shuffle(parts)
        rs = _load([rulec.Source("p.rules", HEAD + "".join(parts))])
        d = decide(rs, str(subtotal))
        assert d.discount_amount == want
        assert d.total_amount == subtotal - want >= 0
        seen.add((d.discount_amount, d.total_amount))
    assert len(seen) == 1
