"""The compiled rule-set cache: warm starts, and never trusting a cache file."""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
from decimal import Decimal
from pathlib import Path

import pytest

import rulec
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

    @pytest.mark.parametrize(
        "code",
        [
            "RULES = ().__class__.__base__.__subclasses__()",
            "RULES = __import__('os').system('touch PWNED')",
            "def rule_0001(facts):\n    return facts.__class__\nRULES = ()",
            "RULES = open('PWNED', 'w')",
        ],
        ids=["attribute", "import", "attribute-in-function", "builtin"],
    )
    def test_forged_code_is_never_run(
        self,
        rules_dir: Path,
        cache_dir: Path,
        code: str,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        monkeypatch.chdir(tmp_path)
        key = self.key_of(rules_dir)
        evil = compile(code, "vip.rules", "exec")
        content = (cache.FORMAT, key, "forged", [("vip.rules", (evil,), 1, ())])
        cache_dir.mkdir()
        (cache_dir / f"{key}{CACHE_SUFFIX}").write_bytes(self.forge(content))
        with caplog.at_level(logging.WARNING, logger="rulec.engine"):
            rs = load(rules_dir, cache_dir)
        assert "damaged or stale" in caplog.text
        assert rs.version != "forged"
        assert not (tmp_path / "PWNED").exists()
        assert rs.evaluate("order_created", FACTS).total_amount == Decimal("108.00")

    @pytest.mark.parametrize(
        "content",
        [
            "not a tuple",
            (cache.FORMAT + 1, "KEY", "v", []),
            (cache.FORMAT, "another key", "v", []),
            (cache.FORMAT, "KEY", 1, []),
            (cache.FORMAT, "KEY", "v", [("vip.rules", ("not code",), 1, ())]),
            (cache.FORMAT, "KEY", "v", [("vip.rules", (), 1, ())]),
            (cache.FORMAT, "KEY", "v", [("vip.rules",)]),
        ],
        ids=[
            "not-a-tuple",
            "other-format",
            "other-key",
            "bad-version",
            "not-code",
            "no-code",
            "short",
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
