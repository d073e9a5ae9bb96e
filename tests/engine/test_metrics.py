"""The engine's metrics, read with the OpenTelemetry SDK's in-memory reader.

Each test has its own ``MeterProvider`` given to the engine, the scheduled
run and the listing (the global provider can be set once per process); the
database paths run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from sqlalchemy import select

import rulec
from rulec.dsl.diagnostics import RuleRuntimeError
from rulec.engine.core.decision import Decision, RuleFailure
from rulec.engine.db.attach import Engine
from rulec.engine.db.listing import list_visible
from rulec.engine.db.scheduled import run_scheduled
from rulec.engine.metrics import DURATION_BUCKETS, Metrics, metrics_for
from rulec.storage.models import Customer, Label, Order, Price

RULES = """\
label Customer_VIP, Gold for customer
label Agent_Only for price
rule "VIP discount" on order_created when customer has label Customer_VIP \
then discount 10% "VIP New Order Discount" end
rule "Welcome" on order_created then discount 5% "Welcome" end
rule "boom" on order_created when order subtotal > 1000000.00 then discount 1% "boom" end
rule "Agents only" on price_listed when price has label Agent_Only and viewer is_agent is false \
then hide price end
rule "Promotion" on daily for customer when customer has label Gold \
then add label Customer_VIP to customer end
"""
LABELS = {"Customer_VIP", "Gold", "Agent_Only"}
NAMES = {"Ada", "Ben", "Cleo", "Plain", "Agents"}
#: Every attribute key a data point may have.
KEYS = {"rulec.event", "rulec.rule", "rulec.ruleset.version", "currency", "error.type"}


def shop_rules() -> rulec.RuleSet:
    """RULES, with the test of "boom" (rules/shop.rules:5) replaced by one that raises."""
    rs = rulec.load_text(RULES, "rules/shop.rules")

    def explode(_facts: Any) -> bool:
        raise ZeroDivisionError("division by zero")

    rules = [attrs.evolve(r, test=explode) if r.name == "boom" else r for r in rs.rules]
    return rulec.RuleSet.build(rules, rs.version, rs.modules, rulec.DEFAULT_VOCABULARY)


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    p = MeterProvider(metric_readers=[reader])
    yield p
    p.shutdown()


def read(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """name -> [(attributes, value or histogram point)] of the meter ``rulec``."""
    data = reader.get_metrics_data()
    out: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    if data is None:
        return out
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            assert sm.scope.name == "rulec"
            for m in sm.metrics:
                for p in m.data.data_points:
                    value = p if isinstance(p, HistogramDataPoint) else p.value
                    out.setdefault(m.name, []).append((dict(p.attributes or {}), value))
    return out


def by(points: list[tuple[dict[str, Any], Any]], *keys: str) -> dict[tuple[Any, ...], Any]:
    """The points keyed by the values of ``keys`` (each key set once: no duplicates)."""
    out: dict[tuple[Any, ...], Any] = {}
    for attributes, value in points:
        key = tuple(attributes.get(k) for k in keys)
        assert key not in out, key
        out[key] = value
    return out


def shop(sessions, provider: MeterProvider) -> dict[str, Any]:
    """The known sequence: a VIP order, a non-VIP order, another VIP order (every one
    with the failing rule "boom"), a listing of two prices and a daily run over three
    customers in two batches. Returns the ids and the rule set's version."""
    rules = shop_rules()
    engine = Engine(rules, meter_provider=provider)
    engine.attach(sessions)
    with sessions.begin() as s:
        vip = Label(name="Customer_VIP", entity_type="customer")
        gold = Label(name="Gold", entity_type="customer")
        agent_only = Label(name="Agent_Only", entity_type="price")
        ada, ben, cleo = (
            Customer(name="Ada"),
            Customer(name="Ben", labels=[vip]),
            Customer(name="Cleo", labels=[gold]),
        )
        prices = [
            Price(name="Plain", amount=Decimal("100.00")),
            Price(name="Agents", amount=Decimal("300.00"), labels=[agent_only]),
        ]
        s.add_all([ada, ben, cleo, *prices])
    orders = []
    for customer, subtotal, currency in ((ben, "120.00", "EUR"), (ada, "80.00", "USD")):
        with sessions.begin() as s:
            o = Order(customer_id=customer.id, subtotal=Decimal(subtotal), currency=currency)
            s.add(o)
        orders.append(o.id)
    with sessions.begin() as s:
        o = Order(customer_id=ben.id, subtotal=Decimal("45.55"), currency="EUR")  # 4.555 -> 4.56
        s.add(o)
    orders.append(o.id)
    with sessions() as s:
        stored = s.scalars(select(Order).order_by(Order.id)).all()
        assert [x.discount_amount for x in stored] == [
            Decimal(x) for x in ("12.00", "4.00", "4.56")
        ]
        rows = s.scalars(select(Price).order_by(Price.id)).all()
        shown = list_visible(
            s, rules, "price_listed", rows, viewer={"is_agent": False}, meter_provider=provider
        )
        assert [p.name for p in shown] == ["Plain"]
    report = run_scheduled(
        sessions, rules, "daily", period="2026-11-26", batch_size=2, meter_provider=provider
    )
    assert [(r.processed, r.changed, r.batches) for r in report.subjects] == [(3, 1, 2)]
    return {
        "version": rules.version,
        "ids": {*orders, ada.id, ben.id, cleo.id, *(p.id for p in prices)},
    }


