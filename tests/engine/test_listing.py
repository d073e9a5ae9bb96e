"""Listings: show / hide rules decided for a whole list, pure and from the database."""

import pathlib
import re
from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest
from sqlalchemy import event, select

import rulec
from rulec.dsl.diagnostics import RuleRuntimeError
from rulec.engine.core.errors import FactTypeError, UnknownFactError
from rulec.engine.core.facts import Facts
from rulec.engine.core.listing import verdicts, visible
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db import listing
from rulec.engine.db.listing import explain_listing, list_visible
from rulec.storage.models import Agent, Customer, Label, Order, Price

SEASON = (
    "label Season_2027 for price\n"
    "label Agent_Only for price\n"
    "on price_listed when price has label Season_2027 and viewer wedding year != 2027"
    " then hide price\n"
    "on price_listed when price has label Agent_Only and viewer is_agent is false"
    " then hide price\n"
)

COUPLE_2027 = {"viewer": {"is_agent": False, "wedding_year": 2027}}
COUPLE_2026 = {"viewer": {"is_agent": False, "wedding_year": 2026}}
AGENT = {"viewer": {"is_agent": True, "wedding_year": None}}


def price(*labels, amount="100.00", year=None):
    return {"price": {"labels": set(labels), "amount": Decimal(amount), "year": year}}


PRICES = [price(), price("Season_2027"), price("Agent_Only"), price("Season_2027", "Agent_Only")]


def load(text):
    return rulec.load_text(text, "listing.rules")


class TestExamples:
    def test_season_prices_only_for_weddings_that_year(self):
        rules = load(SEASON)
        assert visible(rules, "price_listed", COUPLE_2027, PRICES) == [True, True, False, False]
        assert visible(rules, "price_listed", COUPLE_2026, PRICES) == [True, False, False, False]

    def test_agent_only_prices(self):
        rules = load(SEASON)
        agent_2027 = {"viewer": {"is_agent": True, "wedding_year": 2027}}
        assert visible(rules, "price_listed", agent_2027, PRICES) == [True, True, True, True]
        # an agent choosing for 2026 still does not see 2027's season
        agent_2026 = {"viewer": {"is_agent": True, "wedding_year": 2026}}
        assert visible(rules, "price_listed", agent_2026, PRICES) == [True, False, True, False]

    def test_reasons_name_the_rule(self):
        [plain, season, agent, both] = verdicts(load(SEASON), "price_listed", COUPLE_2026, PRICES)
        assert plain.reason == "shown: no rule decides" and plain.rule is None
        assert season.reason == "hidden by the rule at listing.rules:3"
        assert (agent.shown, agent.rule, agent.line) == (False, "listing.rules:4", 4)
        assert both.rule == "listing.rules:3"  # same priority: the first in source order

    def test_flat_facts_and_field_conditions(self):
        rules = load('rule "Cheap" on price_listed when price amount < 10.00 then hide price end\n')
        flat = [{"price.amount": Decimal("9.99")}, {"price.amount": Decimal("10.00")}]
        assert visible(rules, "price_listed", {"viewer.is_agent": False}, flat) == [False, True]
        [v, _] = verdicts(rules, "price_listed", {}, flat)
        assert v.reason == "hidden by rule 'Cheap' (listing.rules:1)"


