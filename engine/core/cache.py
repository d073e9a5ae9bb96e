"""A cache of compiled rule sets on disk, like Python's ``.pyc`` files.

An order backend that restarts with unchanged rule files should not parse,
check and compile them again. :func:`load_sources` looks for a cache file
whose key is the hash of everything the compiled code depends on (the rule
files' paths and texts, the vocabulary, the rulec version and the Python
bytecode version); on a hit it runs the cached code objects, otherwise it
builds the rule set as usual and writes the cache file for next time.

A cache file is never trusted. It is used only when its header, its
SHA-256 checksum, its key and the shape of its code objects are all what
this version writes: code objects whose names are the compiler's own and
the runtime's (``RUNTIME_NAMES``), and nothing else, so no attribute access
and no builtin. Anything else (a truncated, corrupt, stale or foreign file)
is ignored and replaced. Writing is atomic (a temporary file renamed into
place) and a cache folder that cannot be written only costs the speed-up.
Only rule sets without errors are cached.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import marshal
import os
import re
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from types import CodeType

from rulec.dsl import compiler
from rulec.dsl.compiler import RUNTIME_NAMES, CompiledModule
from rulec.dsl.sources import Source, analyze
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core import rules as records
from rulec.engine.core import sandbox as runtime
from rulec.engine.core.ruleset import RuleSet, from_analysis, load_modules

__all__ = ["CACHE_SUFFIX", "cache_key", "load_sources"]

logger = logging.getLogger("rulec.engine")

#: Bumped whenever the layout of a cache file or of the compiled code changes.
FORMAT = 3
_MAGIC = b"RULEC-CACHE\0"
CACHE_SUFFIX = ".rulec-cache"
#: Cache files kept per folder; older ones (rule sets since changed) are removed.
KEEP = 8

#: Names compiled code may hold: the runtime's and the compiler's own.
_OWN_NAME = re.compile(r"rule_\d{4,}|_k\d+|_v\d+|RULES|facts")
_RUNTIME = frozenset(RUNTIME_NAMES)


@functools.cache
def _compiler_fingerprint() -> bytes:
    """A hash of the code that decides what compiled rules are: the front end and runtime.

    Part of every key, so a changed compiler (a new release, or a developer's
    edit) never runs code that an older one cached.
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
        importlib.util.MAGIC_NUMBER,
        repr(vocabulary).encode("utf-8", "surrogatepass"),
    ]
    for s in sources:
        assert s.text is not None
        parts += [s.path.encode("utf-8", "surrogatepass"), s.text.encode("utf-8", "surrogatepass")]
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
    :func:`rulec.engine.core.ruleset.from_analysis`), then cached in ``directory``.
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
    payload = _unwrap(data, key)
    if payload is None:
        logger.warning("rule cache %s is damaged or stale; rebuilding it", path)
        return None
    version, modules = payload
    return load_modules(modules, version, vocabulary)


def _unwrap(data: bytes, key: str) -> tuple[str, list[CompiledModule]] | None:
    """The checked content of a cache file, or None for anything unexpected."""
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
        if fmt != FORMAT or stored_key != key or not isinstance(version, str):
            return None
        modules = []
        for file, codes, rule_count, fact_keys in entries:
            if not (
                isinstance(file, str)
                and isinstance(codes, tuple)
                and codes
                and all(isinstance(c, CodeType) and _safe(c) for c in codes)
                and isinstance(rule_count, int)
                and isinstance(fact_keys, tuple)
                and all(isinstance(k, str) for k in fact_keys)
            ):
                return None
            modules.append(CompiledModule(file, None, codes, rule_count, frozenset(fact_keys)))
    except (TypeError, ValueError):  # not the tuples this version writes
        return None
    return version, modules


def _safe(code: CodeType) -> bool:
    """Whether a code object only names what the compiler generates (recursively).

    Its constants are checked too, tuples opened: a module made by shape
    holds its rule functions' code objects in a tuple, which ``FN_`` turns
    into functions. A constant of a type ``compile()`` never makes (a list,
    a dict: ``marshal`` reads those too) is refused.
    """
    for name in code.co_names:
        if name not in _RUNTIME and not _OWN_NAME.fullmatch(name):
            return False
    return _safe_constants(code.co_consts)


#: The types of the constants ``compile()`` makes, besides tuples, frozensets and code.
_INERT = frozenset({type(None), type(Ellipsis), bool, int, float, complex, str, bytes})


def _safe_constants(values: tuple[object, ...] | frozenset[object]) -> bool:
    for value in values:  # a loop, not a call per constant: a module holds thousands
        kind = type(value)
        if kind in _INERT:
            continue
        if kind is CodeType:
            assert isinstance(value, CodeType)
            if not _safe(value):
                return False
        elif kind is tuple or kind is frozenset:
            assert isinstance(value, tuple | frozenset)
            if not _safe_constants(value):
                return False
        else:
            return False
    return True


# ---------------------------------------------------------------- writing ---


def _write(folder: Path, key: str, rules: RuleSet) -> None:
    entries = [(m.file, m.codes, m.rule_count, tuple(sorted(m.fact_keys))) for m in rules.modules]
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
