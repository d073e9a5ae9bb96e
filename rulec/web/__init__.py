"""``rulec playground``: a local web page to write rules and try them on an order.

The page is a caller of the one checker (:func:`rulec.dsl.sources.analyze`),
the one door for facts (:mod:`rulec.engine.core.validate`) and the one
explanation (:meth:`RuleSet.explain <rulec.engine.core.ruleset.RuleSet.explain>`).
It imports the language and the decision core only, never the database: a
stored order reaches it through a plain callable the command line builds
(:class:`StoredOrders`).
"""

from __future__ import annotations

from rulec.web.app import create_app
from rulec.web.playground import Playground, StoredOrders

__all__ = ["Playground", "StoredOrders", "create_app"]
