"""Rule files as they were at a git revision, for ``rulec diff --git OLD..NEW``."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

__all__ = ["GitError", "rules_at", "split_range"]


class GitError(Exception):
    """A revision or path git cannot give (git's own message), or no git at all."""


def split_range(text: str) -> tuple[str, str]:
    """``OLD..NEW`` as its two revisions; ``OLD`` alone means ``OLD..HEAD``."""
    old, sep, new = text.partition("..")
    if not old or (sep and not new):
        raise GitError(f"expected OLD..NEW (two git revisions), not {text!r}")
    return old, new if sep else "HEAD"


def _git(args: list[str], cwd: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as e:
        raise GitError(f"cannot run git: {e}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout


def rules_at(revision: str, path: str, into: str | os.PathLike[str]) -> tuple[str, str]:
    """Extract ``path`` (a rules folder or file of the working tree's repository) as it
    was at ``revision`` into the folder ``into``: the path of the extracted copy, and
    the folder it is in (the copy's path is that folder and ``path`` from the
    repository's top)."""
    where = Path(path).resolve()
    start = str(where if where.is_dir() else where.parent)
    if not Path(start).exists():
        start = os.getcwd()
    top = _git(["rev-parse", "--show-toplevel"], start).decode().strip()
    relative = os.path.relpath(where, top)
    if relative.startswith(".."):
        raise GitError(f"{path} is not inside the git repository at {top}")
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], top)
    except GitError:
        raise GitError(f"unknown git revision {revision!r}") from None
    archive = _git(["archive", "--format=tar", revision, "--", relative], top)
    folder = Path(into) / f"rev{len(list(Path(into).iterdir()))}"
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return str(folder / relative), str(folder) + os.sep
