"""``rulec lsp``: the language server, over pygls.

Each feature is a caller of the one front end: diagnostics are the checker's
(:func:`rulec.dsl.sources.analyze` over the file's rule set, with the
project's vocabulary), formatting is the formatter's, and hover, completion,
definitions and the outline read the same syntax trees.

Diagnostics are published when a file is opened, saved or closed, and while
it is edited once the typing pauses: each change cancels the check the
previous one scheduled (:attr:`RulesLanguageServer.delay`, 0.3 s; the
client's ``initializationOptions`` may set ``debounceMilliseconds``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from rulec.dsl.fmt import FormatError, format_text
from rulec.lsp.complete import What, complete
from rulec.lsp.fixes import quick_fixes, to_lsp
from rulec.lsp.hover import hover_text
from rulec.lsp.navigate import (
    definition,
    document_symbols,
    folding_ranges,
    label_range,
    references,
    rename,
    workspace_symbols,
)
from rulec.lsp.positions import Positions
from rulec.lsp.project import Project, RuleSetView
from rulec.lsp.tokens import MODIFIERS, TYPES, semantic_tokens

__all__ = ["LANGUAGE_ID", "RulesLanguageServer", "create_server"]

logger = logging.getLogger("rulec.lsp")

#: The language id editors give ``.rules`` files (editors/vscode/package.json).
LANGUAGE_ID = "rules"

_KINDS = {
    What.KEYWORD: types.CompletionItemKind.Keyword,
    What.EVENT: types.CompletionItemKind.Event,
    What.ENTITY: types.CompletionItemKind.Class,
    What.FIELD: types.CompletionItemKind.Field,
    What.LABEL: types.CompletionItemKind.Constant,
    What.COUPON_FAMILY: types.CompletionItemKind.Enum,
    What.VALUE: types.CompletionItemKind.Value,
    What.CURRENCY: types.CompletionItemKind.Unit,
    What.ACTION: types.CompletionItemKind.Function,
}


def _version() -> str:
    try:
        return version("rulec")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


def path_of(uri: str) -> str:
    """The file path of a ``file:`` URI; other URIs (an unsaved buffer) stay as they are."""
    if uri.startswith("file:"):
        path = to_fs_path(uri)
        if path:
            return str(Path(path))
    return uri


def uri_of(path: str) -> str:
    return from_fs_path(path) or path if Path(path).is_absolute() else path


class RulesLanguageServer(LanguageServer):
    """The server's state: the project's rule sets, the pending checks, what was published."""

    def __init__(self, config: str | None = None) -> None:
        super().__init__(
            "rulec", _version(), text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.project = Project(config=config)
        #: Seconds between the last change and the check.
        self.delay = 0.3
        self._pending: dict[str, asyncio.Task[None]] = {}
        #: The files of each rule set that were last published with diagnostics.
        self._published: dict[str, set[str]] = {}
        self._told: set[str] = set()

    # ---------------------------------------------------------- documents ---

    def open_texts(self) -> dict[str, str]:
        """Each open rule file's path and its text in the editor."""
        out = {}
        for doc in self.workspace.text_documents.values():
            if doc.language_id == LANGUAGE_ID or doc.uri.endswith(".rules"):
                out[path_of(doc.uri)] = doc.source
        return out

    def view(self, uri: str) -> RuleSetView:
        return self.project.view(path_of(uri), self.open_texts())

    def positions(self, uri: str) -> Positions:
        doc = self.workspace.get_text_document(uri)
        return Positions(doc.source, self.workspace.position_codec)

    def positions_of(self, view: RuleSetView) -> Callable[[str], Positions]:
        def of(path: str) -> Positions:
            return Positions(view.texts.get(path, ""), self.workspace.position_codec)

        return of

    # -------------------------------------------------------- diagnostics ---

    def publish(self, uri: str) -> None:
        """Check the rule set of ``uri`` and publish every file's diagnostics."""
        view = self.view(uri)
        key = str(view.folder) if view.folder is not None else path_of(uri)
        if view.vocabulary_error and view.vocabulary_error not in self._told:
            self._told.add(view.vocabulary_error)
            self.window_show_message(
                types.ShowMessageParams(
                    types.MessageType.Error,
                    f"rulec: {view.vocabulary_error} (checking with the default vocabulary)",
                )
            )
        by_file: dict[str, list[types.Diagnostic]] = {}
        of = self.positions_of(view)
        for d in view.analysis.diagnostics:
            by_file.setdefault(d.span.file, []).append(to_lsp(d, of(d.span.file)))
        before = self._published.get(key, set())
        docs = {path_of(d.uri): d for d in self.workspace.text_documents.values()}
        # every open file of the set too, so the editor sees which version was checked
        shown = set(view.texts) & set(docs) | {path_of(uri)}
        for path in sorted(set(by_file) | before | shown):
            doc = docs.get(path)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    # an open file by the editor's own URI, whatever its spelling
                    uri=doc.uri if doc is not None else uri_of(path),
                    diagnostics=by_file.get(path, []),
                    version=doc.version if doc is not None else None,
                )
            )
        self._published[key] = set(by_file)

    def schedule(self, uri: str) -> None:
        """Check ``uri``'s rule set after :attr:`delay`, unless another change comes first."""
        key = path_of(uri)
        folder = self.project.folder_of(key)
        key = str(folder) if folder is not None else key
        pending = self._pending.pop(key, None)
        if pending is not None:
            pending.cancel()
        self._pending[key] = asyncio.get_running_loop().create_task(self._later(key, uri))

    async def _later(self, key: str, uri: str) -> None:
        await asyncio.sleep(self.delay)
        self._pending.pop(key, None)
        try:
            self.publish(uri)
        except Exception:  # pragma: no cover - a bug: say it, keep serving
            logger.exception("checking %s failed", uri)