class TestDecision:
    def test_no_rule_decides_the_candidate_is_shown(self):
        assert visible(load(""), "price_listed", COUPLE_2026, PRICES) == [True] * 4
        other_events = load(
            'label Customer_VIP for customer\non order_created then discount 5% "Five"\n'
            "on item_listed then hide item\n"
        )
        assert visible(other_events, "price_listed", COUPLE_2026, PRICES) == [True] * 4
        assert visible(other_events, "item_listed", COUPLE_2026, [{}, {}]) == [False, False]

    def test_the_highest_priority_decides(self):
        rules = load(
            SEASON + 'rule "Preview" priority 5 on price_listed when price has label Season_2027'
            " and viewer is_agent is true then show price end\n"
        )
        agent_2026 = {"viewer": {"is_agent": True, "wedding_year": 2026}}
        found = verdicts(rules, "price_listed", agent_2026, PRICES)
        assert [v.shown for v in found] == [True, True, True, True]
        assert found[1].reason == "shown by rule 'Preview' (listing.rules:5)"
        # a low-priority show never beats a default-priority hide
        low = load(SEASON + 'rule "Low" priority -1 on price_listed then show price end\n')
        assert visible(low, "price_listed", COUPLE_2026, PRICES) == [True, False, False, False]

    @pytest.mark.parametrize("hide_first", [True, False])
    def test_at_equal_priority_hide_wins(self, hide_first):
        show = 'rule "Show" priority 3 on price_listed then show price end\n'
        hide = 'rule "Hide" priority 3 on price_listed when price year = 2027 then hide price end\n'
        rules = load(hide + show if hide_first else show + hide)
        found = verdicts(rules, "price_listed", {}, [price(year=2027), price(year=2026)])
        assert [(v.shown, v.rule) for v in found] == [(False, "Hide"), (True, "Show")]

    def test_a_rule_with_both_actions_hides(self):
        rules = load("on price_listed then show price, hide price\n")
        assert visible(rules, "price_listed", {}, [price()]) == [False]

    def test_disabled_rules_do_not_decide(self):
        rules = load('rule "Off" disabled on price_listed then hide price end\n')
        assert visible(rules, "price_listed", {}, [price()]) == [True]


class TestWindows:
    RULES = (
        'rule "January" from 2027-01-01 until 2027-02-01 on price_listed '
        "when price year = 2027 then hide price end\n"
    )

    @pytest.mark.parametrize(
        ("now", "shown"),
        [
            (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), True),
            (datetime(2027, 1, 1, tzinfo=UTC), False),
            (datetime(2027, 2, 1, 23, 59, tzinfo=UTC), False),  # until a date: its whole day
            (datetime(2027, 2, 2, tzinfo=UTC), True),
            (datetime(2027, 1, 15), False),  # naive: taken as UTC
        ],
    )
    def test_a_rule_decides_inside_its_window_only(self, now, shown):
        found = visible(load(self.RULES), "price_listed", {}, [price(year=2027)], now=now)
        assert found == [shown]

    def test_now_defaults_to_the_current_time(self):
        always = self.RULES.replace("2027-01-01", "2000-01-01").replace("2027-02-01", "2999-01-01")
        assert visible(load(always), "price_listed", {}, [price(year=2027)]) == [False]
        assert visible(load(self.RULES), "price_listed", {}, [price(year=2027)]) == [True]

    def test_a_closed_window_lets_the_next_rule_decide(self):
        rules = load(
            self.RULES.replace('"January"', '"January" priority 9').replace("hide", "show")
            + "on price_listed then hide price\n"
        )
        january = datetime(2027, 1, 10, tzinfo=UTC)
        assert visible(rules, "price_listed", {}, [price(year=2027)], now=january) == [True]
        march = datetime(2027, 3, 10, tzinfo=UTC)
        assert visible(rules, "price_listed", {}, [price(year=2027)], now=march) == [False]


