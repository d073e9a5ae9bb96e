"""The default order-backend vocabulary: the old system's entities and events.

It is a schema file like any rules repository's own (``vocabulary.toml``
beside this module, read by :mod:`rulec.dsl.schema`): entities (the order
and its items, the customer who placed it, the agent who created it for a
customer or without one, professionals, services and prices, every one of
them carrying labels) and events (an order created or updated; a label
linked to or unlinked from any of them; daily and monthly runs over every
customer or every order; a price, item or service listed to a viewer).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from rulec.dsl.schema import find_config, read_config, vocabulary_from_data
from rulec.dsl.vocabulary import Kind, Vocabulary

__all__ = [
    "DEFAULT_VOCABULARY",
    "LABEL_HOLDERS",
    "ORDER_STATUSES",
    "SCHEDULED_SUBJECTS",
    "VIEWER_ROLES",
    "project_vocabulary",
]


def _default() -> Vocabulary:
    text = resources.files("rulec.engine").joinpath("vocabulary.toml").read_text("utf-8")
    return vocabulary_from_data(tomllib.loads(text), None)


#: What ``rulec check`` and the engine use unless a schema file says otherwise.
DEFAULT_VOCABULARY = _default()


def _values(entity: str, field: str) -> tuple[str, ...]:
    found = DEFAULT_VOCABULARY.entity(entity)
    f = found.field(field) if found is not None else None
    assert f is not None, f"the default vocabulary has {entity} {field}"
    return f.values


#: The statuses an order can have; ``set order status to …`` takes one of these.
ORDER_STATUSES = _values("order", "status")

#: Who may look at a listing.
VIEWER_ROLES = _values("viewer", "role")

#: Entities that carry labels, each with a link table in rulec.storage.
LABEL_HOLDERS = tuple(DEFAULT_VOCABULARY.labelled_entities())

#: Scheduled events run over every entity of one of these subjects.
SCHEDULED_SUBJECTS = tuple(
    dict.fromkeys(
        e.subject
        for e in DEFAULT_VOCABULARY.events
        if e.kind is Kind.SCHEDULED and e.subject is not None
    )
)


def project_vocabulary(
    paths: Iterable[str | os.PathLike[str]] = (), config: str | os.PathLike[str] | None = None
) -> Vocabulary:
    """The vocabulary rules at ``paths`` are written against.

    ``config``, when given, is the schema file; otherwise the closest
    ``rulec.toml``, ``.rulec.toml`` or ``pyproject.toml`` with ``[tool.rulec]``
    at or above the first path (or the current folder), the way ruff finds its
    settings; without one, the default vocabulary. A schema that cannot be
    read raises :class:`~rulec.dsl.schema.SchemaError`.
    """
    if config is not None:
        return read_config(Path(config), DEFAULT_VOCABULARY)
    first = next(iter(paths), None)
    found = find_config(Path(first) if first is not None else Path.cwd())
    return DEFAULT_VOCABULARY if found is None else read_config(found, DEFAULT_VOCABULARY)