def create_server(config: str | None = None) -> RulesLanguageServer:
    """A language server for rule files; ``config``: the schema file, as ``rulec --config``."""
    server = RulesLanguageServer(config)

    @server.feature(types.INITIALIZE)
    def initialize(ls: RulesLanguageServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(
            options.get("debounceMilliseconds"), int | float
        ):
            ls.delay = max(0.0, float(options["debounceMilliseconds"]) / 1000)
        roots = [path_of(f.uri) for f in params.workspace_folders or ()]
        if not roots and params.root_uri:
            roots.append(path_of(params.root_uri))
        ls.project.roots = [Path(r).resolve() for r in roots if Path(r).is_absolute()]

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RulesLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(
        ls: RulesLanguageServer, params: types.DidChangeTextDocumentParams
    ) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: RulesLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.project.forget()
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RulesLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if Path(path_of(uri)).is_file():
            ls.publish(uri)  # the file as it is on the disk, now that the editor lets it go
        else:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: RulesLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.project.forget()
        for doc in list(ls.workspace.text_documents.values()):
            if doc.uri.endswith(".rules") or doc.language_id == LANGUAGE_ID:
                ls.publish(doc.uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: RulesLanguageServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        positions = ls.positions(uri)
        line, column = positions.from_client(params.position)
        found = hover_text(ls.view(uri), path_of(uri), positions.line(line), line, column)
        if found is None:
            return None
        text, span = found
        return types.Hover(
            types.MarkupContent(types.MarkupKind.Markdown, text), positions.range(span)
        )

    @server.feature(types.TEXT_DOCUMENT_COMPLETION)
    def completion(ls: RulesLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        uri = params.text_document.uri
        positions = ls.positions(uri)
        line, column = positions.from_client(params.position)
        items = []
        view = ls.project.recent(path_of(uri), ls.open_texts())
        for n, c in enumerate(complete(view, positions.text, line, column)):
            doc = (
                types.MarkupContent(types.MarkupKind.Markdown, c.documentation)
                if c.documentation
                else None
            )
            items.append(
                types.CompletionItem(
                    label=c.text,
                    kind=_KINDS[c.what],
                    detail=c.detail or None,
                    documentation=doc,
                    sort_text=f"{n:05d}",
                )
            )
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def goto_definition(
        ls: RulesLanguageServer, params: types.DefinitionParams
    ) -> list[types.Location]:
        uri = params.text_document.uri
        line, column = ls.positions(uri).from_client(params.position)
        view = ls.view(uri)
        return definition(view, path_of(uri), line, column, ls.positions_of(view))

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def find_references(
        ls: RulesLanguageServer, params: types.ReferenceParams
    ) -> list[types.Location]:
        uri = params.text_document.uri
        line, column = ls.positions(uri).from_client(params.position)
        view = ls.view(uri)
        return references(
            view,
            path_of(uri),
            line,
            column,
            ls.positions_of(view),
            params.context.include_declaration,
        )

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(
        ls: RulesLanguageServer, params: types.PrepareRenameParams
    ) -> types.Range | None:
        uri = params.text_document.uri
        positions = ls.positions(uri)
        line, column = positions.from_client(params.position)
        return label_range(ls.view(uri), path_of(uri), line, column, positions)

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def rename_label(
        ls: RulesLanguageServer, params: types.RenameParams
    ) -> types.WorkspaceEdit | None:
        uri = params.text_document.uri
        line, column = ls.positions(uri).from_client(params.position)
        new = params.new_name.strip()
        if not new:
            raise ValueError("a label's name cannot be empty")
        view = ls.view(uri)
        return rename(view, path_of(uri), line, column, new, ls.positions_of(view))

    @server.feature(types.WORKSPACE_SYMBOL)
    def find_symbols(
        ls: RulesLanguageServer, params: types.WorkspaceSymbolParams
    ) -> list[types.WorkspaceSymbol]:
        out: list[types.WorkspaceSymbol] = []
        seen = set()
        for doc in list(ls.workspace.text_documents.values()):
            if not (doc.uri.endswith(".rules") or doc.language_id == LANGUAGE_ID):
                continue
            view = ls.view(doc.uri)
            key = str(view.folder) if view.folder is not None else doc.uri
            if key not in seen:
                seen.add(key)
                out.extend(workspace_symbols(view, params.query, ls.positions_of(view)))
        return out

    @server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)
    def folding(
        ls: RulesLanguageServer, params: types.FoldingRangeParams
    ) -> list[types.FoldingRange]:
        uri = params.text_document.uri
        return folding_ranges(ls.view(uri), path_of(uri))

    @server.feature(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        types.SemanticTokensLegend(token_types=list(TYPES), token_modifiers=list(MODIFIERS)),
    )
    def colours(
        ls: RulesLanguageServer, params: types.SemanticTokensParams
    ) -> types.SemanticTokens:
        uri = params.text_document.uri
        return types.SemanticTokens(
            data=semantic_tokens(ls.view(uri).items(path_of(uri)), ls.positions(uri))
        )

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(
        ls: RulesLanguageServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol]:
        uri = params.text_document.uri
        return document_symbols(ls.view(uri), path_of(uri), ls.positions(uri))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_actions(
        ls: RulesLanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        uri = params.text_document.uri
        path = path_of(uri)
        view = ls.view(uri)
        mine = [d for d in view.analysis.diagnostics if d.span.file == path]
        return quick_fixes(uri, mine, ls.positions(uri), params.range, view.items(path))

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: RulesLanguageServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        uri = params.text_document.uri
        positions = ls.positions(uri)
        try:
            formatted = format_text(positions.text, path_of(uri))
        except FormatError as e:
            first = e.diagnostics[0]
            ls.window_show_message(
                types.ShowMessageParams(
                    types.MessageType.Warning,
                    f"rulec: not formatted, the file has syntax errors "
                    f"({first.span.line}:{first.span.column}: {first.code} {first.full_message})",
                )
            )
            return None
        if formatted == positions.text:
            return []
        return [types.TextEdit(positions.whole(), formatted)]

    return server