class TestSharedEntities:
    def test_a_missing_optional_entity_makes_its_conditions_false(self):
        rules = load(
            "on price_listed when customer order count != 3 then hide price\n"
            "on price_listed when order status != paid then hide price\n"
        )
        # not mentioned, or None: missing
        assert visible(rules, "price_listed", COUPLE_2026, [price()]) == [True]
        assert visible(rules, "price_listed", {"customer": None, "order": None}, [price()]) == [
            True
        ]
        with_customer = {**COUPLE_2026, "customer": {"order_count": 1, "labels": set()}}
        assert visible(rules, "price_listed", with_customer, [price()]) == [False]
        with_order = {"order": {"status": "paid"}}
        assert visible(rules, "price_listed", with_order, [price()]) == [True]

    def test_a_shared_label_opens_its_rules_for_every_candidate(self):
        rules = load(
            SEASON + "label Customer_VIP for customer\n"
            'rule "VIP preview" priority 5 on price_listed when customer has label Customer_VIP'
            " then show price end\n"
        )
        vip = {**COUPLE_2026, "customer": {"labels": {"Customer_VIP"}}}
        assert visible(rules, "price_listed", vip, PRICES) == [True] * 4
        other = {**COUPLE_2026, "customer": {"labels": {"Other"}}}
        assert visible(rules, "price_listed", other, PRICES) == [True, False, False, False]

    def test_labels_of_several_entities_in_one_rule(self):
        rules = load(
            "label Customer_VIP for customer\nlabel Promo for price\n"
            "on price_listed when customer has label Customer_VIP or price has label Promo"
            " then hide price\n"
        )
        vip = {"customer": {"labels": {"Customer_VIP"}}}
        nobody = {"customer": {"labels": set()}}
        assert visible(rules, "price_listed", vip, [price(), price("Promo")]) == [False, False]
        assert visible(rules, "price_listed", nobody, [price(), price("Promo")]) == [True, False]


#: A bad value as read from a database (Facts are taken as they are), to make a rule fail.
BAD_YEAR = Facts({"viewer.wedding_year": "soon"})


class TestErrors:
    def test_given_facts_are_checked(self):
        """Issue 21: a wrong type or a misspelled field in given facts is refused."""
        rules = load(
            'rule "Year" on price_listed when viewer wedding year > 2026 then hide price end'
        )
        with pytest.raises(FactTypeError, match=r"viewer\.wedding_year 'soon' is a str"):
            verdicts(rules, "price_listed", {"viewer": {"wedding_year": "soon"}}, [price()])
        with pytest.raises(UnknownFactError, match="did you mean 'wedding_year'"):
            visible(rules, "price_listed", {"viewer": {"weding_year": 2027}}, [price()])
        with pytest.raises(UnknownFactError, match="did you mean 'labels'"):
            visible(rules, "price_listed", {}, [{"price": {"lables": {"Promo"}}}])

    def test_a_failing_hide_rule_hides(self):
        rules = load(
            'rule "Year" on price_listed when viewer wedding year > 2026 then hide price end'
        )
        [v] = verdicts(rules, "price_listed", BAD_YEAR, [price()])
        assert (v.shown, v.rule) == (False, "Year")
        assert v.reason.endswith("(the rule failed)")
        [err] = v.errors
        assert err.rule == "Year" and err.message.startswith("TypeError")

    def test_a_failing_show_rule_is_skipped(self):
        rules = load(
            'rule "Year" priority 2 on price_listed when viewer wedding year > 2026'
            " then show price end\non price_listed then hide price\n"
        )
        [v] = verdicts(rules, "price_listed", BAD_YEAR, [price()])
        assert (v.shown, v.rule, [e.rule for e in v.errors]) == (False, "listing.rules:2", ["Year"])

    def test_raise_errors(self):
        rules = load(
            'rule "Year" on price_listed when viewer wedding year > 2026 then hide price end'
        )
        with pytest.raises(RuleRuntimeError, match="Year"):
            visible(rules, "price_listed", BAD_YEAR, [price()], raise_errors=True)

    def test_not_a_listing_event(self):
        with pytest.raises(ValueError, match="not a listing event"):
            visible(load(""), "order_created", {}, [])


def counting(rules: RuleSet) -> tuple[RuleSet, list[str]]:
    """``rules`` with every test counting its calls (the rule names, in a list)."""
    calls: list[str] = []

    def wrap(rule):
        test = rule.test

        def counted(facts):
            calls.append(rule.name)
            return test(facts)

        return attrs.evolve(rule, test=counted)

    wrapped = [wrap(r) for r in rules.rules]
    return RuleSet.build(wrapped, rules.version, rules.modules), calls