class TestAShop:
    """A known sequence of orders, a listing and a scheduled run; exact figures."""

    def test_every_metric_of_the_sequence(self, sessions, provider, reader):
        version = shop(sessions, provider)["version"]
        got = read(reader)
        assert set(got) == {
            "rulec.decisions",
            "rulec.rules.applied",
            "rulec.rules.lost",
            "rulec.discount.amount",
            "rulec.rule.errors",
            "rulec.decision.duration",
        }
        assert {a["rulec.ruleset.version"] for points in got.values() for a, _ in points} == {
            version
        }
        assert by(got["rulec.decisions"], "rulec.event") == {
            ("order_created",): 3,
            ("price_listed",): 2,  # one per candidate
            ("daily:customer",): 3,  # one per customer
        }
        assert by(got["rulec.rules.applied"], "rulec.event", "rulec.rule") == {
            ("order_created", "VIP discount"): 2,
            ("order_created", "Welcome"): 1,
            ("price_listed", "Agents only"): 1,
            ("daily:customer", "Promotion"): 1,
        }
        assert by(got["rulec.rules.lost"], "rulec.event", "rulec.rule") == {
            ("order_created", "Welcome"): 2,
        }
        amounts = by(got["rulec.discount.amount"], "rulec.rule", "currency")
        assert set(amounts) == {("VIP discount", "EUR"), ("Welcome", "USD")}
        assert amounts["VIP discount", "EUR"] == pytest.approx(16.56, abs=1e-9)  # 12.00 + 4.56
        assert amounts["Welcome", "USD"] == pytest.approx(4.00, abs=1e-9)
        assert by(got["rulec.rule.errors"], "rulec.event", "rulec.rule", "error.type") == {
            ("order_created", "boom", None): 3,
        }
        durations = by(got["rulec.decision.duration"], "rulec.event")
        assert {k: p.count for k, p in durations.items()} == {
            ("order_created",): 3,
            ("price_listed",): 1,  # one per listing
            ("daily:customer",): 2,  # one per batch
        }
        for p in durations.values():
            assert tuple(p.explicit_bounds) == DURATION_BUCKETS
            assert 0 < p.sum < 60 and p.min > 0

    def test_no_label_name_order_id_or_row_value_is_an_attribute(self, sessions, provider, reader):
        ids = shop(sessions, provider)["ids"]
        got = read(reader)
        points = [attributes for values in got.values() for attributes, _ in values]
        assert len(points) == 14
        assert any(a.get("rulec.rule") == "VIP discount" for a in points)
        numbers = {str(i) for i in ids}
        for attributes in points:
            assert set(attributes) <= KEYS
            for key, value in attributes.items():
                assert isinstance(value, str)
                assert value not in numbers and value not in NAMES
                if key != "rulec.ruleset.version":  # a hash, in hex
                    assert not value.isdigit()
                assert not any(label in value for label in LABELS)


class TestLabelEvents:
    def test_a_label_linked_by_the_application_is_counted(self, sessions, provider, reader):
        rules = rulec.load_text(
            "label Gold, Welcomed for customer\n"
            'rule "Greet" on customer_labeled when label is Gold '
            "then add label Welcomed to customer end\n",
            "rules/labels.rules",
        )
        Engine(rules, meter_provider=provider).attach(sessions)
        with sessions.begin() as s:
            s.add_all([Customer(name="Ada"), Label(name="Gold", entity_type="customer")])
        with sessions.begin() as s:
            ada = s.scalars(select(Customer)).one()
            ada.labels.append(s.scalars(select(Label).where(Label.name == "Gold")).one())
        with sessions() as s:
            assert sorted(lb.name for lb in s.scalars(select(Customer)).one().labels) == [
                "Gold",
                "Welcomed",
            ]
        got = read(reader)
        assert by(got["rulec.decisions"], "rulec.event") == {("customer_labeled",): 1}
        assert by(got["rulec.rules.applied"], "rulec.rule") == {("Greet",): 1}
        assert by(got["rulec.decision.duration"], "rulec.event")["customer_labeled",].count == 1
        assert "rulec.discount.amount" not in got


