"""The language server for rule files (``rulec lsp``): a caller of the one front end.

It uses the language (:mod:`rulec.dsl`) and the decision core's vocabulary
only, never the database: see docs/editors.md for what it does in an editor.
"""

from __future__ import annotations

from rulec.lsp.server import RulesLanguageServer, create_server

__all__ = ["RulesLanguageServer", "create_server"]
