"""No code but the compiler's: ``FN_``, and the cache's check of the code it reads.

A loaded rule set's module holds its rule functions as a tuple of code
objects, which the runtime's ``FN_`` turns into functions (rules of one
shape are made from one compiled code object: ``rulec.dsl.codetemplate``).
``FN_`` only makes functions in a namespace without builtins, and a cache
file is refused when any code object in it, tuples of constants opened,
names anything but the compiler's and the runtime's names.
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
from rulec.engine.core.sandbox import FN_

VIP = (
    "label Customer_VIP for customer\n"
    'on order_created when customer has label Customer_VIP then discount 10% "VIP"\n'
)
FACTS = {
    "customer": {"labels": {"Customer_VIP"}},
    "order": {"subtotal": Decimal("120.00"), "currency": "EUR"},
}


def sandboxed() -> dict[str, Any]:
    """A namespace as the loader makes it: the runtime's names, no builtins."""
    namespace: dict[str, Any] = {"FN_": FN_, "__builtins__": {}}
    return namespace


class TestFN:
    def test_makes_functions_in_the_modules_namespace(self):
        namespace = sandboxed()
        code = compile("def rule_0001(facts):\n    return facts", "x.rules", "exec")
        (function_code,) = [c for c in code.co_consts if isinstance(c, types.CodeType)]
        exec(compile("anchor = lambda: None", "x.rules", "exec"), namespace)
        (made,) = FN_(namespace["anchor"], (function_code,))
        assert made.__globals__ is namespace and made.__name__ == "rule_0001"
        assert made(7) == 7

    def test_refuses_a_namespace_with_builtins(self):
        # a function of this module (full builtins), or of the runtime's
        code = (lambda facts: facts).__code__
        with pytest.raises(TypeError, match="without builtins"):
            FN_(lambda: None, (code,))
        with pytest.raises(TypeError, match="without builtins"):
            FN_(rulec.engine.core.sandbox.D, (code,))  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "codes",
        [["not a tuple"], ("not code",), ((lambda x: lambda: x).__code__.co_consts[1],)],
        ids=["list", "not-code", "closure"],
    )
    def test_refuses_anything_but_a_tuple_of_plain_code_objects(self, codes: Any):
        namespace = sandboxed()
        exec(compile("anchor = lambda: None", "x.rules", "exec"), namespace)
        with pytest.raises(TypeError):
            FN_(namespace["anchor"], codes)

    def test_loaded_rules_run_without_builtins(self):
        rules = rulec.load_text(VIP + VIP.split("\n")[1].replace("10%", "20%") + "\n")
        assert len(rules) == 2
        for rule in rules.rules:
            assert rule.test.__globals__["__builtins__"] == {}


# ------------------------------------------------------------------ cache ---


def forge(content: object) -> bytes:
    """A cache file with a valid header and checksum around ``content``."""
    payload = marshal.dumps(content)
    return cache._MAGIC + hashlib.sha256(payload).digest() + payload


def hidden(evil: str, container: type = tuple) -> types.CodeType:
    """A module as the compiler makes it by shape, with a forged rule function inside.

    ``RULES = RULES_(FN_(lambda: None, (<code>,)), (<record>,))``: the code
    object is in a tuple (or another container) of constants, as the rule
    functions are.
    """
    evil_module = compile(evil, "vip.rules", "exec")
    (function,) = [c for c in evil_module.co_consts if isinstance(c, types.CodeType)]
    record = (
        '["rule_0001", "vip.rules:2", "vip.rules", 2, 1, "order_created", '
        '[["percent", "10", "VIP", null, null]], 0, true, false, false, null, null, null, '
        'null, ["customer.labels"], false]'
    )
    module = compile(
        "RULES = RULES_(FN_(lambda: None, ('placeholder',)), ('RECORD',))", "vip.rules", "exec"
    )
    consts = []
    for c in module.co_consts:
        if c == ("placeholder",):
            c = container([function])
        elif c == ("RECORD",):
            c = (record,)
        consts.append(c)
    return module.replace(co_consts=tuple(consts))


@pytest.mark.parametrize(
    ("evil", "container"),
    [
        ("def rule_0001(facts):\n    return facts.__class__", tuple),
        ("def rule_0001(facts):\n    return open('PWNED', 'w')", tuple),
        ("def rule_0001(facts):\n    return open('PWNED', 'w')", frozenset),
        ("def rule_0001(facts):\n    return True", list),
    ],
    ids=["attribute-in-tuple", "builtin-in-tuple", "builtin-in-frozenset", "code-in-a-list"],
)
def test_a_cache_file_hiding_code_in_constants_is_never_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    evil: str,
    container: type,
) -> None:
    monkeypatch.chdir(tmp_path)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "vip.rules").write_text(VIP, encoding="utf-8")
    key = cache.cache_key(rulec.dsl.sources.read_sources([rules_dir]), rulec.DEFAULT_VOCABULARY)
    assert key is not None
    forged = (cache.FORMAT, key, "forged", [("vip.rules", (hidden(evil, container),), 1, ())])
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / f"{key}{CACHE_SUFFIX}").write_bytes(forge(forged))
    with caplog.at_level(logging.WARNING, logger="rulec.engine"):
        rules = rulec.load_paths([rules_dir], cache=cache_dir)
    assert "damaged or stale" in caplog.text
    assert rules.version != "forged"
    assert rules.evaluate("order_created", FACTS).total_amount == Decimal("108.00")
    assert not (tmp_path / "PWNED").exists()


def test_a_cache_file_written_by_rulec_is_accepted(tmp_path: Path) -> None:
    """The check above is not refusing everything: rulec's own file (functions in a tuple) loads."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "vip.rules").write_text(VIP, encoding="utf-8")
    cold = rulec.load_paths([rules_dir], cache=tmp_path / "cache")
    (path,) = (tmp_path / "cache").glob(f"*{CACHE_SUFFIX}")
    key = path.name.removesuffix(CACHE_SUFFIX)
    unwrapped = cache._unwrap(path.read_bytes(), key)
    assert unwrapped is not None
    _, (module,) = unwrapped
    functions = [c for code in module.codes for c in code.co_consts if isinstance(c, tuple)]
    assert any(isinstance(f, types.CodeType) for t in functions for f in t)
    warm = rulec.load_paths([rules_dir], cache=tmp_path / "cache")
    assert warm.evaluate("order_created", FACTS) == cold.evaluate("order_created", FACTS)


def test_the_same_file_with_harmless_code_is_read(tmp_path: Path) -> None:
    """Control for the test above: what is refused there is the code, not the file's form."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "vip.rules").write_text(VIP, encoding="utf-8")
    key = cache.cache_key(rulec.dsl.sources.read_sources([rules_dir]), rulec.DEFAULT_VOCABULARY)
    harmless = hidden(
        "def rule_0001(facts):\n    return 'Customer_VIP' in facts['customer.labels']"
    )
    content = (cache.FORMAT, key, "forged", [("vip.rules", (harmless,), 1, ())])
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{key}{CACHE_SUFFIX}").write_bytes(forge(content))
    rules = rulec.load_paths([rules_dir], cache=tmp_path / "cache")
    assert rules.version == "forged"
    assert rules.evaluate("order_created", FACTS).total_amount == Decimal("108.00")
