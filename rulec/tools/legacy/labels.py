"""The old system's labels as rulec declares them: one name per label, unique
for its entity, in ``labels.rules``."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from attrs import frozen

from rulec.tools.legacy.schema import LABEL_TYPES, Label
from rulec.tools.legacy.text import clean, label

__all__ = ["LabelNames", "declare_labels"]


@frozen
class LabelNames:
    """Label id → its name in rulec (None: a label of a type rulec has no entity for).

    :meth:`text` declares the labels the written rules use and lists the
    others in a comment (a declared label no rule uses is R323's warning).
    """

    names: Mapping[int, str | None]
    entities: Mapping[int, str | None]
    #: Per entity, its declarations: (name, line).
    lines: Mapping[str, list[tuple[str, str]]]
    unknown: tuple[str, ...]
    warnings: tuple[str, ...]

    def name(self, label_id: int | None, entity: str) -> str | None:
        """The rulec name of ``label_id`` when it is a label for ``entity``, else None."""
        if label_id is None or self.entities.get(label_id) != entity:
            return None
        return self.names.get(label_id)

    def text(self, used: Collection[tuple[str, str]]) -> str:
        """``labels.rules``: the labels ``used`` ((entity, name) pairs), declared; the
        others, in comments."""
        parts = [
            "# Labels imported from the old system's labels_label table by rulec import-legacy."
        ]
        unused: list[str] = []
        for entity, entity_lines in self.lines.items():
            kept = [line for name, line in entity_lines if (entity, name) in used]
            unused += [line for name, line in entity_lines if (entity, name) not in used]
            if kept:
                parts.append("")
                parts.extend(kept)
        if unused:
            parts += ["", "# Labels no imported rule uses (declare one when a rule needs it):"]
            parts.extend(f"# {line}" for line in unused)
        if self.unknown:
            parts.append("")
            parts.extend(self.unknown)
        return "\n".join(parts) + "\n"


def declare_labels(labels: Mapping[int, Label]) -> LabelNames:
    """Names, declarations and warnings for every row of ``labels_label``.

    A name is kept as it is (spaces and hyphens are written quoted); a name
    a label of the same entity already has gets the row's id, with a comment
    saying so, since rulec knows a label by its name and entity.
    """
    names: dict[int, str | None] = {}
    entities: dict[int, str | None] = {}
    warnings: list[str] = []
    taken: dict[tuple[str, str], int] = {}
    lines: dict[str, list[tuple[str, str]]] = {entity: [] for entity in LABEL_TYPES.values()}
    unknown: list[str] = []
    for lab in sorted(labels.values(), key=lambda x: x.id):
        entity = lab.entity
        entities[lab.id] = entity
        source = f"labels_label {lab.id}"
        if entity is None:
            names[lab.id] = None
            msg = (
                f"{source} {lab.name!r}: label type {lab.label_type!r} is none of "
                f"{', '.join(LABEL_TYPES)}: not declared, and rules using it never match"
            )
            warnings.append(msg)
            unknown.append(f"# {msg}")
            continue
        name = " ".join(clean(lab.name).split("\n"))
        notes = [] if name == lab.name else [f"name {lab.name!r} written on one line"]
        if (entity, name) in taken:
            first = taken[(entity, name)]
            renamed = f"{name} ({source})"
            notes.append(f"labels_label {first} is also called {name!r}: renamed {renamed!r}")
            warnings.append(f"{source} {lab.name!r}: {notes[-1]}")
            name = renamed
        taken[(entity, name)] = lab.id
        names[lab.id] = name
        comment = "; ".join([source, *notes])
        lines[entity].append((name, f"label {label(name)} for {entity}  # {comment}"))
    return LabelNames(names, entities, lines, tuple(unknown), tuple(warnings))
