"""A vocabulary written as a schema file the rules repository owns (rulec.toml)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import rulec
from rulec.cli import main
from rulec.dsl.schema import SchemaError, find_config, vocabulary_from_data, vocabulary_to_toml
from rulec.dsl.vocabulary import Type

SHOP = """\
extends = "default"

[entities.order.fields.channel]
type = "string"
values = ["web", "store", "phone"]
description = "where the order was placed"

[entities.customer.fields.country]
type = "string"
"""

RULE = 'on order_created when order channel is web then discount 5% "Web orders"\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str, cwd: Path | None = None):
    import os

    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


class TestDefault:
    def test_the_default_vocabulary_is_a_shipped_schema_file(self) -> None:
        text = (Path(rulec.engine.__file__).parent / "vocabulary.toml").read_text("utf-8")
        assert vocabulary_from_data(tomllib.loads(text), None) == rulec.DEFAULT_VOCABULARY

    def test_a_vocabulary_written_and_read_back_is_equal(self) -> None:
        extended = rulec.project_vocabulary(config=write(Path(self.tmp) / "rulec.toml", SHOP))
        again = vocabulary_from_data(tomllib.loads(vocabulary_to_toml(extended)), None)
        assert again == extended

    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.tmp = tmp_path


class TestExtends:
    def test_new_fields_join_the_default_entities(self, tmp_path: Path) -> None:
        v = rulec.project_vocabulary(config=write(tmp_path / "rulec.toml", SHOP))
        order = v.entity("order")
        assert order is not None
        channel = order.field("channel")
        assert channel is not None and channel.type is Type.STRING
        assert channel.values == ("web", "store", "phone")
        assert order.field("subtotal") is not None  # the default's fields stay
        assert v.events == rulec.DEFAULT_VOCABULARY.events

    def test_without_extends_the_schema_is_the_whole_vocabulary(self, tmp_path: Path) -> None:
        schema = (
            "[entities.ticket]\nlabelled = true\n"
            '[entities.ticket.fields.priority]\ntype = "integer"\n'
            '[[events]]\nname = "ticket_opened"\nentities = ["ticket"]\n'
        )
        v = rulec.project_vocabulary(config=write(tmp_path / "rulec.toml", schema))
        assert [e.name for e in v.entities] == ["ticket"]
        assert [e.name for e in v.events] == ["ticket_opened"]
        rules = (
            "label Urgent for ticket\n"
            "on ticket_opened when ticket priority >= 3 then add label Urgent to ticket\n"
        )
        assert rulec.check_text(rules, "t.rules", v) == []


class TestDiscovery:
    def test_found_beside_or_above_the_rules_like_ruff_settings(self, tmp_path: Path) -> None:
        config = write(tmp_path / "rulec.toml", SHOP)
        rules = write(tmp_path / "rules" / "web" / "web.rules", RULE)
        assert find_config(rules.parent) == config
        assert find_config(rules) == config

    def test_pyproject_counts_only_with_a_tool_rulec_table(self, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[project]\nname = "shop"\n')
        assert find_config(tmp_path) is None
        body = SHOP.replace("[entities.", "[tool.rulec.entities.").replace(
            'extends = "default"', '[tool.rulec]\nextends = "default"'
        )
        write(tmp_path / "pyproject.toml", '[project]\nname = "shop"\n\n' + body)
        assert find_config(tmp_path) == tmp_path / "pyproject.toml"
        v = rulec.project_vocabulary([tmp_path])
        assert v.entity("order").field("channel") is not None  # type: ignore[union-attr]

    def test_the_closest_wins(self, tmp_path: Path) -> None:
        write(tmp_path / "rulec.toml", SHOP)
        inner = write(tmp_path / "team" / "rulec.toml", 'extends = "default"\n')
        assert find_config(tmp_path / "team") == inner


class TestCommands:
    def test_check_uses_the_project_schema(self, tmp_path: Path) -> None:
        write(tmp_path / "rules" / "web.rules", RULE)
        plain = run("check", str(tmp_path / "rules"))
        assert plain.exit_code == 1 and "R204 unknown field 'channel' of order" in plain.stdout
        write(tmp_path / "rulec.toml", SHOP)
        got = run("check", str(tmp_path / "rules"))
        assert got.exit_code == 0, got.output

    def test_a_misspelt_schema_field_gets_did_you_mean(self, tmp_path: Path) -> None:
        write(tmp_path / "rulec.toml", SHOP)
        write(tmp_path / "rules" / "web.rules", RULE.replace("channel", "chanel"))
        got = run("check", str(tmp_path / "rules"))
        assert got.exit_code == 1
        assert "R204 unknown field 'chanel' of order; did you mean 'channel'?" in got.stdout

    def test_config_option(self, tmp_path: Path) -> None:
        config = write(tmp_path / "elsewhere" / "schema.toml", SHOP)
        write(tmp_path / "rules" / "web.rules", RULE)
        got = run("--config", str(config), "check", str(tmp_path / "rules"))
        assert got.exit_code == 0, got.output

    def test_test_compile_and_explain_use_it_too(self, tmp_path: Path) -> None:
        write(tmp_path / "rulec.toml", SHOP)
        rules = tmp_path / "rules"
        write(
            rules / "web.rules",
            RULE + 'test "web" on order_created given order channel is web and order subtotal is '
            "10.00 and order currency is EUR expect amount 0.50 end\n",
        )
        assert run("test", str(rules)).exit_code == 0
        assert run("compile", str(rules / "web.rules")).exit_code == 0
        facts = write(
            tmp_path / "facts.json",
            '{"order": {"channel": "web", "subtotal": "10.00", "currency": "EUR"}}',
        )
        got = run("explain", str(rules), "--given", str(facts))
        assert got.exit_code == 0 and "Web orders" in got.stdout

    def test_the_library_finds_it_too(self, tmp_path: Path) -> None:
        write(tmp_path / "rulec.toml", SHOP)
        rules = write(tmp_path / "rules" / "web.rules", RULE)
        loaded = rulec.load_paths([rules.parent])
        d = loaded.evaluate(
            "order_created",
            {"order": {"channel": "web", "subtotal": Decimal("10.00"), "currency": "EUR"}},
        )
        assert d.discount_description == "Web orders"


class TestErrors:
    @pytest.mark.parametrize(
        ("schema", "words"),
        [
            (
                "extends = 'default'\n[entities.order.fields.channel]\ntype = 'strin'\n",
                "rulec.toml:2: [entities.order.fields.channel]: type 'strin' is not known; "
                "did you mean 'string'?",
            ),
            (
                "extends = 'default'\n[entities.order.fields.channel]\ntyp = 'string'\n",
                "rulec.toml:2: [entities.order.fields.channel]: unknown key 'typ'; "
                "did you mean 'type'?",
            ),
            ("[[events]]\nname = 'x'\nentities = ['ordr']\n", "unknown entity 'ordr' in entities"),
            ("extends = 'base'\n", 'only "default" can be extended'),
            ("extends = \n", "not valid TOML"),
            ("[entities.order]\nlabelled = 'yes'\n", "'labelled' must be true or false"),
        ],
    )
    def test_a_bad_schema_is_a_usage_error_naming_the_file_line_and_key(
        self, tmp_path: Path, schema: str, words: str
    ) -> None:
        config = write(tmp_path / "rulec.toml", schema)
        with pytest.raises(SchemaError) as info:
            rulec.project_vocabulary(config=config)
        assert words in str(info.value)
        assert str(info.value).startswith(str(config))
        write(tmp_path / "rules" / "a.rules", RULE)
        got = run("check", str(tmp_path / "rules"))
        assert got.exit_code == 2
        assert got.stderr.startswith(f"rulec: {config}")
        assert "Traceback" not in got.output


def test_the_language_docs_schema_example_loads_and_works(tmp_path: Path) -> None:
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text("utf-8")
    (block,) = re.findall(r"```toml\n(.*?)```", text, re.DOTALL)
    config = write(tmp_path / "rulec.toml", block)
    v = rulec.project_vocabulary(config=config)
    assert rulec.check_text(RULE, "web.rules", v) == []
