"""``rulec import-legacy`` against a database in the old schema (issue 22).

Each test builds the old tables with :class:`OldDb`, on SQLite and on
PostgreSQL, runs the command, and checks the files it wrote (they pass
``rulec check`` and load), the warnings it printed, and decisions: the
imported rules through ``RuleSet.evaluate`` next to the old semantics
(:mod:`rulec.tools.legacy.oracle`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import rulec
from rulec import cli
from rulec.tools.legacy.oracle import old_price_shown
from rulec.tools.legacy.schema import read_legacy

from .olddb import OldDb


class Imported:
    """What one run of the command gave."""

    def __init__(self, result: Result, out: Path) -> None:
        self.result = result
        self.out = out
        self.files = {p.name: p.read_text() for p in sorted(out.glob("*.rules"))}
        self.rules = rulec.load_paths([out])

    @property
    def warnings(self) -> list[str]:
        return [
            line.removeprefix("rulec: warning: ")
            for line in self.result.stderr.splitlines()
            if line.startswith("rulec: warning: ")
        ]

    @property
    def differences(self) -> list[str]:
        return [line for line in self.result.stdout.splitlines() if line.startswith("orders_")]

    def block(self, name: str) -> str:
        """The text of rule ``name`` (with the comments above it), from its file;
        a condition laid out one clause a line is joined back into one line."""
        for text in self.files.values():
            for chunk in text.split("\n\n"):
                if f'rule "{name}"' in chunk:
                    return re.sub(r"\n +(and|or) ", r" \1 ", chunk)
        raise AssertionError(f"no rule {name!r}")

    def order(self, *labels: str, subtotal: str = "100.00", customer: bool = True) -> Any:
        return self.rules.evaluate(
            "order_created",
            {
                "order.subtotal": Decimal(subtotal),
                "order.currency": "EUR",
                "order.placed_by_customer": customer,
                "customer.absent": not customer,
                "customer.labels": frozenset(labels),
            },
        )

    def shown(self, *price: str, year: int, role: str = "customer", customer=()) -> bool:
        d = self.rules.evaluate(
            "price_listed",
            {
                "price.labels": frozenset(price),
                "viewer.wedding_year": year,
                "viewer.role": role,
                "viewer.is_agent": role == "agent",
                "customer.absent": role != "customer",
                "customer.labels": frozenset(customer),
            },
        )
        assert d.verdict is not None
        return d.verdict.shown


def run(
    old_db, db: OldDb, tmp_path: Path, *args: str, code: int | None = 0, warns: str = ""
) -> Imported:
    """Import ``db``; the files check clean (but for ``warns``, a code that must be
    there) and are formatted."""
    engine, url, prefix = old_db
    with engine.begin() as conn:
        db.write(conn, prefix)
    out = tmp_path / "out"
    argv = ["import-legacy", "--db", url, "--out", str(out), *args]
    if prefix:
        argv += ["--prefix", prefix]
    result = CliRunner().invoke(cli.main, argv)
    if code is not None:
        assert result.exit_code == code, (result.stdout, result.stderr)
    checked = CliRunner().invoke(cli.main, ["check", "--strict", str(out)])
    if warns:
        codes = set(re.findall(r": (R\d{3}) \(warning\)", checked.stdout))
        assert codes == {warns} and " 0 errors" in checked.stderr, checked.stdout
    else:
        assert checked.exit_code == 0, checked.stdout
    formatted = CliRunner().invoke(cli.main, ["fmt", "--check", str(out)])
    assert formatted.exit_code == 0, formatted.stderr
    return Imported(result, out)


def vip_db() -> tuple[OldDb, dict[str, int]]:
    db = OldDb()
    ids = {
        "vip": db.label("Customer_VIP"),
        "gold": db.label("Gold"),
        "trial": db.label("Trial"),
        "rush": db.label("Rush", "ORDER"),
        "trigger": db.trigger("discount_vip"),
    }
    return db, ids


DISCOUNT = ("DISCOUNT", {"percentage": 10, "description": "VIP New Order Discount"})


class TestOrderRules:
    def test_the_shipped_vip_rule_comes_through_with_its_source_row(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("VIP", i["trigger"], labels=[i["vip"]], actions=[DISCOUNT])
        got = run(old_db, db, tmp_path)
        block = got.block("VIP")
        assert "# rules_rule 1 'VIP', trigger 'discount_vip'" in block
        assert "when order placed by customer is true and customer has label Customer_VIP" in block
        assert 'then discount 10% "VIP New Order Discount"' in block
        assert got.order("Customer_VIP").discount_amount == Decimal("10.00")
        assert got.order("Gold").discount_amount == Decimal("0.00")
        assert "label Customer_VIP for customer  # labels_label 1" in got.files["labels.rules"]

    def test_conditions_are_anded(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule(
            "Both",
            i["trigger"],
            conditions=[("CUSTOMER", "HAS_LABEL", i["vip"]), ("CUSTOMER", "NOT_LABEL", i["trial"])],
            actions=[DISCOUNT],
        )
        got = run(old_db, db, tmp_path)
        assert "customer has label Customer_VIP and customer lacks label Trial" in got.block("Both")
        assert got.order("Customer_VIP").discount_amount == Decimal("10.00")
        assert got.order("Customer_VIP", "Trial").discount_amount == Decimal("0.00")
        assert got.order("Gold").discount_amount == Decimal("0.00")

    def test_no_conditions_means_always_but_a_discount_needs_a_customer(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("Everyone", i["trigger"], actions=[("DISCOUNT", {"percentage": 5})])
        got = run(old_db, db, tmp_path)
        assert got.order().discount_amount == Decimal("5.00")
        assert got.order(customer=False).discount_amount == Decimal("0.00")

    def test_gating_labels_mean_any_of(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("Gated", i["trigger"], labels=[i["vip"], i["gold"]], actions=[DISCOUNT])
        got = run(old_db, db, tmp_path)
        assert "customer has any label of Customer_VIP, Gold" in got.block("Gated")
        assert got.order("Gold").discount_amount == Decimal("10.00")
        assert got.order("Trial").discount_amount == Decimal("0.00")

    def test_disabled_rules_are_written_disabled(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("Off", i["trigger"], status="DISABLED", actions=[DISCOUNT])
        got = run(old_db, db, tmp_path)
        assert "\n  disabled\n" in got.block("Off")
        assert got.order().discount_amount == Decimal("0.00")

    @pytest.mark.parametrize("operator", ["HAS_LABEL", "NOT_LABEL"])
    def test_a_condition_on_another_entity_was_always_false(self, old_db, tmp_path, operator):
        db, i = vip_db()
        db.rule(
            "Rush", i["trigger"], conditions=[("ORDER", operator, i["rush"])], actions=[DISCOUNT]
        )
        got = run(old_db, db, tmp_path)
        assert "\n  disabled\n" in got.block("Rush")
        assert (
            f"rules_rulecondition 1 (ORDER {operator} labels_label 4 'Rush') was always false"
            in (got.warnings[0])
        )
        assert got.order().discount_amount == Decimal("0.00")

    def test_a_missing_description_is_discount_applied(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("Plain", i["trigger"], actions=[("DISCOUNT", {"percentage": 7})])
        got = run(old_db, db, tmp_path)
        assert 'then discount 7% "Discount Applied"' in got.block("Plain")
        assert got.order().discount_description == "Discount Applied"

    def test_a_missing_percentage_is_no_discount_written_as_a_comment(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("Zero", i["trigger"], actions=[("DISCOUNT", {"description": "Nothing"})])
        got = run(old_db, db, tmp_path)
        block = got.block("Zero")
        assert '# rule "Zero"' in block and '#   then discount 0% "Nothing"' in block
        assert any("has no percentage, which the old system read as 0%" in w for w in got.warnings)
        assert len(got.rules) == 0

    def test_a_status_change_only_printed_so_it_is_imported_disabled(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("Confirm", i["trigger"], actions=[("STATUS_CHANGE", {"status": "CONFIRMED"})])
        got = run(old_db, db, tmp_path)
        block = got.block("Confirm")
        assert "\n  disabled\n" in block and "then set order status to confirmed" in block
        assert any("STATUS_CHANGE to 'confirmed' only printed a line" in w for w in got.warnings)
        assert got.order().field_changes == ()

    def test_rules_that_could_both_match_get_priorities_and_a_warning(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("Small", i["trigger"], labels=[i["vip"]], actions=[("DISCOUNT", {"percentage": 5})])
        db.rule("Big", i["trigger"], labels=[i["gold"]], actions=[("DISCOUNT", {"percentage": 20})])
        db.rule("Last", i["trigger"], labels=[i["vip"]], actions=[("DISCOUNT", {"percentage": 3})])
        # the old "last one wins" leaves the first rule nothing: deep lint says so
        got = run(old_db, db, tmp_path, warns="R320")
        assert "priority 3\n  exclusive" in got.block("Last")
        # the old system kept the last rule it ran; the ids say which: 3 over 2 over 1
        assert got.order("Customer_VIP", "Gold").discount_description == "Discount Applied"
        assert got.order("Customer_VIP", "Gold").discount_amount == Decimal("3.00")
        assert got.order("Gold").discount_amount == Decimal("20.00")
        assert sum("can both match one order" in w for w in got.warnings) == 3

    def test_rules_that_cannot_both_match_keep_the_default_policy(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule(
            "VIP",
            i["trigger"],
            conditions=[("CUSTOMER", "HAS_LABEL", i["vip"])],
            actions=[DISCOUNT],
        )
        db.rule(
            "Not VIP",
            i["trigger"],
            conditions=[("CUSTOMER", "NOT_LABEL", i["vip"])],
            actions=[("DISCOUNT", {"percentage": 2})],
        )
        got = run(old_db, db, tmp_path)
        assert "priority" not in got.block("VIP") and got.warnings == []

    def test_label_names_with_spaces_and_clashing_names_come_through(self, old_db, tmp_path):
        db, i = vip_db()
        gold = db.label("Gold Tier 2026-2027")
        gold_again = db.label("Gold Tier 2026-2027")
        db.rule("Gold", i["trigger"], labels=[gold], actions=[DISCOUNT])
        db.rule("Gold", i["trigger"], labels=[gold_again], actions=[DISCOUNT])
        got = run(old_db, db, tmp_path)
        labels = got.files["labels.rules"]
        assert 'label "Gold Tier 2026-2027" for customer  # labels_label 5' in labels
        assert 'label "Gold Tier 2026-2027 (labels_label 6)" for customer' in labels
        assert "renamed 'Gold (rules_rule 2)'" in got.block("Gold (rules_rule 2)")
        assert 'customer has label "Gold Tier 2026-2027 (labels_label 6)"' in got.block(
            "Gold (rules_rule 2)"
        )
        assert got.order("Gold Tier 2026-2027").discount_amount == Decimal("10.00")


class TestTriggers:
    def test_never_fired_triggers_are_written_disabled_unless_mapped(self, old_db, tmp_path):
        db = OldDb()
        codes = ["ON_CREATION", "ON_LABEL_LINK", "DAILY", "MONTHLY", "something_else"]
        for code in codes:
            db.rule(code, db.trigger(code), actions=[DISCOUNT])
        got = run(old_db, db, tmp_path)
        for code in codes:
            assert "\n  disabled\n" in got.block(code)
        assert sum("never fired it" in w for w in got.warnings) == 4
        assert sum("an unknown trigger code" in w for w in got.warnings) == 1
        mapped = run(old_db, db, tmp_path / "m", "--map", "ON_CREATION=order_created")
        assert "disabled" not in mapped.block("ON_CREATION")
        assert mapped.order().discount_amount == Decimal("10.00")

    @pytest.mark.parametrize(
        "entry", ["ON_CREATION", "ON_CREATION=order_craeted", "X=price_listed", "X=daily"]
    )
    def test_a_bad_map_is_a_usage_error(self, old_db, tmp_path, entry):
        result = CliRunner().invoke(
            cli.main, ["import-legacy", "--db", old_db[1], "--out", str(tmp_path), "--map", entry]
        )
        assert result.exit_code == 2 and "--map" in result.stderr

    def test_a_database_without_the_old_tables_is_a_clear_error(self, old_db, tmp_path):
        result = CliRunner().invoke(
            cli.main, ["import-legacy", "--db", old_db[1], "--out", str(tmp_path / "o")]
        )
        assert result.exit_code == 2
        assert "cannot read the old system's tables" in result.stderr


def pricing_db(agent_twin: bool = True) -> tuple[OldDb, dict[str, int]]:
    db = OldDb()
    ids = {
        "season": db.label("Season 2026-2027", "PRICE"),
        "premium": db.label("Premium", "PRICE"),
        "vip": db.label("Customer_VIP"),
        "base": db.trigger("pricing_trigger_2026_2027"),
    }
    if agent_twin:
        ids["agent"] = db.trigger("pricing_trigger_2026_2027_Agent")
    return db, ids


class TestPricing:
    def test_conditions_are_ored_and_unmatched_prices_are_hidden_that_year(self, old_db, tmp_path):
        db, i = pricing_db(agent_twin=False)
        db.rule(
            "Season or VIP",
            i["base"],
            conditions=[("PRICE", "HAS_LABEL", i["season"]), ("CUSTOMER", "HAS_LABEL", i["vip"])],
        )
        got = run(old_db, db, tmp_path)
        assert (
            '(price has label "Season 2026-2027" or customer has label Customer_VIP)'
            in got.block("Season or VIP")
        )
        assert "priority -1000000000" in got.block("Hide unlisted prices 2026")
        assert got.shown("Season 2026-2027", year=2026)
        assert got.shown("Premium", year=2026, customer=["Customer_VIP"])
        assert not got.shown("Premium", year=2026)
        assert got.shown("Premium", year=2027)  # no trigger that year: shown by default
        assert got.shown("Premium", year=2026, role="agent") is False

    def test_the_agent_twin_decides_for_agents(self, old_db, tmp_path):
        db, i = pricing_db()
        db.rule("Season", i["base"], labels=[i["season"]])
        db.rule("Agents see premium", i["agent"], labels=[i["premium"]])
        got = run(old_db, db, tmp_path)
        assert got.shown("Season 2026-2027", year=2026)
        assert not got.shown("Premium", year=2026)
        assert got.shown("Premium", year=2026, role="agent")
        assert not got.shown("Season 2026-2027", year=2026, role="agent")

    @pytest.mark.parametrize("triggers", ["both", "base", "agent"])
    def test_listing_decisions_are_the_old_ones(self, old_db, tmp_path, triggers):
        db, i = pricing_db(agent_twin=False)
        if triggers == "agent":  # no plain trigger for 2026: the rules go to 2030's
            db.rows["rules_ruletrigger"][0]["code"] = "pricing_trigger_2030_2031"
        other = "2030_2031" if triggers == "base" else "2026_2027"
        i["agent"] = db.trigger(f"pricing_trigger_{other}_Agent")
        db.rule("Season", i["base"], conditions=[("PRICE", "NOT_LABEL", i["premium"])])
        db.rule(
            "Premium VIP",
            i["base"],
            labels=[i["premium"]],
            conditions=[("CUSTOMER", "HAS_LABEL", i["vip"]), ("ORDER", "HAS_LABEL", i["vip"])],
        )
        db.rule("Agent", i["agent"], conditions=[("PRICE", "HAS_LABEL", i["season"])])
        db.rule("Off", i["agent"], status="DISABLED")
        got = run(old_db, db, tmp_path)
        engine, _, prefix = old_db
        with engine.connect() as conn:
            legacy = read_legacy(conn, prefix)
        names = {i["season"]: "Season 2026-2027", i["premium"]: "Premium"}
        for price in ([], [i["season"]], [i["premium"]], [i["season"], i["premium"]]):
            for customer in (None, [], [i["vip"]]):
                for year in (2025, 2026, 2030, None):
                    for agent in (False, True):
                        role = (
                            "agent" if agent else ("customer" if customer is not None else "guest")
                        )
                        facts = {
                            "price.labels": frozenset(names[p] for p in price),
                            "viewer.wedding_year": year,
                            "viewer.role": role,
                            "customer.absent": customer is None,
                            "customer.labels": frozenset("Customer_VIP" for _ in (customer or [])),
                        }
                        d = got.rules.evaluate("price_listed", facts)
                        old = old_price_shown(legacy, price, customer, year, agent)
                        assert d.verdict is not None and d.verdict.shown == old, (
                            price,
                            customer,
                            year,
                            agent,
                        )


class TestCheckOrders:
    def test_half_even_rounding_is_listed(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("VIP", i["trigger"], labels=[i["vip"]], actions=[DISCOUNT])
        db.customer(1, i["vip"])
        db.order(1, "0.05")  # 0.005: half-even 0.00, half-up 0.01
        db.order(1, "100.00")
        db.order(1, "0.15")  # 0.015: half-even 0.02, half-up 0.02
        got = run(old_db, db, tmp_path, "--check-orders", code=1)
        assert got.differences == [
            "orders_order 1: old 0.00 'VIP New Order Discount', rulec 0.01 'VIP New Order "
            "Discount': rounding: 0.05 × 10% is 0.005, which the old system rounded half-even "
            "to 0.00 and rulec rounds half-up to 0.01"
        ]
        assert "3 orders replayed: 1 would differ" in got.result.stderr

    def test_a_flagged_rule_lists_the_orders_it_changes(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("VIP", i["trigger"], labels=[i["vip"]], actions=[DISCOUNT])
        db.rule("Zero", i["trigger"], labels=[i["gold"]], actions=[("DISCOUNT", {})])
        db.rule("Mapped", db.trigger("ON_CREATION"), labels=[i["trial"]], actions=[DISCOUNT])
        db.customer(1, i["vip"])
        db.customer(2, i["vip"], i["gold"])
        db.customer(3, i["trial"])
        db.order(1, "50.00")
        db.order(2, "50.00")
        db.order(3, "50.00")
        db.order(None, "50.00")
        got = run(
            old_db, db, tmp_path, "--check-orders", "--map", "ON_CREATION=order_created", code=1
        )
        assert [re.match(r"orders_order (\d+)", d)[1] for d in got.differences] == ["2", "3"]
        assert (
            "rules_rule 2 'Zero', which won in the old system, is written as a comment"
            in (got.differences[0])
        )
        assert (
            "old 0.00 'Discount Applied', rulec 5.00 'VIP New Order Discount'"
            in (got.differences[0])
        )
        assert (
            "runs on order_created by --map: the old system never ran trigger 'ON_CREATION'"
            in (got.differences[1])
        )

    def test_no_difference_exits_0(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("VIP", i["trigger"], labels=[i["vip"]], actions=[DISCOUNT])
        db.customer(1, i["vip"])
        db.order(1, "80.00")
        db.order(None, "80.00")
        got = run(old_db, db, tmp_path, "--check-orders")
        assert got.differences == [] and "2 orders replayed: 0 would differ" in got.result.stderr


class TestEdges:
    def test_a_subtotal_rulec_refuses_is_listed_not_a_crash(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("VIP", i["trigger"], labels=[i["vip"]], actions=[DISCOUNT])
        db.customer(1, i["vip"])
        db.order(1, "10.50")  # 10.50 yen: rulec refuses what no one can pay
        got = run(old_db, db, tmp_path, "--check-orders", "--currency", "JPY", code=1)
        assert len(got.differences) == 1
        assert "is finer than the currency's minor unit" in got.differences[0]

    def test_a_schema_prefix_qualifies_every_table(self):
        from rulec.tools.legacy.schema import legacy_metadata

        md = legacy_metadata("legacy.old_")
        assert sorted(md.tables)[0] == "legacy.old_labels_label"
        assert all(t.schema == "legacy" and t.name.startswith("old_") for t in md.tables.values())
        fks = {fk.target_fullname for t in md.tables.values() for fk in t.foreign_keys}
        assert "legacy.old_rules_rule.id" in fks

    def test_rules_without_a_trigger_or_with_an_unknown_status_are_disabled(self, old_db, tmp_path):
        db, i = vip_db()
        db.rule("Orphan", None, actions=[DISCOUNT])
        db.rule("Odd", i["trigger"], status="PAUSED", actions=[DISCOUNT])
        got = run(old_db, db, tmp_path)
        assert "\n  disabled\n" in got.block("Orphan") and "\n  disabled\n" in got.block("Odd")
        assert "no_trigger.rules" in got.files
        assert got.order().discount_amount == Decimal("0.00")
