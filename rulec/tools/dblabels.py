"""``rulec check --db URL``: the labels table against the rules' declarations.

R324: a label the database has (a name and an entity type) that no rule
file declares. R325: a declared label the database lacks and no rule adds (adding a label
creates it); when a condition tests it, the message says that the
condition can never hold. Imported only when ``--db`` is given: ``rulec check`` starts
without SQLAlchemy otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rulec.dsl.check.deep import declared_labels, label_uses
from rulec.dsl.diagnostics import CODES, Diagnostic
from rulec.dsl.nodes import Item, LabelDecl, Span
from rulec.dsl.sources import RulesInputError
from rulec.storage.models import Label

__all__ = ["compare_labels", "read_labels"]


def read_labels(engine: Engine) -> set[tuple[str, str]]:
    """``(entity type, name)`` of every row of the labels table; RulesInputError when
    it cannot be read (a database not migrated: the user's to fix, exit 2)."""
    try:
        with engine.connect() as conn:
            return {(t, n) for n, t in conn.execute(select(Label.name, Label.entity_type))}
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None)
        raise RulesInputError(
            f"cannot read the labels table: {orig if orig is not None else e}"
            " (is the database migrated? rulec db upgrade --db URL)"
        ) from None


def compare_labels(items: Sequence[Item], engine: Engine) -> list[Diagnostic]:
    """R324 and R325 for the rule set ``items`` against ``engine``'s labels table."""
    try:
        in_db = read_labels(engine)
    finally:
        engine.dispose()
    declared = declared_labels(items)
    given, tested, _written = label_uses(items)
    out: list[Diagnostic] = []
    for key, span in declared.items():
        if key in in_db:
            continue
        entity, name = key
        if key in given:
            continue  # a rule adds it, and adding a label creates it
        if name in tested:
            why = ", and no rule adds it: the conditions that test it can never hold"
        else:
            why = ""
        out.append(
            Diagnostic(
                "R325",
                f"label '{name}' is declared for {entity} but the database has no such label{why}",
                span,
                CODES["R325"][0],
                f"create the label '{name}' for {entity} in the back office, or remove "
                "its declaration",
            )
        )
    anchor = _anchors(items)
    for entity, name in sorted(in_db - set(declared)):
        span = anchor.get(entity) or anchor.get("")
        if span is None:
            continue  # no declaration at all: R211 already says labels are not declared
        out.append(
            Diagnostic(
                "R324",
                f"the database has the label '{name}' for {entity}, which no rule file declares",
                span,
                CODES["R324"][0],
                f"declare it ('label {name} for {entity}') if rules should use it, or delete "
                "it from the database",
            )
        )
    return out


def _anchors(items: Sequence[Item]) -> dict[str, Span]:
    """Where each entity's labels are first declared ("": the first declaration)."""
    out: dict[str, Span] = {}
    for item in items:
        if isinstance(item, LabelDecl) and item.span is not None:
            out.setdefault(item.entity.text, item.span)
            out.setdefault("", item.span)
    return out
