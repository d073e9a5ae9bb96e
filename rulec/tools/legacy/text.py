"""Writing rule-language text: quoted text, label names, file names."""

from __future__ import annotations

import re

from rulec.dsl.fmt import label_text

__all__ = ["clean", "file_name", "label", "quote"]


def clean(text: str) -> str:
    """``text`` on one line as quoted text can hold it: no NUL (a database
    cannot store it), line breaks as ``\\n`` (see :func:`quote`)."""
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def quote(text: str) -> str:
    """``text`` as the language's quoted text (``"…"``, with its escapes)."""
    t = clean(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + t.replace("\n", "\\n").replace("\t", "\\t") + '"'


def label(name: str) -> str:
    """A label's name as written in a rule: plain, or quoted when it must be."""
    return name if label_text(name) == name else quote(name)


def file_name(code: str) -> str:
    """A file name for the rules of trigger ``code``: ``discount_vip.rules``."""
    return (re.sub(r"[^\w-]+", "_", code, flags=re.ASCII).strip("_") or "no_trigger") + ".rules"
