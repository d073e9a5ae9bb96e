"""rulec: a declarative business-rule language for order backends.

The pipeline reads as verbs: ``parse`` → ``check`` → ``compile`` → ``load``::

    import rulec
    diagnostics = rulec.check_text(text, "vip.rules")
    rules = rulec.load_paths(["rules/"])
    rules.matching("order_created", facts)
"""

from rulec.api import (
    analyze_paths,
    analyze_text,
    check_paths,
    check_text,
    compile_text,
    load_paths,
    load_text,
    parse,
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
from rulec.dsl.sources import Analysis, RulesInputError, Source
from rulec.dsl.vocabulary import Entity, Event, Field, Type, Vocabulary
from rulec.engine.basket import Basket, basket, render_basket
from rulec.engine.engine import Engine
from rulec.engine.listing import Verdict, explain_listing, list_visible, verdicts, visible
from rulec.engine.policy import Decision
from rulec.engine.ruleset import Facts, RuleSet, flatten_facts
from rulec.engine.vocabulary import DEFAULT_VOCABULARY

__version__ = "0.1.0"

__all__ = [
    "CODES",
    "DEFAULT_VOCABULARY",
    "Analysis",
    "Basket",
    "CompiledModule",
    "Decision",
    "Diagnostic",
    "Engine",
    "Entity",
    "Event",
    "Facts",
    "Field",
    "RuleRuntimeError",
    "RuleSet",
    "RulesCheckError",
    "RulesError",
    "RulesInputError",
    "RulesSyntaxError",
    "Source",
    "Span",
    "Type",
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
    "explain_listing",
    "flatten_facts",
    "list_visible",
    "load_paths",
    "load_text",
    "parse",
    "render_basket",
    "verdicts",
    "visible",
]