class TestErrors:
    def test_a_rule_raised_with_raise_errors_is_counted(self, sessions, provider, reader):
        engine = Engine(shop_rules(), raise_errors=True, meter_provider=provider)
        engine.attach(sessions)
        with sessions() as s, pytest.raises(RuleRuntimeError):
            s.add(Order(subtotal=Decimal("10.00"), currency="EUR"))
            s.flush()
        got = read(reader)
        assert by(got["rulec.rule.errors"], "rulec.rule", "error.type") == {("boom", None): 1}
        assert "rulec.decisions" not in got  # nothing was decided

    def test_an_event_that_cannot_be_decided_is_counted_by_type(self, provider, reader):
        metrics = Metrics(provider)
        # an order in a currency rulec does not know: a decision without a rule's failure
        failure = RuleFailure("", "", 0, "unknown currency 'XTS': no rule was applied")
        metrics.decided(Decision("order_created", "v1", "XTS", Decimal(10), errors=(failure,)))
        # facts no rule can run on: the evaluation raises (a negative subtotal)
        rules = rulec.load_text(RULES, "rules/shop.rules")
        with pytest.raises(ValueError) as raised:
            metrics.evaluate(rules, "order_created", {"order": {"subtotal": Decimal("-1")}})
        got = read(reader)
        assert by(got["rulec.rule.errors"], "rulec.rule", "error.type") == {
            (None, "undecided"): 1,
            (None, type(raised.value).__name__): 1,
        }
        assert by(got["rulec.decisions"], "rulec.event") == {("order_created",): 1}


class TestThePurePath:
    def test_metrics_evaluate_records_what_the_engine_would(self, provider, reader):
        rules = rulec.load_text(RULES, "rules/shop.rules")
        order = {"subtotal": Decimal("120.00"), "currency": "EUR"}
        vip = {"customer": {"labels": {"Customer_VIP"}}, "order": order}
        d = Metrics(provider).evaluate(rules, "order_created", vip)
        assert d == rules.evaluate("order_created", vip)
        got = read(reader)
        assert by(got["rulec.decisions"], "rulec.event") == {("order_created",): 1}
        assert by(got["rulec.rules.applied"], "rulec.rule") == {("VIP discount",): 1}
        assert by(got["rulec.rules.lost"], "rulec.rule") == {("Welcome",): 1}
        assert by(got["rulec.discount.amount"], "rulec.rule", "currency") == {
            ("VIP discount", "EUR"): 12.0
        }

    def test_rule_set_evaluate_records_nothing(self, provider, reader):
        rules = rulec.load_text(RULES, "rules/shop.rules")
        metrics_for(provider)  # the instruments exist; the pure path does not use them
        rules.evaluate("order_created", {"order": {"subtotal": Decimal("1.00"), "currency": "EUR"}})
        assert read(reader) == {}

    def test_instruments_are_made_once_per_provider(self, provider):
        assert metrics_for(provider) is metrics_for(provider)
        assert metrics_for() is metrics_for()
        assert metrics_for(provider) is not metrics_for()


def test_the_global_provider_set_after_the_engine_was_made_is_used(tmp_path):
    """An engine made before the application sets its provider records into it
    (the API's proxy): run in a process of its own, the global is set once."""
    script = textwrap.dedent(
        f"""
        from decimal import Decimal
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        import rulec
        from rulec.engine.db.attach import Engine
        from rulec.storage import migrate
        from rulec.storage.models import Customer, Order
        from rulec.storage.session import make_engine, make_session_factory

        db = make_engine("sqlite:///{tmp_path / "shop.db"}")
        migrate.upgrade(db)
        sessions = make_session_factory(db)
        Engine(rulec.load_text('on order_created then discount 5% "Five"\\n')).attach(sessions)
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        with sessions.begin() as s:
            s.add(Order(subtotal=Decimal("10.00"), currency="EUR"))
        data = reader.get_metrics_data()
        [rm] = data.resource_metrics
        [sm] = rm.scope_metrics
        found = {{m.name: m.data.data_points[0].value for m in sm.metrics
                 if m.name != "rulec.decision.duration"}}
        print(sorted(found.items()))
        """
    )
    got = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == (
        "[('rulec.decisions', 1), ('rulec.discount.amount', 0.5), ('rulec.rules.applied', 1)]"
    )