class TestCost:
    @staticmethod
    def rules(n: int) -> str:
        """SEASON plus ``n`` rules that cannot match the candidates below, of every kind."""
        parts = [SEASON, "label Customer_VIP for customer\n"]
        for i in range(n):
            parts.append(f"label Unused_{i} for price\n")
            parts.append(f"on price_listed when price has label Unused_{i} then hide price\n")
            parts.append(
                f"on price_listed when customer has label Customer_VIP and price amount = {i}"
                " then show price\n"
            )
            parts.append(f'on order_created when order subtotal > {i} then discount 1% "x"\n')
        return "".join(parts)

    def test_rules_that_cannot_match_are_never_tested(self):
        candidates = PRICES * 25
        counts = []
        for n in (10, 1000):
            rules, calls = counting(load(self.rules(n)))
            found = visible(rules, "price_listed", COUPLE_2026, candidates)
            assert found == [True, False, False, False] * 25
            counts.append(len(calls))
            assert set(calls) == {"listing.rules:3", "listing.rules:4"}
        assert counts[0] == counts[1] == 75  # one test per label a candidate has

    def test_the_first_rule_that_holds_decides(self):
        rules, calls = counting(
            load(
                'rule "A" priority 3 on price_listed then hide price end\n'
                'rule "B" priority 2 on price_listed then show price end\n'
                'rule "C" on price_listed then show price end\n'
            )
        )
        assert visible(rules, "price_listed", {}, [price()] * 10) == [False] * 10
        assert calls == ["A"] * 10


# ------------------------------------------------------------- database ---

DB_RULES = (
    SEASON + "label Customer_VIP for customer\n"
    "label Trusted for agent\n"
    'rule "VIP preview" priority 5 on price_listed when price has label Season_2027'
    " and customer has label Customer_VIP then show price end\n"
    'rule "Trusted agents" priority 5 on price_listed when agent has label Trusted'
    " then show price end\n"
    'rule "Big orders" priority 4 on price_listed when price amount > 1000.00'
    " and order subtotal < 500.00 then hide price end\n"
    'rule "Regulars" priority 4 on price_listed when customer order count >= 2'
    " and price amount = 1.00 then hide price end\n"
)


@pytest.fixture
def rules():
    return rulec.load_text(DB_RULES, "prices.rules")


@pytest.fixture
def catalog(sessions):
    """Labels, and four prices: plain, season 2027, agent only, both."""
    with sessions.begin() as s:
        season = Label(name="Season_2027", entity_type="price")
        agent_only = Label(name="Agent_Only", entity_type="price")
        vip = Label(name="Customer_VIP", entity_type="customer")
        trusted = Label(name="Trusted", entity_type="agent")
        prices = [
            Price(name="Plain", amount=Decimal("100.00")),
            Price(name="Season", amount=Decimal("200.00"), year=2027, labels=[season]),
            Price(name="Agents", amount=Decimal("300.00"), labels=[agent_only]),
            Price(name="Both", amount=Decimal("400.00"), labels=[season, agent_only]),
        ]
        s.add_all([*prices, vip, trusted])
    return [p.id for p in prices]


def prices(s, ids):
    return list(s.execute(select(Price).where(Price.id.in_(ids)).order_by(Price.id)).scalars())


def names(rows):
    return [r.name for r in rows]


