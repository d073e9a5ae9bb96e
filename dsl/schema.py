"""A vocabulary written as a schema file the rules repository owns (TOML).

``rulec.toml`` (or ``.rulec.toml``, or ``[tool.rulec]`` in ``pyproject.toml``),
found the way ruff finds its settings: in the folder of the rules, else the
closest folder above that has one. It says what rules may talk about:

.. code-block:: toml

    extends = "default"          # the shipped vocabulary, and what follows

    [entities.order.fields.channel]
    type = "string"
    values = ["web", "store", "phone"]
    description = "where the order was placed"

    [entities.ticket]
    labelled = true
    [entities.ticket.fields.priority]
    type = "integer"

    [[events]]
    name = "ticket_opened"
    entities = ["ticket", "customer"]
    optional = ["customer"]

Entities are tables keyed by name, their fields too; events are an array
(a scheduled event exists once per ``subject``). With ``extends``, an entity
of the base gains the fields written here (a field of the same name is
replaced) and takes the settings written here; an event with the base's name
and subject replaces it. The default vocabulary is itself such a file
(``rulec/engine/vocabulary.toml``).

A mistake in the file is a :class:`SchemaError` that names the file, the
line of the table and the key, with a did-you-mean for a misspelt key or
type.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rulec.dsl.sources import RulesInputError
from rulec.dsl.spelling import hint
from rulec.dsl.vocabulary import Entity, Event, Field, Kind, Type, Vocabulary

__all__ = [
    "CONFIG_FILES",
    "SchemaError",
    "find_config",
    "read_config",
    "vocabulary_from_data",
    "vocabulary_to_toml",
]

#: The files a folder may hold the schema in, in the order they are looked for.
CONFIG_FILES = ("rulec.toml", ".rulec.toml", "pyproject.toml")


class SchemaError(RulesInputError):
    """A schema file that cannot be read as a vocabulary (the CLI exits 2)."""


_ENTITY_KEYS = ("description", "labelled", "coupons", "identity", "fields")
_FIELD_KEYS = ("type", "description", "aliases", "values", "settable", "presence_of")
_EVENT_KEYS = ("name", "entities", "description", "includes", "optional", "many", "kind", "subject")
_TOP_KEYS = ("extends", "entities", "events")


def find_config(start: Path) -> Path | None:
    """The schema file for rules under ``start``: the closest one at or above it.

    A ``pyproject.toml`` counts only when it has a ``[tool.rulec]`` table.
    """
    folder = start if start.is_dir() else start.parent
    for here in (folder.resolve(), *folder.resolve().parents):
        for name in CONFIG_FILES:
            path = here / name
            if not path.is_file():
                continue
            if name != "pyproject.toml" or _has_tool_table(path):
                return path
    return None


def _has_tool_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return re.search(r"^\s*\[tool\.rulec(?:\.|\])", text, re.MULTILINE) is not None


def read_config(path: Path, base: Vocabulary | None) -> Vocabulary:
    """The vocabulary of the schema file ``path``; ``base`` is what ``extends`` extends."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SchemaError(f"{path}: cannot read the schema: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SchemaError(f"{path}: not valid TOML: {e}") from None
    prefix = ""
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("rulec", {})
        prefix = "tool.rulec."
    return vocabulary_from_data(data, base, _Where(str(path), text, prefix))


class _Where:
    """Names a place in the schema file: the file, the line of a table, the key."""

    def __init__(self, file: str, text: str = "", prefix: str = "") -> None:
        self.file, self.text, self.prefix = file, text, prefix

    def fail(self, table: str, message: str) -> SchemaError:
        header = f"{self.prefix}{table}" if table else self.prefix.rstrip(".")
        line = self._line(header)
        at = f"{self.file}:{line}" if line else self.file
        return SchemaError(f"{at}: [{header}]: {message}" if header else f"{at}: {message}")

    def _line(self, header: str) -> int:
        if not self.text or not header:
            return 0
        parts = header.split(".")
        for size in range(len(parts), 0, -1):  # the table, else the closest table above it
            name = re.escape(".".join(parts[:size])).replace(r"\.", r"\s*\.\s*")
            m = re.search(rf"^\s*\[\[?\s*{name}\s*\]\]?", self.text, re.MULTILINE)
            if m:
                return self.text.count("\n", 0, m.start()) + 1
        return 0


