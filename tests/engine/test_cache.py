"""The rule-set cache: warm starts, and never trusting a cache file (data, never code)."""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rulec
from rulec.dsl.lower import Limits
from rulec.engine.core import cache
from rulec.engine.core.cache import CACHE_SUFFIX

VIP = 'label Customer_VIP for customer\non order_created when customer has label Customer_VIP then discount 10% "VIP New Order Discount"\n'  # noqa: E501
FACTS = {
    "customer": {"labels": {"Customer_VIP"}},
    "order": {"subtotal": Decimal("120.00"), "currency": "EUR"},
}


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "vip.rules").write_text(VIP, encoding="utf-8")
    return folder


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{CACHE_SUFFIX}"))


def load(rules_dir: Path, cache_dir: Path) -> rulec.RuleSet:
    return rulec.load_paths([rules_dir], cache=cache_dir)


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any parse/check/compile fail: a warm start must not need them."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the rule set was analysed again")

    monkeypatch.setattr(cache, "analyze", refuse)


class TestWarmStart:
    def test_first_load_writes_the_cache(self, rules_dir: Path, cache_dir: Path) -> None:
        rs = load(rules_dir, cache_dir)
        assert rs.evaluate("order_created", FACTS).total_amount == Decimal("108.00")
        assert len(cache_files(cache_dir)) == 1

    def test_second_load_comes_from_the_cache_and_decides_the_same(
        self, rules_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cold = load(rules_dir, cache_dir)
        no_parsing(monkeypatch)
        warm = load(rules_dir, cache_dir)
        assert warm.version == cold.version
        assert [(r.name, r.file, r.line, r.actions) for r in warm.rules] == [
            (r.name, r.file, r.line, r.actions) for r in cold.rules
        ]
        assert warm.evaluate("order_created", FACTS) == cold.evaluate("order_created", FACTS)
        assert warm.fact_keys == cold.fact_keys

    def test_usage_limits_come_back_from_the_cache(
        self, rules_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (rules_dir / "spring.rules").write_text(
            'rule "Spring" limit 100 uses limit 1 use per customer budget 1000.00 EUR '
            "budget 500 JPY uses given back when cancelled on order_created "
            'when order has coupon SPRING10 then discount 10% "Spring" end\n',
            encoding="utf-8",
        )
        cold = load(rules_dir, cache_dir)
        no_parsing(monkeypatch)
        warm = load(rules_dir, cache_dir)
        assert [r.limits for r in warm.rules] == [r.limits for r in cold.rules]
        assert warm.limited["Spring"].limits == Limits(
            100, 1, (("EUR", Decimal("1000.00")), ("JPY", Decimal("500"))), True
        )

    def test_coupon_families_and_limits_per_code_come_back_from_the_cache(
        self, rules_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (rules_dir / "families.rules").write_text(
            'coupon family Partner is "PARTNER-*", "FRIENDS"\n', encoding="utf-8"
        )
        (rules_dir / "partner.rules").write_text(
            'rule "Partner" limit 1 use per code on order_created '
            'when order has coupon in Partner then discount 15% "Partner" end\n',
            encoding="utf-8",
        )
        cold = load(rules_dir, cache_dir)
        no_parsing(monkeypatch)
        warm = load(rules_dir, cache_dir)
        assert warm.limited["Partner"].limits == Limits(per_code=1)
        assert [r.condition for r in warm.rules] == [r.condition for r in cold.rules]
        for code, amount in (("partner-7", "18.00"), ("FRIENDS", "18.00"), ("PARTNERX", "0.00")):
            facts = {"order": {**FACTS["order"], "coupons": [code]}}
            assert warm.evaluate("order_created", facts).discount_amount == Decimal(amount)

    def test_discounts_on_lines_and_tiers_come_back_from_the_cache(
        self, rules_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        shipped = Path(__file__).parents[2] / "rules" / "promotions.rules"
        (rules_dir / "promotions.rules").write_text(shipped.read_text("utf-8"), "utf-8")
        golden = Path(__file__).parents[1] / "golden" / "good" / "line_discounts.rules"
        text = golden.read_text("utf-8").replace('rule "Clearance sale"', 'rule "Sale"')
        (rules_dir / "lines.rules").write_text(text, "utf-8")
        cold = load(rules_dir, cache_dir)
        no_parsing(monkeypatch)
        warm = load(rules_dir, cache_dir)
        assert [(r.name, r.actions, r.facts) for r in warm.rules] == [
            (r.name, r.actions, r.facts) for r in cold.rules
        ]
        facts = {
            "customer": {"labels": {"Newsletter"}},
            "order": {"subtotal": Decimal("230.00"), "currency": "EUR"},
            "item": [
                {"labels": {"Socks"}, "quantity": 3, "unit_price": Decimal("10.00")},
                {"labels": {"Clearance"}, "quantity": 1, "unit_price": Decimal("200.00")},
            ],
        }
        assert warm.evaluate("order_created", facts) == cold.evaluate("order_created", facts)

    def test_a_changed_rule_file_is_compiled_again(self, rules_dir: Path, cache_dir: Path) -> None:
        load(rules_dir, cache_dir)
        (rules_dir / "vip.rules").write_text(VIP.replace("10%", "20%"), encoding="utf-8")
        rs = load(rules_dir, cache_dir)
        assert rs.evaluate("order_created", FACTS).total_amount == Decimal("96.00")
        assert len(cache_files(cache_dir)) == 2

    def test_another_vocabulary_is_another_key(self, rules_dir: Path) -> None:
        sources = rulec.Source.from_text(VIP, "vip.rules")
        other = rulec.Vocabulary(rulec.DEFAULT_VOCABULARY.entities, ())
        assert cache.cache_key([sources], rulec.DEFAULT_VOCABULARY) != cache.cache_key(
            [sources], other
        )

    def test_a_changed_compiler_is_another_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        sources = [rulec.Source.from_text(VIP, "vip.rules")]
        before = cache.cache_key(sources, rulec.DEFAULT_VOCABULARY)
        monkeypatch.setattr(cache, "_compiler_fingerprint", lambda: b"another compiler")
        assert cache.cache_key(sources, rulec.DEFAULT_VOCABULARY) != before

    def test_renaming_a_file_is_another_key(self) -> None:
        a = cache.cache_key([rulec.Source.from_text(VIP, "a.rules")], rulec.DEFAULT_VOCABULARY)
        b = cache.cache_key([rulec.Source.from_text(VIP, "b.rules")], rulec.DEFAULT_VOCABULARY)
        assert a != b

    def test_old_cache_files_are_pruned(self, rules_dir: Path, cache_dir: Path) -> None:
        for n in range(cache.KEEP + 3):
            (rules_dir / "vip.rules").write_text(VIP.replace("10%", f"{n + 1}%"), encoding="utf-8")
            load(rules_dir, cache_dir)
        assert len(cache_files(cache_dir)) == cache.KEEP

    def test_rules_with_errors_raise_and_are_not_cached(
        self, rules_dir: Path, cache_dir: Path
    ) -> None:
        (rules_dir / "vip.rules").write_text(VIP.replace("order_created", "order_crated"))
        with pytest.raises(rulec.RulesCheckError):
            load(rules_dir, cache_dir)
        assert cache_files(cache_dir) == []

    def test_an_unwritable_cache_folder_only_costs_the_speed_up(
        self, rules_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the cache folder should be")
        with caplog.at_level(logging.WARNING, logger="rulec.engine"):
            rs = load(rules_dir, blocker / "cache")
        assert rs.evaluate("order_created", FACTS).total_amount == Decimal("108.00")
        assert "cannot write rule cache" in caplog.text


class TestNeverTrusted:
    """Damaged, stale or forged cache files are ignored, rebuilt and replaced."""

    def damage_and_reload(
        self,
        rules_dir: Path,
        cache_dir: Path,
        damage: object,
        caplog: pytest.LogCaptureFixture,
    ) -> rulec.RuleSet:
        load(rules_dir, cache_dir)
        (path,) = cache_files(cache_dir)
        data = path.read_bytes()
        path.write_bytes(damage(data))  # type: ignore[operator]
        with caplog.at_level(logging.WARNING, logger="rulec.engine"):
            rs = load(rules_dir, cache_dir)
        assert "damaged or stale" in caplog.text
        # the bad file was replaced by a good one
        (again,) = cache_files(cache_dir)
        assert cache._unwrap(again.read_bytes(), self.key_of(rules_dir)) is not None
        return rs

    @pytest.mark.parametrize(
        "damage",
        [
            lambda d: b"",
            lambda d: d[: len(d) // 2],
            lambda d: d[:-1],
            lambda d: d[:100] + bytes([d[100] ^ 0xFF]) + d[101:],
            lambda d: b"NOT-A-CACHE" + d[11:],
            lambda d: os.urandom(len(d)),
        ],
        ids=["empty", "half", "last-byte-cut", "bit-flip", "bad-magic", "random"],
    )
    def test_damaged_files_are_rebuilt(
        self, rules_dir: Path, cache_dir: Path, damage: object, caplog: pytest.LogCaptureFixture
    ) -> None:
        rs = self.damage_and_reload(rules_dir, cache_dir, damage, caplog)
        assert rs.evaluate("order_created", FACTS).total_amount == Decimal("108.00")

    def forge(self, content: object) -> bytes:
        """A cache file with a valid header and checksum around ``content``."""
        payload = marshal.dumps(content)
        return cache._MAGIC + hashlib.sha256(payload).digest() + payload

    def key_of(self, rules_dir: Path) -> str:
        key = cache.cache_key(rulec.dsl.sources.read_sources([rules_dir]), rulec.DEFAULT_VOCABULARY)
        assert key is not None
        return key

    def written(self, rules_dir: Path, cache_dir: Path) -> tuple[Path, list[Any]]:
        """The cache file rulec writes for ``rules_dir``, and its content (as lists)."""
        load(rules_dir, cache_dir)
        (path,) = cache_files(cache_dir)
        content = marshal.loads(path.read_bytes()[len(cache._MAGIC) + 32 :])
        return path, as_lists(content)

    @pytest.mark.parametrize(
        "forgery",
        [
            # the shape of the rule's condition
            lambda c: set_in(c, SHAPE, ("Exec", "customer.labels", False)),
            lambda c: set_in(c, SHAPE, ("HasLabel", "customer.labels")),
            lambda c: set_in(c, SHAPE, ("HasLabel", "customer.labels", False, True)),
            lambda c: set_in(c, SHAPE, ("HasLabel", 7, False)),
            lambda c: set_in(c, SHAPE, ("HasLabel", "customer.labels", "no")),
            lambda c: set_in(c, SHAPE, ("Compare", "order.subtotal", "is", False)),
            lambda c: set_in(c, SHAPE, ("HasAnyLabel", "customer.labels", 10**9, False)),
            lambda c: set_in(c, SHAPE, deep(1500)),
            lambda c: set_in(c, SHAPE, "HasLabel"),
            lambda c: set_in(c, SHAPES, ("HasLabel", "customer.labels", False)),
            # the rule's constants and which shape it has
            lambda c: set_in(c, CONSTANTS, ()),
            lambda c: set_in(c, CONSTANTS, ("Customer_VIP", "Other")),
            lambda c: set_in(c, CONSTANTS, (1,)),
            lambda c: set_in(c, CONSTANTS, (b"Customer_VIP",)),
            lambda c: set_in(c, CONSTANTS, (("D", "10"),)),
            lambda c: set_in(c, CONSTANTS, (1.5,)),
            lambda c: set_in(c, SHAPE_INDEX, 1),
            lambda c: set_in(c, SHAPE_INDEX, -2),
            lambda c: set_in(c, SHAPE_INDEX, True),
            lambda c: set_in(c, POSITIONS, ()),
            lambda c: set_in(c, POSITIONS, ("2", 23, 2, 54)),
            lambda c: set_in(c, POSITIONS, (2**40, 23, 2, 54)),
            lambda c: set_in(c, POSITIONS, (2, 23, 2, 54, 2, 23, 2, 54)),
            # the rule's record
            lambda c: set_in(c, ROW, ("rule_0001",)),
            lambda c: set_in(c, [*ROW, 0], 1),
            lambda c: set_in(c, [*ROW, 2], "2"),
            lambda c: set_in(c, [*ROW, 6], 10**12),
            lambda c: set_in(c, [*ROW, 7], 1),
            lambda c: set_in(c, [*ROW, 10], ("T", "2026-01-01T00:00:00")),
            lambda c: set_in(c, [*ROW, 10], ("T", "tomorrow")),
            lambda c: set_in(c, [*ROW, 13], (("customer",),)),
            lambda c: set_in(c, [*ROW, 14], (1,)),
            lambda c: set_in(c, ACTION, ("exec", "x")),
            lambda c: set_in(c, ACTION, ("percent", ("D", "10"), "VIP")),
            lambda c: set_in(c, [*ACTION, 1], ("D", "NaN")),
            lambda c: set_in(c, [*ACTION, 1], ("D", "1e2")),
            lambda c: set_in(c, [*ACTION, 1], ("D", "9" * 100_000)),
            lambda c: set_in(c, [*ACTION, 1], 10),
            lambda c: set_in(c, [*ROW, 5, 0], 1),
            lambda c: set_in(c, [*ROW, 5, 0], -1),
            lambda c: set_in(c, [*ROW, 5, 0], "0"),
            lambda c: set_in(c, [3, 0, 2], "percent"),
            lambda c: set_in(c, [*ROW, 19], 5),
            lambda c: set_in(c, [*ROW, 20], (5,)),
            lambda c: set_in(c, [*ROW, 20], "Loyalty"),
            lambda c: set_in(c, [*ROW, 21], "limits"),
            lambda c: set_in(c, [*ROW, 21], (0, None, (), False)),
            lambda c: set_in(c, [*ROW, 21], (None, None, (("EUR", "NaN"),), False)),
            lambda c: set_in(c, [*ROW, 21], (None, None, (("EUR", 5),), False)),
            lambda c: set_in(c, [*ROW, 21], (None, 1, (), 1)),
        ],
        ids=[
            "unknown-kind",
            "field-missing",
            "field-extra",
            "key-not-text",
            "flag-not-bool",
            "unknown-operator",
            "huge-arity",
            "too-deep",
            "shape-not-a-tuple",
            "shapes-not-shapes",
            "constants-missing",
            "constants-extra",
            "label-not-text",
            "label-bytes",
            "label-a-decimal",
            "float",
            "shape-out-of-range",
            "shape-negative",
            "shape-bool",
            "positions-missing",
            "position-not-int",
            "position-huge",
            "positions-extra",
            "record-short",
            "id-not-text",
            "line-not-int",
            "priority-huge",
            "enabled-not-bool",
            "naive-instant",
            "not-an-instant",
            "label-index-not-pairs",
            "facts-not-texts",
            "unknown-action",
            "action-short",
            "percent-nan",
            "percent-not-as-written",
            "percent-huge",
            "percent-not-tagged",
            "action-out-of-range",
            "action-negative",
            "action-not-an-index",
            "actions-not-a-table",
            "group-not-text",
            "after-not-texts",
            "after-not-a-tuple",
            "limits-not-a-tuple",
            "limit-zero",
            "budget-nan",
            "budget-not-text",
            "give-back-not-bool",
        ],
    )
    def test_forged_values_are_refused_and_rebuilt(
        self,
        rules_dir: Path,
        cache_dir: Path,
        forgery: Any,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        path, content = self.written(rules_dir, cache_dir)
        content[2] = "forged"  # the version: a rule set from this file would carry it
        forgery(content)
        path.write_bytes(self.forge(as_tuples(content)))
        with caplog.at_level(logging.WARNING, logger="rulec.engine"):
            rs = load(rules_dir, cache_dir)
        assert "damaged or stale" in caplog.text
        assert rs.version != "forged"
        assert rs.evaluate("order_created", FACTS).total_amount == Decimal("108.00")

    def test_the_file_rulec_writes_is_accepted_as_it_is(
        self, rules_dir: Path, cache_dir: Path
    ) -> None:
        """Control for the test above: the same file, only its version changed, is read."""
        path, content = self.written(rules_dir, cache_dir)
        content[2] = "forged"
        path.write_bytes(self.forge(as_tuples(content)))
        rs = load(rules_dir, cache_dir)
        assert rs.version == "forged"
        assert rs.evaluate("order_created", FACTS).total_amount == Decimal("108.00")

    @pytest.mark.parametrize(
        "content",
        [
            "not a tuple",
            (cache.FORMAT + 1, "KEY", "v", ()),
            (cache.FORMAT, "another key", "v", ()),
            (cache.FORMAT, "KEY", 1, ()),
            (cache.FORMAT, "KEY", "v", [("vip.rules", (), ())]),
            (cache.FORMAT, "KEY", "v", (("vip.rules", (), [()]),)),
            (cache.FORMAT, "KEY", "v", (("vip.rules",),)),
            (cache.FORMAT, "KEY", "v", ((7, (), ()),)),
        ],
        ids=[
            "not-a-tuple",
            "other-format",
            "other-key",
            "bad-version",
            "files-in-a-list",
            "rules-in-a-list",
            "short",
            "file-not-text",
        ],
    )
    def test_unexpected_content_is_rebuilt(
        self,
        rules_dir: Path,
        cache_dir: Path,
        content: object,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        key = self.key_of(rules_dir)
        if isinstance(content, tuple):
            content = tuple(key if c == "KEY" else c for c in content)
        cache_dir.mkdir()
        (cache_dir / f"{key}{CACHE_SUFFIX}").write_bytes(self.forge(content))
        with caplog.at_level(logging.WARNING, logger="rulec.engine"):
            rs = load(rules_dir, cache_dir)
        assert "damaged or stale" in caplog.text
        assert rs.evaluate("order_created", FACTS).total_amount == Decimal("108.00")


#: Where things are in the content of the VIP rule set's cache file (``as_lists``).
SHAPES = [3, 0, 1]
SHAPE = [*SHAPES, 0]
ACTION = [3, 0, 2, 0]
ROW = [3, 0, 3, 0]
SHAPE_INDEX = [*ROW, 16]
CONSTANTS = [*ROW, 17]
POSITIONS = [*ROW, 18]


def as_lists(value: Any) -> Any:
    return [as_lists(v) for v in value] if isinstance(value, tuple) else value


def as_tuples(value: Any) -> Any:
    return tuple(as_tuples(v) for v in value) if isinstance(value, list) else value


def set_in(content: list[Any], where: list[int], value: Any) -> None:
    """Put ``value`` at the path ``where`` of the content (as lists)."""
    target = content
    for n in where[:-1]:
        target = target[n]
    target[where[-1]] = value


def deep(n: int) -> tuple[Any, ...]:
    """A shape of ``n`` nested negations."""
    shape: tuple[Any, ...] = ("HasLabel", "customer.labels", False)
    for _ in range(n):
        shape = ("Negation", shape)
    return shape


class TestEngine:
    def test_engine_loads_and_reloads_through_the_cache(
        self, rules_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cold = rulec.Engine.from_paths([rules_dir], cache=cache_dir)
        assert len(cache_files(cache_dir)) == 1
        no_parsing(monkeypatch)
        warm = rulec.Engine.from_paths([rules_dir], cache=cache_dir)
        assert warm.rules.version == cold.rules.version
        assert warm.reload() is True
        assert warm.rules.evaluate("order_created", FACTS).total_amount == Decimal("108.00")
