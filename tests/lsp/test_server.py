"""``rulec lsp`` driven over its protocol: the installed command started as a
subprocess, spoken to in JSON-RPC by pygls' language client, as an editor does.

One server for the module: each test opens its own files.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

LABELS = """\
# The customers the old system called VIP.
label Customer_VIP for customer
label Rush for order
"""

ORDERS = """\
on order_created when customer has label Customer_VIP then discount 10% "VIP New Order Discount"
"""


class Editor:
    """A language client in its own event loop, and what the server told it."""

    def __init__(self, root: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("rulec-tests", "1")
        self.published: list[types.PublishDiagnosticsParams] = []
        self.messages: list[types.ShowMessageParams] = []
        self._news = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published.append(params)
            self._news.set()

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def message(params: types.ShowMessageParams) -> None:
            self.messages.append(params)
            self._news.set()

        rulec = Path(sys.executable).with_name("rulec")
        self.run(self.client.start_io(str(rulec), "lsp"))
        self.run(
            self.client.initialize_async(
                types.InitializeParams(
                    capabilities=types.ClientCapabilities(),
                    root_uri=from_fs_path(str(root)),
                    workspace_folders=[types.WorkspaceFolder(from_fs_path(str(root)), "shop")],
                )
            )
        )
        self.client.initialized(types.InitializedParams())
        self.versions: dict[str, int] = {}

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, 20))

    def close(self) -> None:
        self.run(self.client.shutdown_async(None))
        self.client.exit(None)
        self.run(self.client.stop())
        self.loop.close()

    def open(self, path: Path, text: str) -> str:
        uri = from_fs_path(str(path))
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "rules", 1, text))
        )
        return uri

    def change(self, uri: str, text: str) -> int:
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=self.versions[uri], uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )
        return self.versions[uri]

    def wait(self, found: Callable[[], Any]) -> Any:
        async def waiting() -> Any:
            while True:
                got = found()
                if got:
                    return got
                self._news.clear()
                await self._news.wait()

        return self.run(waiting())

    def diagnostics(self, uri: str, version: int | None = None) -> list[types.Diagnostic]:
        """The diagnostics published for ``uri`` (at ``version``), waiting for them."""

        def last() -> types.PublishDiagnosticsParams | None:
            for p in reversed(self.published):
                if p.uri == uri and (version is None or p.version == version):
                    return p
            return None

        return list(self.wait(last).diagnostics)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    rules = root / "rules"
    rules.mkdir()
    (rules / "labels.rules").write_text(LABELS, encoding="utf-8")
    (rules / "orders.rules").write_text(ORDERS, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def editor(project: Path) -> Iterator[Editor]:
    e = Editor(project)
    yield e
    e.close()


def at(line: int, character: int) -> types.Position:
    return types.Position(line, character)


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


class TestDiagnostics:
    def test_an_error_is_published_at_its_range_with_code_and_suggestion(
        self, editor: Editor, project: Path
    ) -> None:
        text = 'on order_craeted when customer has label Customer_VIP then discount 5% "x"\n'
        uri = editor.open(project / "rules" / "typo.rules", text)
        [d] = editor.diagnostics(uri, 1)
        assert d.code == "R201"
        assert d.source == "rulec"
        assert d.severity == types.DiagnosticSeverity.Error
        assert d.range == types.Range(at(0, 3), at(0, 16))
        assert d.message == "unknown event 'order_craeted'; did you mean 'order_created'?"

    def test_labels_declared_in_another_file_of_the_folder_resolve(
        self, editor: Editor, project: Path
    ) -> None:
        text = 'on order_created when order has label Rush then discount 1% "Rush"\n'
        uri = editor.open(project / "rules" / "rush.rules", text)
        assert editor.diagnostics(uri, 1) == []

    def test_checked_after_typing_pauses_on_the_latest_text(
        self, editor: Editor, project: Path
    ) -> None:
        uri = editor.open(project / "rules" / "typing.rules", ORDERS)
        assert editor.diagnostics(uri, 1) == []
        # two changes in a row: the first one's check is cancelled by the second
        editor.change(uri, ORDERS.replace("Customer_VIP", "Customer_VI"))
        version = editor.change(uri, ORDERS.replace("discount", "discont"))
        [d] = editor.diagnostics(uri, version)
        assert (d.code, d.range.start) == ("R202", at(0, 59))
        assert [p.version for p in editor.published if p.uri == uri] == [1, version]
        # fixed: the diagnostics are cleared
        version = editor.change(uri, ORDERS)
        assert editor.diagnostics(uri, version) == []

    def test_a_declaration_added_on_disk_is_seen_when_the_editor_reports_it(
        self, editor: Editor, project: Path
    ) -> None:
        text = 'on order_created when customer has label Gold then discount 5% "Gold"\n'
        uri = editor.open(project / "rules" / "gold.rules", text)
        [d] = editor.diagnostics(uri, 1)
        assert d.code == "R210"
        count = len(editor.published)
        declared = project / "rules" / "gold_label.rules"
        declared.write_text("label Gold for customer\n", encoding="utf-8")
        editor.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                [types.FileEvent(from_fs_path(str(declared)), types.FileChangeType.Created)]
            )
        )
        editor.wait(
            lambda: [p for p in editor.published[count:] if p.uri == uri and not p.diagnostics]
        )

    def test_columns_are_counted_as_the_editor_counts_them(
        self, editor: Editor, project: Path
    ) -> None:
        # an emoji is one character for the parser, two UTF-16 units for the editor
        text = 'on order_created then discount 5% "🎉" and discont 1% "x"\n'
        uri = editor.open(project / "rules" / "emoji.rules", text)
        [d] = editor.diagnostics(uri, 1)
        start = text.index("discont")
        assert d.range == types.Range(at(0, start + 1), at(0, start + 8))


class TestHover:
    def test_a_label_shows_its_declaration_entity_and_comment(
        self, editor: Editor, project: Path
    ) -> None:
        uri = editor.open(project / "rules" / "orders.rules", ORDERS)
        hover = editor.run(
            editor.client.text_document_hover_async(
                types.HoverParams(doc(uri), at(0, ORDERS.index("Customer_VIP") + 3))
            )
        )
        text = hover.contents.value
        start = ORDERS.index("Customer_VIP")
        assert hover.range == types.Range(at(0, start), at(0, start + len("Customer_VIP")))
        assert "**Customer_VIP** (label for **customer**), declared at labels.rules:2" in text
        assert "The customers the old system called VIP." in text
        # every open file of the folder is part of the rule set (other tests' files too)
        assert re.search(r"used by \d+ rules?$", text)

    def test_a_field_an_event_and_a_keyword(self, editor: Editor, project: Path) -> None:
        text = 'on order_created when order subtotal >= 50 then discount 5% "x"\n'
        uri = editor.open(project / "rules" / "hover.rules", text)

        def hover(word: str) -> str:
            got = editor.run(
                editor.client.text_document_hover_async(
                    types.HoverParams(doc(uri), at(0, text.index(word) + 1))
                )
            )
            return got.contents.value  # type: ignore[no-any-return]

        assert hover("subtotal").startswith("**order subtotal** (field of order): money")
        assert hover("order_created").startswith("**order_created** (event)")
        assert hover("when").startswith("**when** (keyword)")


class TestCompletion:
    def items(self, editor: Editor, uri: str, position: types.Position) -> dict[str, Any]:
        got = editor.run(
            editor.client.text_document_completion_async(types.CompletionParams(doc(uri), position))
        )
        return {i.label: i for i in got.items}

    def test_labels_declared_for_the_entity(self, editor: Editor, project: Path) -> None:
        text = "on order_created when customer has label \n"
        uri = editor.open(project / "rules" / "complete.rules", text)
        items = self.items(editor, uri, at(0, len(text) - 1))
        assert "Customer_VIP" in items
        assert items["Customer_VIP"].kind == types.CompletionItemKind.Constant
        assert "Rush" not in items  # declared for order, not customer

    def test_fields_events_and_the_keywords_the_grammar_accepts(
        self, editor: Editor, project: Path
    ) -> None:
        text = "on order_created when order \n"
        uri = editor.open(project / "rules" / "complete2.rules", text)
        items = self.items(editor, uri, at(0, len(text) - 1))
        assert {"subtotal", "currency", "status"} <= set(items)
        assert items["subtotal"].kind == types.CompletionItemKind.Field
        events = self.items(editor, uri, at(0, 3))
        assert "order_created" in events and "customer_labeled" in events
        keywords = self.items(editor, uri, at(0, len("on order_created ")))
        assert {"when", "then", "for"} <= set(keywords)
        assert "between" not in keywords


class TestNavigation:
    def test_go_to_a_label_declared_in_another_file(self, editor: Editor, project: Path) -> None:
        uri = editor.open(project / "rules" / "orders.rules", ORDERS)
        [loc] = editor.run(
            editor.client.text_document_definition_async(
                types.DefinitionParams(doc(uri), at(0, ORDERS.index("Customer_VIP")))
            )
        )
        assert loc.uri == from_fs_path(str(project / "rules" / "labels.rules"))
        assert loc.range == types.Range(at(1, 6), at(1, 18))

    def test_references_and_rename_cover_the_whole_rule_set(
        self, editor: Editor, project: Path
    ) -> None:
        text = "on order_created when order has label Rush then add label Rush to order\n"
        uri = editor.open(project / "rules" / "rename.rules", text)
        position = at(0, text.index("Rush") + 1)
        refs = editor.run(
            editor.client.text_document_references_async(
                types.ReferenceParams(
                    context=types.ReferenceContext(True), text_document=doc(uri), position=position
                )
            )
        )
        labels = from_fs_path(str(project / "rules" / "labels.rules"))
        assert (labels, types.Range(at(2, 6), at(2, 10))) in [(r.uri, r.range) for r in refs]
        starts = [text.index("Rush"), text.rindex("Rush")]
        assert [r.range.start.character for r in refs if r.uri == uri] == starts
        edit = editor.run(
            editor.client.text_document_rename_async(
                types.RenameParams(doc(uri), position, "Express delivery")
            )
        )
        assert _apply(text, *edit.changes[uri]) == text.replace("Rush", '"Express delivery"')
        [declaration] = edit.changes[labels]
        assert declaration.new_text == '"Express delivery"'
        assert declaration.range == types.Range(at(2, 6), at(2, 10))

    def test_an_unsaved_buffer_is_checked_alone(self, editor: Editor) -> None:
        uri = "untitled:Untitled-1"
        editor.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri, "rules", 1, 'on order_created then discont 5% "x"\n')
            )
        )
        [d] = editor.diagnostics(uri, 1)
        assert d.code == "R202"
        editor.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        assert editor.wait(
            lambda: editor.published[-1].uri == uri and not editor.published[-1].diagnostics
        )

    def test_document_symbols_one_per_rule_label_and_test(
        self, editor: Editor, project: Path
    ) -> None:
        text = (
            "label Gold for customer\n\n"
            + ORDERS
            + '\nrule "Big basket"\n  on order_created\n  when order subtotal >= 200.00\n'
            '  then discount 8% "Big basket"\nend\n'
            '\ntest "gold"\n  on order_created\n  expect no discount\nend\n'
            "\ngroup Baskets\n"
        )
        uri = editor.open(project / "rules" / "outline.rules", text)
        got = editor.run(
            editor.client.text_document_document_symbol_async(types.DocumentSymbolParams(doc(uri)))
        )
        assert [(s.name, s.kind, s.range.start.line) for s in got] == [
            ("Gold", types.SymbolKind.Constant, 0),
            ("outline.rules:3", types.SymbolKind.Function, 2),
            ("Big basket", types.SymbolKind.Function, 4),
            ("gold", types.SymbolKind.Method, 10),
            ("Baskets", types.SymbolKind.Namespace, 15),
        ]
        assert got[-1].detail == "stacking group"


class TestEdits:
    def test_quick_fix_replaces_the_misspelt_name(self, editor: Editor, project: Path) -> None:
        text = 'on order_created when customer has label Customer_VIp then discount 5% "x"\n'
        uri = editor.open(project / "rules" / "fix.rules", text)
        [d] = editor.diagnostics(uri, 1)
        [action] = editor.run(
            editor.client.text_document_code_action_async(
                types.CodeActionParams(doc(uri), d.range, types.CodeActionContext([d]))
            )
        )
        assert action.kind == types.CodeActionKind.QuickFix
        assert action.title == "Replace 'Customer_VIp' with 'Customer_VIP'"
        [edit] = action.edit.changes[uri]
        assert edit.range == d.range
        fixed = _apply(text, edit)
        assert fixed == text.replace("Customer_VIp", "Customer_VIP")
        version = editor.change(uri, fixed)
        assert editor.diagnostics(uri, version) == []

    def test_formatting_through_the_formatter(self, editor: Editor, project: Path) -> None:
        text = "label   Gold ,Silver   for customer\n"
        uri = editor.open(project / "rules" / "fmt.rules", text)
        [edit] = editor.run(
            editor.client.text_document_formatting_async(
                types.DocumentFormattingParams(doc(uri), types.FormattingOptions(2, True))
            )
        )
        assert _apply(text, edit) == "label Gold, Silver for customer\n"

    def test_a_file_with_syntax_errors_is_not_formatted(
        self, editor: Editor, project: Path
    ) -> None:
        uri = editor.open(project / "rules" / "broken.rules", "label Gold for\n")
        got = editor.run(
            editor.client.text_document_formatting_async(
                types.DocumentFormattingParams(doc(uri), types.FormattingOptions(2, True))
            )
        )
        assert got is None
        message = editor.wait(lambda: [m for m in editor.messages if "not formatted" in m.message])
        assert "syntax errors (2:1: R107" in message[0].message


def _apply(text: str, *edits: types.TextEdit) -> str:
    """``text`` with ``edits`` (ranges of the original text) made, as an editor makes them."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(p: types.Position) -> int:
        return offsets[p.line] + p.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text