def vocabulary_from_data(
    data: Mapping[str, Any], base: Vocabulary | None, where: _Where | None = None
) -> Vocabulary:
    """A vocabulary from a schema's data (a parsed TOML document)."""
    where = where or _Where("<schema>")
    _keys(data, _TOP_KEYS, "", where)
    extends = data.get("extends")
    if extends is not None and extends != "default":
        raise where.fail("", f'extends = {extends!r}: only "default" can be extended')
    if extends == "default" and base is None:  # pragma: no cover - callers pass the default
        raise where.fail("", 'extends = "default" but no default vocabulary was given')
    entities: dict[str, Entity] = {}
    if extends == "default" and base is not None:
        entities = {e.name: e for e in base.entities}
    for name, spec in _table(data, "entities", "", where).items():
        entities[name] = _entity(name, spec, entities.get(name), where)
    events: dict[tuple[str, str | None], Event] = {}
    if extends == "default" and base is not None:
        events = {(e.name, e.subject): e for e in base.events}
    raw_events = data.get("events", [])
    if not isinstance(raw_events, list):
        raise where.fail("events", "write events as [[events]] tables")
    for n, spec in enumerate(raw_events):
        event = _event(spec, n, where)
        events[(event.name, event.subject)] = event
    vocabulary = Vocabulary(tuple(entities.values()), tuple(events.values()))
    _check_references(vocabulary, where)
    return vocabulary


def _keys(spec: Mapping[str, Any], allowed: tuple[str, ...], table: str, where: _Where) -> None:
    for key in spec:
        if key not in allowed:
            fix = hint(key, list(allowed)) or "the keys are " + ", ".join(allowed)
            raise where.fail(table, f"unknown key '{key}'; {fix}")


def _table(spec: Mapping[str, Any], key: str, table: str, where: _Where) -> Mapping[str, Any]:
    value = spec.get(key, {})
    if not isinstance(value, dict):
        raise where.fail(table, f"'{key}' must be a table")
    return value