class TestListVisible:
    def test_the_wedding_year_example(self, sessions, rules, catalog):
        with sessions() as s:
            ps = prices(s, catalog)
            couple = {"is_agent": False, "wedding_year": 2026}
            assert names(list_visible(s, rules, "price_listed", ps, viewer=couple)) == ["Plain"]
            couple["wedding_year"] = 2027
            assert names(list_visible(s, rules, "price_listed", ps, viewer=couple)) == [
                "Plain",
                "Season",
            ]

    def test_agent_only_prices(self, sessions, rules, catalog):
        with sessions() as s:
            ps = prices(s, catalog)
            agent = {"is_agent": True, "wedding_year": 2027}
            assert names(list_visible(s, rules, "price_listed", ps, viewer=agent)) == [
                "Plain",
                "Season",
                "Agents",
                "Both",
            ]

    def test_customer_and_agent_labels_from_the_database(self, sessions, rules, catalog):
        with sessions.begin() as s:
            vip = s.execute(select(Label).where(Label.name == "Customer_VIP")).scalar_one()
            trusted = s.execute(select(Label).where(Label.name == "Trusted")).scalar_one()
            ada = Customer(name="Ada", labels=[vip])
            tom = Agent(name="Tom", labels=[trusted])
            s.add_all([ada, tom])
        couple = {"is_agent": False, "wedding_year": 2026}
        with sessions() as s:
            ps = prices(s, catalog)
            ada_, tom_ = s.get(Customer, ada.id), s.get(Agent, tom.id)
            found = explain_listing(s, rules, "price_listed", ps, viewer=couple, customer=ada_)
            assert [(p.name, v.reason) for p, v in found] == [
                ("Plain", "shown: no rule decides"),
                ("Season", "shown by rule 'VIP preview' (prices.rules:7)"),
                ("Agents", "hidden by the rule at prices.rules:4"),
                ("Both", "shown by rule 'VIP preview' (prices.rules:7)"),
            ]
            shown = list_visible(s, rules, "price_listed", ps, viewer=couple, agent=tom_)
            assert names(shown) == ["Plain", "Season", "Agents", "Both"]

    def test_order_facts_and_order_count(self, sessions, rules, catalog):
        with sessions.begin() as s:
            ada = Customer(name="Ada")
            s.add(ada)
            s.flush()
            s.add_all([Order(customer_id=ada.id, subtotal=Decimal("50.00")) for _ in range(2)])
            s.add_all([Price(name="Grand", amount=Decimal("5000.00")), Price(name="One", amount=1)])
        viewer = {"is_agent": True, "wedding_year": 2027}
        with sessions() as s:
            ps = list(s.execute(select(Price).order_by(Price.id)).scalars())
            order = s.execute(select(Order).limit(1)).scalar_one()
            customer = s.get(Customer, ada.id)
            small = list_visible(s, rules, "price_listed", ps, viewer=viewer, order=order)
            assert "Grand" not in names(small) and "One" in names(small)
            # two orders, one of them the order in hand: at most one placed before it
            with_order = list_visible(
                s, rules, "price_listed", ps, viewer=viewer, customer=customer, order=order
            )
            assert "One" in names(with_order)
            alone = list_visible(s, rules, "price_listed", ps, viewer=viewer, customer=customer)
            assert "One" not in names(alone) and "Grand" in names(alone)

    def test_labels_in_memory_are_the_truth(self, sessions, rules, catalog):
        with sessions() as s:
            ps = prices(s, catalog)
            plain = ps[0]
            plain.labels.append(
                s.execute(select(Label).where(Label.name == "Agent_Only")).scalar_one()
            )  # not flushed
            fresh = Price(name="New", amount=Decimal("1.50"))
            s.add(fresh)
            couple = {"is_agent": False, "wedding_year": 2027}
            shown = list_visible(s, rules, "price_listed", [*ps, fresh], viewer=couple)
            assert names(shown) == ["Season", "New"]
            assert fresh.id is None  # listing does not flush

    def test_long_lists_are_read_in_chunks(self, sessions, rules, catalog, monkeypatch):
        with sessions() as s:
            ps = prices(s, catalog)
            couple = {"role": "customer", "is_agent": False, "wedding_year": 2027}
            whole = list_visible(s, rules, "price_listed", ps, viewer=couple)
            monkeypatch.setattr(listing, "CHUNK", 3)
            assert list_visible(s, rules, "price_listed", ps, viewer=couple) == whole
            assert names(whole) == ["Plain", "Season"]

    @pytest.mark.parametrize("expired", [False, True])
    def test_statements_do_not_grow_with_the_candidates(self, db, sessions, rules, expired):
        with sessions.begin() as s:
            season = Label(name="Season_2027", entity_type="price")
            vip = Label(name="Customer_VIP", entity_type="customer")
            trusted = Label(name="Trusted", entity_type="agent")
            ada, tom = Customer(name="Ada", labels=[vip]), Agent(name="Tom", labels=[trusted])
            s.add_all([ada, tom])
            s.flush()
            order = Order(customer_id=ada.id, agent_id=tom.id, subtotal=Decimal("80.00"))
            s.add(order)
            s.add_all(
                Price(name=f"P{i}", amount=Decimal(i), labels=[season] if i % 2 else [])
                for i in range(500)
            )
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        counts = []
        couple = {"is_agent": False, "wedding_year": 2026}
        for n in (5, 500):
            with sessions() as s:
                ps = list(s.execute(select(Price).order_by(Price.id).limit(n)).scalars())
                who = {
                    "customer": s.get(Customer, ada.id),
                    "agent": s.get(Agent, tom.id),
                    "order": s.get(Order, order.id),
                }
                if expired:
                    s.expire_all()  # every row's columns must be loaded again
                event.listen(db, "before_cursor_execute", count)
                try:
                    shown = list_visible(s, rules, "price_listed", ps, viewer=couple, **who)
                finally:
                    event.remove(db, "before_cursor_execute", count)
                assert len(shown) == n  # Trusted agent: everything shown
            counts.append(len(statements))
            statements.clear()
        assert counts[0] == counts[1]
        # labels (one UNION ALL), the customer's order count, and the reload of expired rows
        assert counts[0] == (1 + 1 + (4 if expired else 0))


