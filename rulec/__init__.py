"""rulec: a declarative business-rule language for order backends.

The pipeline reads as verbs: ``parse`` → ``check`` → ``compile`` → ``load``::

    import rulec
    diagnostics = rulec.check_text(text, "vip.rules")
    rules = rulec.load_paths(["rules/"])
    rules.matching("order_created", facts)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rulec.api import (
    analyze_paths,
    analyze_text,
    check_paths,
    check_text,
    compile_text,
    load_paths,
    load_text,
    parse,
    project_vocabulary,
    shipped_rules,
)
from rulec.dsl.compiler import CompiledModule, compile_rules
from rulec.dsl.diagnostics import (
    CODES,
    Diagnostic,
    RuleRuntimeError,
    RulesCheckError,
    RulesError,
    RulesSyntaxError,
)
from rulec.dsl.nodes import Span
from rulec.dsl.schema import SchemaError
from rulec.dsl.sources import Analysis, RulesInputError, Source
from rulec.dsl.vocabulary import Entity, Event, Field, Type, Vocabulary
from rulec.engine.core.decide import decide
from rulec.engine.core.decision import Decision
from rulec.engine.core.errors import (
    CurrencyError,
    FactsError,
    FactTypeError,
    MissingFactError,
    MoneyError,
    UnknownEventError,
    UnknownFactError,
)
from rulec.engine.core.facts import Facts, flatten_facts
from rulec.engine.core.match import Outcome, Tracer
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.vocabulary import DEFAULT_VOCABULARY

if TYPE_CHECKING:
    from rulec.engine.core.decision import Verdict
    from rulec.engine.core.listing import verdicts, visible
    from rulec.engine.db.attach import Engine
    from rulec.engine.db.basket import Basket, basket, render_basket
    from rulec.engine.db.listing import explain_listing, list_visible
    from rulec.storage.currencies import AmountError

__version__ = "0.1.0"

#: Names that need the database layer (SQLAlchemy), imported on first use:
#: ``rulec check`` and the language API start without it.
_ON_FIRST_USE = {
    "AmountError": "rulec.storage.currencies",
    "Basket": "rulec.engine.db.basket",
    "basket": "rulec.engine.db.basket",
    "render_basket": "rulec.engine.db.basket",
    "Engine": "rulec.engine.db.attach",
    "Verdict": "rulec.engine.core.decision",
    "explain_listing": "rulec.engine.db.listing",
    "list_visible": "rulec.engine.db.listing",
    "verdicts": "rulec.engine.core.listing",
    "visible": "rulec.engine.core.listing",
}


def __getattr__(name: str) -> Any:
    """``rulec.Engine`` and the other names of :data:`_ON_FIRST_USE` (PEP 562)."""
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'rulec' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CODES",
    "DEFAULT_VOCABULARY",
    "AmountError",
    "Analysis",
    "Basket",
    "CompiledModule",
    "CurrencyError",
    "Decision",
    "Diagnostic",
    "Engine",
    "Entity",
    "Event",
    "FactTypeError",
    "Facts",
    "FactsError",
    "Field",
    "MissingFactError",
    "MoneyError",
    "Outcome",
    "RuleRuntimeError",
    "RuleSet",
    "RulesCheckError",
    "RulesError",
    "RulesInputError",
    "RulesSyntaxError",
    "SchemaError",
    "Source",
    "Span",
    "Tracer",
    "Type",
    "UnknownEventError",
    "UnknownFactError",
    "Verdict",
    "Vocabulary",
    "__version__",
    "analyze_paths",
    "analyze_text",
    "basket",
    "check_paths",
    "check_text",
    "compile_rules",
    "compile_text",
    "decide",
    "explain_listing",
    "flatten_facts",
    "list_visible",
    "load_paths",
    "load_text",
    "parse",
    "project_vocabulary",
    "render_basket",
    "shipped_rules",
    "verdicts",
    "visible",
]