def _get(spec: Mapping[str, Any], key: str, kind: type, table: str, where: _Where) -> Any:
    value: Any = spec[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = {str: "a text", bool: "true or false", list: "a list of texts"}
        want = names.get(kind, kind.__name__)
        raise where.fail(table, f"'{key}' must be {want}, not {value!r}")
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise where.fail(table, f"'{key}' must be a list of texts, not {value!r}")
    return value


def _entity(name: str, spec: Any, old: Entity | None, where: _Where) -> Entity:
    table = f"entities.{name}"
    if not isinstance(spec, dict):
        raise where.fail(table, "an entity must be a table")
    _keys(spec, _ENTITY_KEYS, table, where)
    fields = {f.name: f for f in old.fields} if old is not None else {}
    for fname, fspec in _table(spec, "fields", table, where).items():
        fields[fname] = _field(fname, fspec, f"{table}.fields.{fname}", where)
    return Entity(
        name,
        tuple(fields.values()),
        labelled=_opt(spec, "labelled", bool, table, where, old.labelled if old else False),
        description=_opt(spec, "description", str, table, where, old.description if old else ""),
        identity=_opt(spec, "identity", str, table, where, old.identity if old else None),
        coupons=_opt(spec, "coupons", bool, table, where, old.coupons if old else False),
    )


def _opt(
    spec: Mapping[str, Any], key: str, kind: type, table: str, where: _Where, default: Any
) -> Any:
    return _get(spec, key, kind, table, where) if key in spec else default


_TYPES = {t.value: t for t in Type}
_KINDS = {k.value: k for k in Kind}


def _field(name: str, spec: Any, table: str, where: _Where) -> Field:
    if not isinstance(spec, dict):
        raise where.fail(table, "a field must be a table with at least its 'type'")
    _keys(spec, _FIELD_KEYS, table, where)
    if "type" not in spec:
        raise where.fail(table, "a field needs a 'type': " + ", ".join(_TYPES))
    type_ = _choice(spec, "type", _TYPES, table, where)
    return Field(
        name,
        type_,
        _opt(spec, "description", str, table, where, ""),
        aliases=tuple(_opt(spec, "aliases", list, table, where, [])),
        values=tuple(_opt(spec, "values", list, table, where, [])),
        settable=_opt(spec, "settable", bool, table, where, False),
        presence_of=_opt(spec, "presence_of", str, table, where, None),
    )


def _choice(
    spec: Mapping[str, Any], key: str, choices: Mapping[str, Any], table: str, where: _Where
) -> Any:
    value = _get(spec, key, str, table, where)
    if value not in choices:
        fix = hint(value, list(choices)) or "one of " + ", ".join(choices)
        raise where.fail(table, f"{key} '{value}' is not known; {fix}")
    return choices[value]


def _event(spec: Any, n: int, where: _Where) -> Event:
    table = "events"
    if not isinstance(spec, dict) or "name" not in spec:
        raise where.fail(table, f"event {n + 1} needs a 'name'")
    _keys(spec, _EVENT_KEYS, table, where)
    name = _get(spec, "name", str, table, where)
    if "entities" not in spec:
        raise where.fail(table, f"event '{name}' needs its 'entities'")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("entities", "includes", "optional", "many"):
        lists[key] = tuple(_opt(spec, key, list, table, where, []))
    kind = _choice(spec, "kind", _KINDS, table, where) if "kind" in spec else Kind.ORDER
    return Event(
        name,
        lists["entities"],
        _opt(spec, "description", str, table, where, ""),
        includes=lists["includes"],
        optional=lists["optional"],
        many=lists["many"],
        kind=kind,
        subject=_opt(spec, "subject", str, table, where, None),
    )


def _check_references(v: Vocabulary, where: _Where) -> None:
    """Every entity an event names exists; an identity is a field of its entity."""
    names = [e.name for e in v.entities]
    for e in v.entities:
        if e.identity is not None and e.field(e.identity) is None:
            raise where.fail(
                f"entities.{e.name}", f"identity '{e.identity}' is not a field of '{e.name}'"
            )
    for ev in v.events:
        for key in ("entities", "optional", "many"):
            for entity in getattr(ev, key):
                if entity not in names:
                    fix = hint(entity, names) or "entities are " + ", ".join(names)
                    raise where.fail(
                        "events", f"event '{ev.name}': unknown entity '{entity}' in {key}; {fix}"
                    )


# ------------------------------------------------------------- writing ---


def vocabulary_to_toml(v: Vocabulary) -> str:
    """``v`` as a schema file (what :func:`vocabulary_from_data` reads back equal)."""
    out: list[str] = []
    for e in v.entities:
        out.append(f"[entities.{e.name}]")
        if e.description:
            out.append(f"description = {_q(e.description)}")
        if e.labelled:
            out.append("labelled = true")
        if e.coupons:
            out.append("coupons = true")
        if e.identity is not None:
            out.append(f"identity = {_q(e.identity)}")
        out.append("")
        for f in e.fields:
            out.append(f"[entities.{e.name}.fields.{f.name}]")
            out.append(f"type = {_q(f.type.value)}")
            if f.description:
                out.append(f"description = {_q(f.description)}")
            if f.aliases:
                out.append(f"aliases = {_list(f.aliases)}")
            if f.values:
                out.append(f"values = {_list(f.values)}")
            if f.settable:
                out.append("settable = true")
            if f.presence_of is not None:
                out.append(f"presence_of = {_q(f.presence_of)}")
            out.append("")
    for ev in v.events:
        out.append("[[events]]")
        out.append(f"name = {_q(ev.name)}")
        if ev.subject is not None:
            out.append(f"subject = {_q(ev.subject)}")
        if ev.kind is not Kind.ORDER:
            out.append(f"kind = {_q(ev.kind.value)}")
        out.append(f"entities = {_list(ev.entities)}")
        for key in ("optional", "many", "includes"):
            if getattr(ev, key):
                out.append(f"{key} = {_list(getattr(ev, key))}")
        if ev.description:
            out.append(f"description = {_q(ev.description)}")
        out.append("")
    return "\n".join(out)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"