# ------------------------------------------------------------------ docs ---

DOC = pathlib.Path(__file__).parents[2] / "docs" / "discounts.md"


def doc_rules(section: str) -> list[str]:
    """The ```rules blocks of one '## ' section of docs/discounts.md."""
    body = DOC.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```rules\n(.*?)```", body, re.S)


class TestDocs:
    def test_the_listings_example_checks_clean_and_does_what_it_says(self):
        [text] = doc_rules("Listings")
        assert rulec.check_text(text, "prices.rules") == []
        rules = rulec.load_text(text, "prices.rules")
        cands = [price(), price("Season_2027"), price("Agent_Only")]
        couple = {"viewer": {"role": "customer", "wedding_year": 2026}}
        assert visible(rules, "price_listed", couple, cands) == [True, False, False]
        agent = {"viewer": {"role": "agent", "wedding_year": 2027}}
        assert visible(rules, "price_listed", agent, cands) == [True, True, True]
        vip = {**couple, "customer": {"labels": {"Customer_VIP"}}}
        assert visible(rules, "price_listed", vip, cands) == [True, True, False]

    def test_the_shipped_listing_rules(self):
        rules = rulec.load_paths([pathlib.Path(__file__).parents[2] / "rules"])
        cands = [price(), price("Season_2026"), price("Season_2027"), price("Agent_Only")]
        couple = {"viewer": {"role": "customer", "wedding_year": 2027}}
        assert visible(rules, "price_listed", couple, cands) == [True, False, True, False]
        guest = {"viewer": {"role": "guest"}}  # no wedding year: no season's prices
        assert visible(rules, "price_listed", guest, cands) == [True, False, False, False]

    def test_viewer_role_and_is_agent_fill_each_other_in(self):
        rules = load(SEASON + "on price_listed when viewer role is not agent then hide price\n")
        agent_only = [price("Agent_Only")]
        assert visible(rules, "price_listed", {"viewer": {"role": "agent"}}, agent_only) == [True]
        assert visible(rules, "price_listed", {"viewer": {"is_agent": True}}, agent_only) == [True]
        for viewer in ({"role": "guest"}, {"is_agent": False}, {}):
            assert visible(rules, "price_listed", {"viewer": viewer}, agent_only) == [False]
