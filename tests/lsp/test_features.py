"""The language server's features as functions: completion, hover, quick fixes, rule sets.

The protocol itself is tested in test_server.py; these pin the cases one by one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.workspace.position_codec import PositionCodec

from rulec.dsl.parser import keywords, keywords_after
from rulec.lsp.complete import complete
from rulec.lsp.fixes import replacement
from rulec.lsp.hover import hover_text
from rulec.lsp.keywords import KEYWORD_DOCS, keyword_doc
from rulec.lsp.lookup import in_code, word_at
from rulec.lsp.positions import Positions
from rulec.lsp.project import Project, RuleSetView, rule_set_folder

LABELS = 'label Customer_VIP, "Season 2026" for customer\nlabel Rush for order\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "labels.rules").write_text(LABELS, encoding="utf-8")
    return tmp_path


def view_of(folder: Path, text: str) -> tuple[RuleSetView, str]:
    path = str(folder / "x.rules")
    return Project([folder]).view(path, {path: text}), path


def completions(folder: Path, text: str) -> list[str]:
    view, _ = view_of(folder, text)
    lines = text.split("\n")
    return [c.text for c in complete(view, text, len(lines), len(lines[-1]) + 1)]


class TestKeywords:
    def test_every_keyword_of_the_grammar_has_a_text_and_no_other_word_does(self) -> None:
        assert set(KEYWORD_DOCS) == set(keywords())

    def test_the_grammar_says_which_keywords_may_come_next(self) -> None:
        assert keywords_after("") == (("coupon", "group", "label", "on", "rule", "test"), False)
        assert keywords_after("on order_created when customer ") == (
            ("has", "is", "lacks"),
            True,
        )
        assert keywords_after("on order_created when ) ") is None

    def test_a_keyword_in_a_comment_or_a_text_is_not_one(self) -> None:
        line = 'on x then discount 5% "when" # when'
        assert word_at(line, 1) == ("on", 1, 3)
        assert word_at(line, line.index('"when"') + 3) is None
        assert word_at(line, len(line)) is None
        assert in_code('on x "unterminated', 19) is False
        assert in_code('on x "done" ', 13) is True
        assert keyword_doc("order") is None


class TestCompletion:
    @pytest.mark.parametrize(
        ("text", "expected", "absent"),
        [
            ("", {"label", "on", "rule", "test"}, {"when"}),
            ("on ", {"order_created", "daily"}, {"when"}),
            ("on order_created ", {"when", "then", "for"}, {"has"}),
            ("on order_created when customer ", {"order_count", "has", "lacks"}, set()),
            (
                "on order_created when customer has label ",
                {"Customer_VIP", '"Season 2026"'},
                {"Rush"},
            ),
            ("on order_created when order has any label of Rush, ", {"Rush"}, {"Customer_VIP"}),
            ("on order_created when order status is ", {"pending", "paid", "not"}, set()),
            ("on order_created when order currency is ", {"EUR", "USD"}, {"pending"}),
            ("on order_created then discount 5.00 ", {"EUR", "JPY"}, set()),
            ("on order_created then ", {"discount", "add", "set", "hide"}, {"when"}),
            ("on order_created then add label Rush to ", {"order", "customer"}, set()),
            ("on order_created then set order ", {"status"}, {"subtotal", "on", "rule"}),
            ("on daily for ", {"customer", "order"}, {"item"}),
            ("label Gold for ", {"customer", "order"}, set()),
            ('test "t"\n  on order_created\n  expect ', {"applied", "no", "total", "add"}, set()),
            ("# on ", set(), {"order_created"}),
            ('on order_created then discount 5% "on ', set(), {"order_created"}),
        ],
    )
    def test_what_is_offered(
        self, folder: Path, text: str, expected: set[str], absent: set[str]
    ) -> None:
        got = set(completions(folder, text))
        assert expected <= got
        assert not (absent & got)


class TestHover:
    def hover(self, folder: Path, text: str, word: str, nth: int = 0) -> str | None:
        view, path = view_of(folder, text)
        at = -1
        for _ in range(nth + 1):
            at = text.index(word, at + 1)
        line = text[:at].count("\n") + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        found = hover_text(view, path, text.split("\n")[line - 1], line, column + 1)
        if found is None:
            return None
        # the range is the word's
        assert text.split("\n")[line - 1][found[1].column - 1 :].startswith(word)
        return found[0]

    def test_entities_actions_currencies_and_zones(self, folder: Path) -> None:
        text = (
            'rule "r"\n  from 2026-01-01 Europe/Paris\n  on order_created\n'
            "  when customer has label Customer_VIP\n"
            '  then discount 5% up to 10.00 EUR "x"\nend\n'
        )
        assert (self.hover(folder, text, "customer") or "").startswith("**customer** (entity)")
        assert "percentage" in (self.hover(folder, text, "discount") or "")
        assert self.hover(folder, text, "EUR") == (
            "**EUR** (currency, ISO 4217)\n\namounts in EUR have 2 decimal places"
        )
        assert (self.hover(folder, text, "rule") or "").startswith("**rule** (keyword)")

    def test_a_stacking_group_says_where_it_is_declared_and_its_base(self, folder: Path) -> None:
        (folder / "groups.rules").write_text(
            "# Seasonal offers\ngroup Seasonal after Loyalty\ngroup Loyalty\n", encoding="utf-8"
        )
        text = (
            'rule "r"\n  in group Seasonal\n  on order_created then discount 5% "x"\nend\n'
            'rule "s"\n  in group Loyalty\n  on order_created then discount 5% "y"\nend\n'
        )
        assert self.hover(folder, text, "Seasonal") == (
            "**Seasonal** (stacking group), declared at groups.rules:2\n\n"
            "its percentages are of what Loyalty leave of the subtotal\n\n"
            "Seasonal offers\n\n1 rule in it"
        )
        assert (self.hover(folder, text, "Loyalty") or "").endswith(
            "its percentages are of the undiscounted subtotal\n\n1 rule in it"
        )
        assert self.hover(folder, "group Spare\n", "Spare") == (
            "**Spare** (stacking group), declared at x.rules:1\n\n"
            "its percentages are of the undiscounted subtotal\n\n0 rules in it"
        )

    def test_a_group_goes_to_its_declaration(self, folder: Path) -> None:
        from rulec.lsp.navigate import definition

        (folder / "groups.rules").write_text("group A\ngroup B after A\n", encoding="utf-8")
        text = 'rule "r"\n  in group B\n  on order_created then discount 5% "x"\nend\n'
        view, path = view_of(folder, text)
        [found] = definition(
            view, path, 2, 13, lambda p: Positions(view.texts.get(p, ""), PositionCodec())
        )
        assert found.uri.endswith("groups.rules")
        assert (found.range.start.line, found.range.start.character) == (1, 6)

    def test_an_undeclared_label_says_so(self, folder: Path) -> None:
        text = 'on order_created when customer has label Gold then discount 5% "x"\n'
        assert (
            self.hover(folder, text, "Gold") == "**Gold** (label)\n\nnot declared in this rule set"
        )


class TestQuickFix:
    def fix(self, folder: Path, text: str) -> list[str | None]:
        view, path = view_of(folder, text)
        positions = Positions(text, PositionCodec())
        return [replacement(d, positions) for d in view.analysis.diagnostics if d.span.file == path]

    def test_a_quoted_label_stays_quoted(self, folder: Path) -> None:
        text = 'on order_created when customer has label "Seasn 2026" then discount 5% "x"\n'
        assert self.fix(folder, text) == ['"Season 2026"']

    def test_only_did_you_mean_suggestions_are_fixes(self, folder: Path) -> None:
        # 'When': R118's suggestion rewrites the line, it is not a name for the range
        text = 'on order_created When customer has label Customer_VIP then discount 5% "x"\n'
        assert self.fix(folder, text) == [None]


class TestDeclareFix:
    def actions(self, folder: Path, text: str) -> list[tuple[str, str]]:
        from lsprotocol import types

        from rulec.lsp.fixes import quick_fixes

        view, path = view_of(folder, text)
        positions = Positions(text, PositionCodec())
        mine = [d for d in view.analysis.diagnostics if d.span.file == path]
        everywhere = types.Range(types.Position(0, 0), positions.end())
        out = []
        for action in quick_fixes("file:///x.rules", mine, positions, everywhere, view.items(path)):
            assert action.edit is not None and action.edit.changes is not None
            [edit] = action.edit.changes["file:///x.rules"]
            lines = text.split("\n")
            at = (
                sum(len(x) + 1 for x in lines[: edit.range.start.line]) + edit.range.start.character
            )
            out.append((action.title, text[:at] + edit.new_text + text[at:]))
        return out

    RULE = 'on order_created when customer has label Gold then discount 5% "Gold"\n'

    def test_after_the_files_last_declaration(self, folder: Path) -> None:
        text = "# Gold.\n\nlabel Silver for customer\n\n" + self.RULE
        [(title, fixed)] = self.actions(folder, text)
        assert title == "Declare label Gold for customer"
        assert (
            fixed == "# Gold.\n\nlabel Silver for customer\nlabel Gold for customer\n\n" + self.RULE
        )
        assert view_of(folder, fixed)[0].analysis.diagnostics == ()

    def test_below_the_opening_comments(self, folder: Path) -> None:
        [(_, fixed)] = self.actions(folder, "# Gold.\n\n" + self.RULE)
        assert fixed == "# Gold.\n\nlabel Gold for customer\n\n" + self.RULE
        [(_, fixed)] = self.actions(folder, self.RULE)
        assert fixed == "label Gold for customer\n\n" + self.RULE


class TestRuleSets:
    def test_a_subfolder_belongs_to_the_folder_above_while_it_holds_rules(
        self, tmp_path: Path
    ) -> None:
        rules = tmp_path / "rules"
        (rules / "promotions" / "spring").mkdir(parents=True)
        (rules / "labels.rules").write_text(LABELS, encoding="utf-8")
        file = rules / "promotions" / "spring" / "easter.rules"
        file.write_text("", encoding="utf-8")
        # promotions/ holds no rule file of its own: spring/ stands alone
        assert rule_set_folder(file) == file.parent
        (rules / "promotions" / "summer.rules").write_text("", encoding="utf-8")
        assert rule_set_folder(file) == rules
        # never above the editor's workspace folder
        assert rule_set_folder(file, [rules / "promotions"]) == rules / "promotions"

    def test_labels_of_the_whole_set_resolve_and_open_text_wins(self, tmp_path: Path) -> None:
        rules = tmp_path / "rules"
        (rules / "promotions").mkdir(parents=True)
        (rules / "labels.rules").write_text(LABELS, encoding="utf-8")
        path = str(rules / "promotions" / "vip.rules")
        text = 'on order_created when customer has label Customer_VIP then discount 5% "x"\n'
        project = Project([tmp_path])
        assert project.view(path, {path: text}).analysis.diagnostics == ()
        # the editor's unsaved text of labels.rules, not the disk's
        labels = str(rules / "labels.rules")
        view = project.view(path, {path: text, labels: "label Other for customer\n"})
        assert [d.code for d in view.analysis.diagnostics] == ["R210"]

    def test_a_schema_that_cannot_be_read_is_reported_and_the_default_used(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "rulec.toml").write_text("[entities.order\n", encoding="utf-8")
        path = str(tmp_path / "x.rules")
        view = Project([tmp_path]).view(path, {path: 'on order_created then discount 5% "x"\n'})
        assert view.vocabulary_error is not None and "rulec.toml" in view.vocabulary_error
        assert view.analysis.diagnostics == ()


class TestParseCache:
    def test_only_a_changed_file_is_parsed_again(self) -> None:
        from rulec.dsl.sources import ParseCache, Source, analyze
        from rulec.engine.vocabulary import DEFAULT_VOCABULARY

        cache: ParseCache = {}
        labels = Source.from_text(LABELS, "labels.rules")
        rule = 'on order_created when customer has label Customer_VIP then discount 5% "x"\n'
        first = analyze(
            [labels, Source.from_text(rule, "a.rules")], DEFAULT_VOCABULARY, parsed=cache
        )
        typo = rule.replace("Customer_VIP", "Customer_VIp")
        second = analyze(
            [labels, Source.from_text(typo, "a.rules")], DEFAULT_VOCABULARY, parsed=cache
        )
        assert second.items["labels.rules"][0] is first.items["labels.rules"][0]
        assert second.items["a.rules"][0] is not first.items["a.rules"][0]
        assert [d.code for d in second.diagnostics] == ["R210"]
        # the same results as without the cache
        plain = analyze([labels, Source.from_text(typo, "a.rules")], DEFAULT_VOCABULARY)
        assert plain.diagnostics == second.diagnostics and plain.items == second.items


def test_without_pygls_the_command_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from click.testing import CliRunner

    from rulec.cli import main

    # as if pygls were not installed
    for name in [m for m in sys.modules if m.startswith(("rulec.lsp", "pygls."))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pygls", None)
    result = CliRunner().invoke(main, ["lsp"])
    assert result.exit_code == 2
    assert "rulec lsp needs pygls: pip install 'rulec[lsp]'" in result.output


class TestOutline:
    TEXT = (
        "# Spring.\n# Two lines of comment.\n"
        'rule "Spring"\n  on order_created\n  then discount 5% "Spring sale"\nend\n'
        'on order_created when customer has label Customer_VIP then discount 10% "VIP"\n'
    )

    def test_folding_block_rules_and_comment_runs(self, folder: Path) -> None:
        from rulec.lsp.navigate import folding_ranges

        view, path = view_of(folder, self.TEXT)
        got = [(r.start_line, r.end_line, r.kind) for r in folding_ranges(view, path)]
        assert got == [(0, 1, "comment"), (2, 5, None)]

    def test_workspace_symbols_across_the_rule_set(self, folder: Path) -> None:
        from rulec.lsp.navigate import workspace_symbols

        view, _ = view_of(folder, self.TEXT)

        def positions(p: str) -> Positions:
            return Positions(view.texts.get(p, ""), PositionCodec())

        names = {
            (s.name, s.location.uri.rsplit("/", 1)[-1])
            for s in workspace_symbols(view, "vip", positions)
        }
        assert names == {("Customer_VIP", "labels.rules"), ("x.rules:7", "x.rules")}


def test_semantic_tokens_colour_names_by_what_they_name(folder: Path) -> None:
    from rulec.lsp.tokens import TYPES, semantic_tokens

    text = (
        'label "Season 2026" for customer  # quoted\n'
        'on order_created when customer has label "Season 2026" and order created by agent\n'
        '  then discount 5% up to 10.00 EUR "🎉 x"\n'
    )
    view, path = view_of(folder, text)
    data = semantic_tokens(view.items(path), Positions(text, PositionCodec()))
    lines, got, line, column = text.split("\n"), [], 0, 0
    for i in range(0, len(data), 5):
        dl, ds, length, kind, modifiers = data[i : i + 5]
        line, column = line + dl, (ds if dl else column + ds)
        got.append((lines[line][column : column + length], TYPES[kind], modifiers))
    assert got == [
        ("label", "keyword", 0),
        ('"Season 2026"', "enumMember", 1),
        ("for", "keyword", 0),
        ("customer", "class", 0),
        ("# quoted", "comment", 0),
        ("on", "keyword", 0),
        ("order_created", "event", 0),
        ("when", "keyword", 0),
        ("customer", "class", 0),
        ("has", "keyword", 0),
        ("label", "keyword", 0),
        ('"Season 2026"', "enumMember", 0),
        ("and", "keyword", 0),
        ("order", "class", 0),
        ("created", "property", 0),
        ("by", "property", 0),
        ("agent", "property", 0),
        ("then", "keyword", 0),
        ("discount", "function", 0),
        ("5%", "number", 0),
        ("up", "keyword", 0),
        ("to", "keyword", 0),
        ("10.00", "number", 0),
        ("EUR", "type", 0),
        ('"🎉 x"', "string", 0),
    ]
    assert data[-3] == 6  # the emoji is two UTF-16 units: the text's length as the editor counts


class TestCouponFamilies:
    TEXT = 'on order_created when order has coupon in Partner then discount 5% "Partner"\n'

    def test_hover_and_go_to_the_declaration_in_another_file(self, folder: Path) -> None:
        from rulec.lsp.navigate import definition

        (folder / "families.rules").write_text(
            'coupon family Partner is "PARTNER-*", "FRIENDS"\n', encoding="utf-8"
        )
        view, path = view_of(folder, self.TEXT)
        column = self.TEXT.index("Partner") + 1
        found = hover_text(view, path, self.TEXT, 1, column)
        assert found is not None
        assert found[0] == (
            "**Partner** (coupon family), declared at families.rules:1\n\n"
            "codes: `PARTNER-*`, `FRIENDS` (a trailing `*`: every code that starts so)"
        )

        def positions(p: str) -> Positions:
            return Positions(view.texts.get(p, ""), PositionCodec())

        (loc,) = definition(view, path, 1, column, positions)
        assert loc.uri.endswith("families.rules")
        assert (loc.range.start.line, loc.range.start.character) == (0, 14)

    def test_the_families_are_offered_after_coupon_in(self, folder: Path) -> None:
        (folder / "families.rules").write_text(
            'coupon family Partner is "PARTNER-*"\ncoupon family Vip is "VIP-*"\n',
            encoding="utf-8",
        )
        got = completions(folder, "on order_created when order has coupon in ")
        assert {"Partner", "Vip"} <= set(got)
