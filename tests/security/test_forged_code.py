"""No code but the compiler's: a cache file holds data, and forged data runs nothing.

A loaded rule set's cache file holds its lowered rules as plain data
(tuples, texts, whole numbers, booleans, None; decimals and instants as
texts): the shapes of the conditions and, per rule, its record, its
constants and positions. A warm start compiles the factories again from the
shapes, which only ever name the compiler's and the runtime's names, and
calls them with the constants as values. So code smuggled anywhere into a
cache file (a code object, a hostile text, a shape naming something that is
not a kind of condition) is refused and the rule set rebuilt, or stays an
inert value; it is never run.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import types
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rulec
from rulec.engine.core import cache
from rulec.engine.core.cache import CACHE_SUFFIX

VIP = (
    "label Customer_VIP for customer\n"
    'on order_created when customer has label Customer_VIP then discount 10% "VIP"\n'
)
FACTS = {
    "customer": {"labels": {"Customer_VIP"}},
    "order": {"subtotal": Decimal("120.00"), "currency": "EUR"},
}
EVIL = "__import__('os').system('touch PWNED')"


def forge(content: object) -> bytes:
    """A cache file with a valid header and checksum around ``content``."""
    payload = marshal.dumps(content)
    return cache._MAGIC + hashlib.sha256(payload).digest() + payload


def content_of(path: Path) -> Any:
    return marshal.loads(path.read_bytes()[len(cache._MAGIC) + 32 :])


def plain(value: Any) -> bool:
    """Whether ``value`` is plain data: tuples of texts, whole numbers, booleans, None."""
    if isinstance(value, tuple):
        return all(plain(v) for v in value)
    return type(value) in (str, int, bool, type(None))


def evil_code(source: str) -> types.CodeType:
    return compile(source, "vip.rules", "exec")


def warm_cache(folder: Path) -> tuple[Path, Path, list[Any]]:
    """A rules folder with VIP, its cache file, and the file's content (version "forged")."""
    rules_dir = folder / "rules"
    rules_dir.mkdir()
    (rules_dir / "vip.rules").write_text(VIP, encoding="utf-8")
    rulec.load_paths([rules_dir], cache=folder / "cache")
    (path,) = (folder / "cache").glob(f"*{CACHE_SUFFIX}")
    fmt, key, _, ((file, shapes, actions, (row,)),) = content_of(path)
    return rules_dir, path, [fmt, key, "forged", file, list(shapes), list(actions), list(row)]


def rewrite(path: Path, parts: list[Any]) -> None:
    fmt, key, version, file, shapes, actions, row = parts
    entry = (file, tuple(shapes), tuple(actions), (tuple(row),))
    path.write_bytes(forge((fmt, key, version, (entry,))))


def test_the_file_rulec_writes_is_plain_data(tmp_path: Path) -> None:
    rules_dir, path, _ = warm_cache(tmp_path)
    assert plain(content_of(path))
    warm = rulec.load_paths([rules_dir], cache=tmp_path / "cache")
    assert warm.evaluate("order_created", FACTS).total_amount == Decimal("108.00")


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("constant", evil_code("open('PWNED', 'w')")),
        ("constant", ("S", (evil_code("open('PWNED', 'w')"),))),
        ("shape", ("HasLabel", evil_code("open('PWNED', 'w')"), False)),
        ("shape", evil_code("open('PWNED', 'w')")),
        ("shape", ("open", "PWNED", "w")),
        ("shape", ("__import__", "os")),
        ("action", ("percent", evil_code("open('PWNED', 'w')"), "VIP", None, None)),
        ("title", evil_code("open('PWNED', 'w')")),
        ("description", evil_code("open('PWNED', 'w')")),
    ],
    ids=[
        "code-as-constant",
        "code-in-a-set",
        "code-as-fact-key",
        "code-as-shape",
        "builtin-as-kind",
        "import-as-kind",
        "code-as-amount",
        "code-as-title",
        "code-as-description",
    ],
)
def test_forged_code_in_a_cache_file_is_refused_and_never_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    where: str,
    value: Any,
) -> None:
    monkeypatch.chdir(tmp_path)
    rules_dir, path, parts = warm_cache(tmp_path)
    row = parts[6]
    if where == "constant":
        row[17] = (value,)
    elif where == "shape":
        parts[4] = [value]
    elif where == "action":
        parts[5] = [value]
    elif where == "title":
        parts[5] = [("percent", ("D", "10"), value, None, None)]
    else:
        row[12] = value
    rewrite(path, parts)
    with caplog.at_level(logging.WARNING, logger="rulec.engine"):
        rules = rulec.load_paths([rules_dir], cache=tmp_path / "cache")
    assert "damaged or stale" in caplog.text
    assert rules.version != "forged"
    assert rules.evaluate("order_created", FACTS).total_amount == Decimal("108.00")
    assert not (tmp_path / "PWNED").exists()


def test_hostile_text_in_a_cache_file_stays_an_inert_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control for the test above: well-formed data is read, and a text is only ever a text.

    The forged label is the rule's constant: the rule matches a customer
    carrying that very label, compared as a plain string, and runs nothing.
    """
    monkeypatch.chdir(tmp_path)
    rules_dir, path, parts = warm_cache(tmp_path)
    row = parts[6]
    row[13] = (("customer", EVIL),)  # the label index
    row[17] = (EVIL,)
    rewrite(path, parts)
    rules = rulec.load_paths([rules_dir], cache=tmp_path / "cache")
    assert rules.version == "forged"
    (rule,) = rules.rules
    assert rule.lowered is not None and rule.lowered.constants == (EVIL,)
    assert EVIL not in "".join(str(c) for c in rule.test.__code__.co_consts)
    assert rule.test({"customer.labels": frozenset({EVIL})}) is True
    assert rule.test({"customer.labels": frozenset({EVIL + " "})}) is False
    assert rules.evaluate("order_created", FACTS).total_amount == Decimal("120.00")
    evil_facts = {**FACTS, "customer": {"labels": {EVIL}}}
    assert rules.evaluate("order_created", evil_facts).total_amount == Decimal("108.00")
    assert not (tmp_path / "PWNED").exists()
