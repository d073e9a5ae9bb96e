"""``rulec import-legacy``: the old admin-configured system's rules as rule files.

- :mod:`.schema`: its tables (Django's default names) and reading them;
- :mod:`.triggers`: which event each trigger code becomes (``--map``);
- :mod:`.labels`, :mod:`.translate`, :mod:`.text`: the rules as text, with
  the old semantics carried over and flagged where they were not defined;
- :mod:`.oracle`: the old semantics, computed plainly (what rulec is held to);
- :mod:`.replay`: ``--check-orders``, the stored orders decided both ways.
"""

from __future__ import annotations

from rulec.tools.legacy.replay import Difference, replay
from rulec.tools.legacy.schema import Legacy, legacy_metadata, read_legacy, read_orders
from rulec.tools.legacy.translate import Imported, Translation, translate
from rulec.tools.legacy.triggers import MapError, Target, parse_map

__all__ = [
    "Difference",
    "Imported",
    "Legacy",
    "MapError",
    "Target",
    "Translation",
    "legacy_metadata",
    "parse_map",
    "read_legacy",
    "read_orders",
    "replay",
    "translate",
]
