"""A cache of loaded rule sets on disk: their lowered rules, as plain data.

An order backend that restarts with unchanged rule files should not parse,
check and lower them again. :func:`load_sources` looks for a cache file
whose key is the hash of everything the lowered rules depend on (the rule
files' paths and texts, the vocabulary, the rulec version); on a hit it
builds the rule set from the lowered rules stored there (compiling one
factory per condition shape, as a cold load does), otherwise it builds the
rule set as usual and writes the cache file for next time.

A cache file holds data, never code: tuples, strings, whole numbers,
booleans and None (decimals and instants as their text), so a forged file
cannot run anything. It is still never trusted: it is used only when its
header, its SHA-256 checksum, its key and every value in it are what this
version writes (each shape a known kind of condition with its fields, each
rule's constants as many as its shape's slots and of the types they take,
every text, number and position within bounds). Anything else (a
truncated, corrupt, stale or forged file) is ignored and replaced. Writing
is atomic (a temporary file renamed into place) and a cache folder that
cannot be written only costs the speed-up. Only rule sets without errors
are cached.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import marshal
import os
import tempfile
from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from importlib import resources
from itertools import chain, repeat
from operator import ne
from pathlib import Path
from typing import Any

from rulec.dsl import compiler
from rulec.dsl.compiler import CompiledModule, compile_lowered
from rulec.dsl.gcpause import paused_gc
from rulec.dsl.lower import Limits, LoweredRule
from rulec.dsl.lowered import Condition
from rulec.dsl.parser import MAX_PRIORITY
from rulec.dsl.shapes import Lowered, shape_tree, slot_types, split
from rulec.dsl.sources import Source, analyze
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core import rules as records
from rulec.engine.core import sandbox as runtime
from rulec.engine.core.load import from_analysis, load_modules
from rulec.engine.core.ruleset import RuleSet

__all__ = ["CACHE_SUFFIX", "cache_key", "load_sources"]

logger = logging.getLogger("rulec.engine")

#: Bumped whenever the layout of a cache file changes.
FORMAT = 8
_MAGIC = b"RULEC-CACHE\0"
CACHE_SUFFIX = ".rulec-cache"
#: Cache files kept per folder; older ones (rule sets since changed) are removed.
KEEP = 8


@functools.cache
def _compiler_fingerprint() -> bytes:
    """A hash of the code that decides what lowered rules are: the front end and runtime.

    Part of every key, so a changed front end (a new release, or a
    developer's edit) never loads what an older one cached.
    """
    h = hashlib.sha256()
    files = sorted(Path(compiler.__file__).parent.glob("*.py"))
    files += [Path(runtime.__file__), Path(records.__file__)]
    files += [Path(str(resources.files("rulec.grammar") / "rules.lark"))]
    for f in files:
        h.update(f.name.encode() + b"\0")
        try:
            h.update(f.read_bytes())
        except OSError:  # pragma: no cover - an installation without sources
            h.update(b"?")
    return h.digest()


def cache_key(sources: Sequence[Source], vocabulary: Vocabulary) -> str | None:
    """The hash a rule set's cache file is named by; None when it cannot be cached."""
    if any(s.text is None or s.diagnostics for s in sources):
        return None
    parts = [
        f"rulec-cache {FORMAT}".encode(),
        _compiler_fingerprint(),
        repr(vocabulary).encode("utf-8", "surrogatepass"),
    ]
    for s in sources:
        assert s.text is not None
        parts += [
            s.path.encode("utf-8", "surrogatepass"),
            s.name.encode("utf-8", "surrogatepass"),  # names its one-line rules
            s.text.encode("utf-8", "surrogatepass"),
        ]
    h = hashlib.sha256()
    for part in parts:  # length-prefixed, so that no two lists of parts hash alike
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


def load_sources(
    sources: Sequence[Source],
    vocabulary: Vocabulary,
    directory: str | os.PathLike[str] | None = None,
) -> RuleSet:
    """The rule set of ``sources``, from the cache in ``directory`` when it has it.

    On a miss, or with no ``directory``, the rule set is analysed and
    compiled (raising RulesCheckError on errors, like
    :func:`rulec.engine.core.load.from_analysis`), then cached in ``directory``.
    """
    if directory is None:
        return from_analysis(analyze(sources, vocabulary, lint=False), vocabulary)
    folder = Path(directory)
    key = cache_key(sources, vocabulary)
    if key is not None:
        cached = _read(folder / f"{key}{CACHE_SUFFIX}", key, vocabulary)
        if cached is not None:
            return cached
    rules = from_analysis(analyze(sources, vocabulary, lint=False), vocabulary)
    if key is not None:
        _write(folder, key, rules)
    return rules


# ---------------------------------------------------------------- reading ---


def _read(path: Path, key: str, vocabulary: Vocabulary) -> RuleSet | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        logger.warning("rule cache %s unreadable, rebuilding: %s", path, e.strerror)
        return None
    with paused_gc():  # (see rulec.dsl.gcpause: a rule set's objects are long-lived)
        payload = _unwrap(data, key)
        if payload is None:
            logger.warning("rule cache %s is damaged or stale; rebuilding it", path)
            return None
        version, modules = payload
        return load_modules(modules, version, vocabulary)


def _unwrap(data: bytes, key: str) -> tuple[str, list[CompiledModule]] | None:
    """The checked content of a cache file, compiled; None for anything unexpected."""
    head = len(_MAGIC) + 32
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    digest, payload = data[len(_MAGIC) : head], data[head:]
    if hashlib.sha256(payload).digest() != digest:
        return None
    try:
        content = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    try:
        fmt, stored_key, version, entries = content
        if fmt != FORMAT or stored_key != key or type(version) is not str:
            return None
        if type(entries) is not tuple:
            return None
        modules = [_module(entry) for entry in entries]
    except (_Refused, TypeError, ValueError, ArithmeticError, RecursionError):
        return None  # not the data this version writes
    return version, modules


class _Refused(Exception):
    """A value of a cache file that this version does not write."""


#: Bounds of the numbers a cache file may hold (rulec writes none beyond them).
MAX_NUMBER_TEXT = 400
MAX_INT_BITS = 256
MAX_POSITION = 2**31

_NONE = type(None)
#: The types of a rule's row, field by field (see ``_entry``); several where a field may be None.
_ROW: tuple[set[type], ...] = tuple(
    set(types)
    for types in (
        (str,),  # id
        (str,),  # name
        (int,),  # line
        (int,),  # column
        (str,),  # event
        (tuple,),  # actions: indexes in the entry's table of actions
        (int,),  # priority
        (bool,),  # enabled
        (bool,),  # exclusive
        (bool,),  # combinable
        (_NONE, tuple),  # valid_from
        (_NONE, tuple),  # valid_until
        (_NONE, str),  # description
        (_NONE, tuple),  # labels
        (tuple,),  # facts
        (tuple,),  # action_lines
        (int,),  # shape: its index in the entry's shapes, -1 for a rule without condition
        (tuple,),  # constants
        (tuple,),  # positions
        (_NONE, str),  # group
        (tuple,),  # after: the groups its group comes after
        # limits: (uses, per customer, ((currency, amount text), ...), give back, per code)
        (_NONE, tuple),
    )
)


def _module(entry: Any) -> CompiledModule:
    """One rule file's lowered rules from a cache entry, checked, then compiled.

    The rows are checked a field at a time over all rules (each distinct
    value decoded and checked once), so that a warm start costs little more
    than making the records.
    """
    file, keys, table, rows = entry
    if type(file) is not str or type(keys) is not tuple or type(rows) is not tuple:
        raise _Refused
    if type(table) is not tuple:
        raise _Refused
    trees: dict[Hashable, Condition] = {}
    shapes: list[tuple[Hashable, tuple[tuple[type, ...], ...], int]] = []
    for k in keys:
        tree = shape_tree(k)  # ValueError for anything but a shape
        trees[k] = tree
        shapes.append((k, slot_types(tree), len(split(tree)[2])))
    if not rows:
        return compile_lowered([], file, trees)
    columns = tuple(zip(*rows, strict=True))  # the rules' ids, their names, …
    if len(columns) != len(_ROW) or len(columns[0]) != len(rows):
        raise _Refused
    for column, types in zip(columns, _ROW, strict=True):  # the types of a field, in one pass
        if not set(map(type, column)) <= types:
            raise _Refused
    (
        ids,
        names,
        lines,
        columns_,
        events,
        actions,
        priorities,
        enabled,
        exclusive,
        combinable,
        froms,
        untils,
        descriptions,
        labels,
        facts,
        action_lines,
        shape_of,
        constants,
        positions,
        groups,
        after,
        limits,
    ) = columns
    _within(lines, 0, MAX_POSITION)
    _within(columns_, 0, MAX_POSITION)
    _within(priorities, -MAX_PRIORITY, MAX_PRIORITY)
    _within(shape_of, -1, len(shapes) - 1)
    decoder = _Decoder()
    # actions: a table of the file's distinct actions, each rule's are indexes in it
    made = list(map(decoder.action, table))
    _whole(chain.from_iterable(actions), 0, len(made) - 1)
    actions = tuple(map(tuple, map(map, repeat(made.__getitem__), actions)))
    # each action's line: as many whole numbers as the rule has actions
    if any(map(ne, map(len, action_lines), map(len, actions))):
        raise _Refused
    _whole(chain.from_iterable(action_lines), 0, MAX_POSITION)
    instants: dict[Any, datetime | None] = {None: None}
    instants.update((v, decoder.instant(v)) for v in {*froms, *untils} if v is not None)
    for index in set(labels):
        if index is not None and not set(map(tuple, map(map, repeat(type), index))) <= {_PAIR}:
            raise _Refused
    if not set(map(type, chain.from_iterable(set(facts)))) <= {str}:
        raise _Refused
    # constants: each distinct one decoded once; then, per shape and types, checked once
    values = {v: decoder.constant(v) for v in set(chain.from_iterable(constants))}
    constants = tuple(map(tuple, map(map, repeat(values.__getitem__), constants)))
    signatures = map(tuple, map(map, repeat(type), constants))
    for n, signature in set(zip(shape_of, signatures, strict=True)):
        slots = shapes[n][1] if n >= 0 else ()
        if len(signature) != len(slots) or not all(map(contains, slots, signature)):
            raise _Refused
    # positions: four whole numbers per node of the shape
    for n, length in set(zip(shape_of, map(len, positions), strict=True)):
        if length != (shapes[n][2] if n >= 0 else 0):
            raise _Refused
    _whole(chain.from_iterable(positions), 0, MAX_POSITION)
    if not set(map(type, chain.from_iterable(set(after)))) <= {str}:
        raise _Refused
    keys_of = [k for k, _, _ in shapes]
    lowered = [
        None if n < 0 else Lowered(keys_of[n], c, file, p)
        for n, c, p in zip(shape_of, constants, positions, strict=True)
    ]
    rules = list(
        map(
            LoweredRule,
            ids,
            names,
            repeat(file),
            lines,
            columns_,
            events,
            actions,
            priorities,
            enabled,
            exclusive,
            combinable,
            map(instants.__getitem__, froms),
            map(instants.__getitem__, untils),
            descriptions,
            labels,
            facts,
            action_lines,
            lowered,
            map(_limits, limits),
            groups,
            after,
        )
    )
    return compile_lowered(rules, file, trees)


def _limits(data: Any) -> Limits | None:
    """A rule's limits from a cache row (None: none), refused unless well formed."""
    if data is None:
        return None
    if type(data) is not tuple or len(data) != 5:
        raise _Refused
    uses, per_customer, budgets, give_back, per_code = data
    for n in (uses, per_customer, per_code):
        if n is not None and (type(n) is not int or not 0 < n < 2**63):
            raise _Refused
    if type(give_back) is not bool or type(budgets) is not tuple:
        raise _Refused
    pairs = []
    for pair in budgets:
        if type(pair) is not tuple or len(pair) != 2:
            raise _Refused
        currency, text = pair
        if type(currency) is not str or type(text) is not str or len(text) > MAX_NUMBER_TEXT:
            raise _Refused
        try:
            amount = Decimal(text)
        except ArithmeticError:
            raise _Refused from None
        if not amount.is_finite() or amount <= 0 or str(amount) != text:
            raise _Refused
        pairs.append((currency, amount))
    return Limits(uses, per_customer, tuple(pairs), give_back, per_code)


def _whole(values: Iterable[Any], low: int, high: int) -> None:
    """Refuse unless all ``values`` are whole numbers (not bools) from ``low`` to ``high``."""
    got = tuple(values)
    if got and (set(map(type, got)) != {int} or min(got) < low or max(got) > high):
        raise _Refused


def _within(numbers: Iterable[int], low: int, high: int) -> None:
    """Refuse unless all ``numbers`` (whole numbers already) are from ``low`` to ``high``."""
    got = set(numbers)
    if got and (min(got) < low or max(got) > high):
        raise _Refused


def contains(types: tuple[type, ...], kind: type) -> bool:
    return kind in types


_PAIR = (str, str)
#: The types of a percentage's title, cap and cap currency.
_PERCENT = frozenset({(str, tuple, str), (str, type(None), type(None))})
#: A cap and its currency, or neither.
_CAP = frozenset({(tuple, str), (type(None), type(None))})
#: The largest count of ``buy N get M free`` a cache file may hold.
MAX_COUNT = 10**6


class _Decoder:
    """Values of a cache file back to what lowering made (equal decimals decoded once)."""

    def __init__(self) -> None:
        self.decimals: dict[str, Decimal] = {}

    def decimal(self, value: Any) -> Decimal:
        if type(value) is not tuple or len(value) != 2 or value[0] != "D":
            raise _Refused
        text = value[1]
        got = self.decimals.get(text) if type(text) is str else None
        if got is None:
            if type(text) is not str or len(text) > MAX_NUMBER_TEXT:
                raise _Refused
            got = Decimal(text)  # InvalidOperation (an ArithmeticError) for a non-number
            if not got.is_finite() or str(got) != text:
                raise _Refused
            self.decimals[text] = got
        return got

    def instant(self, value: Any) -> datetime:
        if type(value) is not tuple or len(value) != 2 or value[0] != "T":
            raise _Refused
        text = value[1]
        if type(text) is not str or len(text) > 64:
            raise _Refused
        got = datetime.fromisoformat(text)
        if got.tzinfo is None or got.isoformat() != text:
            raise _Refused
        return got

    def constant(self, value: Any) -> Any:
        """A constant of a condition: a text, a boolean, a whole number, or a tagged value."""
        kind = type(value)
        if kind is str or kind is bool:
            return value
        if kind is int:
            if value.bit_length() > MAX_INT_BITS:
                raise _Refused
            return value
        if kind is not tuple or len(value) != 2:
            raise _Refused
        tag = value[0]
        if tag == "D":
            return self.decimal(value)
        if tag == "T":
            return self.instant(value)
        if tag == "S" and type(value[1]) is tuple:
            members = frozenset(map(self.constant, value[1]))
            if not set(map(type, members)) <= {str, bool, int, Decimal}:
                raise _Refused
            return members
        raise _Refused

    def tier(self, value: Any) -> tuple[Any, ...]:
        """One tier of a tiered discount: (threshold, currency, percent, amount, currency)."""
        if type(value) is not tuple or len(value) != 5:
            raise _Refused
        threshold, currency, percent, amount, amount_currency = value
        if type(currency) is not str or type(amount_currency) not in (str, type(None)):
            raise _Refused
        if (percent is None) == (amount is None) or (amount is None) != (amount_currency is None):
            raise _Refused
        return (
            self.decimal(threshold),
            currency,
            None if percent is None else self.decimal(percent),
            None if amount is None else self.decimal(amount),
            amount_currency,
        )

    def action(self, value: Any) -> tuple[Any, ...]:
        if type(value) is not tuple or not value:
            raise _Refused
        kind = value[0]
        types = tuple(map(type, value))
        if kind == "percent" and types[2:] in _PERCENT:
            _, percent, title, cap, currency = value
            return (
                kind,
                self.decimal(percent),
                title,
                None if cap is None else self.decimal(cap),
                currency,
            )
        if kind == "fixed" and types[2:] == (str, str):
            return (kind, self.decimal(value[1]), value[2], value[3])
        if kind == "items_percent" and len(value) == 7:
            _, percent, title, label, cap, currency, per_line = value
            if (
                type(title) is str
                and type(label) in (str, type(None))
                and (types[4], types[5]) in _CAP
                and type(per_line) is bool
            ):
                cap = None if cap is None else self.decimal(cap)
                return (kind, self.decimal(percent), title, label, cap, currency, per_line)
        if kind == "per_item" and len(value) == 5:
            _, amount, currency, title, label = value
            if types[2:4] == (str, str) and type(label) in (str, type(None)):
                return (kind, self.decimal(amount), currency, title, label)
        if kind == "buy" and len(value) == 5:
            _, paid, free, title, label = value
            if (
                types[1:4] == (int, int, str)
                and type(label) in (str, type(None))
                and 0 < paid <= MAX_COUNT
                and 0 < free <= MAX_COUNT
            ):
                return value
        if kind == "shipping" and len(value) == 5 and types[1] is str:
            _, title, percent, amount, currency = value
            if (
                (percent is None or amount is None)
                and (amount is None) == (currency is None)
                and type(currency) in (str, type(None))
            ):
                percent = None if percent is None else self.decimal(percent)
                amount = None if amount is None else self.decimal(amount)
                return (kind, title, percent, amount, currency)
        if kind == "tiers" and len(value) == 3 and types[1:] == (str, tuple):
            return (kind, value[1], tuple(map(self.tier, value[2])))
        if kind == "label" and types[1:] == (str, str, bool):
            return value
        if kind == "set" and types[1:] == (str, str, str):
            return value
        if kind in ("show", "hide") and types[1:] == (str,):
            return value
        raise _Refused


# ---------------------------------------------------------------- writing ---


def _encode(value: Any) -> Any:
    """A value as plain data: decimals and instants as tagged texts, sets as tuples."""
    kind = type(value)
    if kind is Decimal:
        text = str(value)
        if len(text) > MAX_NUMBER_TEXT or not value.is_finite():
            raise _Refused
        return ("D", text)
    if kind is datetime:
        return ("T", value.isoformat())
    if kind is frozenset:
        return ("S", tuple(map(_encode, value)))
    if kind is int and value.bit_length() > MAX_INT_BITS:
        raise _Refused
    if kind is tuple:
        return tuple(map(_encode, value))
    return value


def _entry(module: CompiledModule) -> tuple[Any, ...]:
    """One rule file's lowered rules as plain data.

    ``(file, shapes, actions, rows)``: the shape keys, the distinct actions,
    then per rule its record, the index of its shape (-1: no condition), its
    constants and positions; its actions are indexes in ``actions``.
    """
    index = {key: n for n, key in enumerate(k for k in module.shapes if k is not None)}
    table: dict[tuple[Any, ...], int] = {}
    rows = []
    for r in module.rules:
        lowered = r.lowered
        rows.append(
            (
                r.id,
                r.name,
                r.line,
                r.column,
                r.event,
                tuple(table.setdefault(a, len(table)) for a in r.actions),
                r.priority,
                r.enabled,
                r.exclusive,
                r.combinable,
                _encode(r.valid_from),
                _encode(r.valid_until),
                r.description,
                r.labels,
                r.facts,
                r.action_lines,
                -1 if lowered is None else index[lowered.shape],
                () if lowered is None else _encode(lowered.constants),
                () if lowered is None else lowered.positions,
                r.group,
                r.after,
                None
                if r.limits is None
                else (
                    r.limits.uses,
                    r.limits.per_customer,
                    tuple((c, str(a)) for c, a in r.limits.budgets),
                    r.limits.give_back,
                    r.limits.per_code,
                ),
            )
        )
    return (module.file, tuple(index), tuple(map(_encode, table)), tuple(rows))


def _write(folder: Path, key: str, rules: RuleSet) -> None:
    try:
        entries = tuple(_entry(m) for m in rules.modules)
    except _Refused:  # a value beyond what a cache file may hold: not cached
        return
    payload = marshal.dumps((FORMAT, key, rules.version, entries))
    data = _MAGIC + hashlib.sha256(payload).digest() + payload
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=CACHE_SUFFIX, dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, folder / f"{key}{CACHE_SUFFIX}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        logger.warning("cannot write rule cache in %s: %s", folder, e.strerror or e)
        return
    _prune(folder, keep=KEEP)


def _prune(folder: Path, keep: int) -> None:
    """Remove all but the ``keep`` most recently written cache files."""
    try:
        files = sorted(
            (p for p in folder.glob(f"*{CACHE_SUFFIX}") if not p.name.startswith(".tmp-")),
            key=lambda p: p.stat().st_mtime_ns,
            reverse=True,
        )
        for old in files[keep:]:
            old.unlink(missing_ok=True)
    except OSError:  # another process pruning at the same time: harmless
        pass
