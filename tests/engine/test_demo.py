"""`rulec demo` and `rulec db`: the main job, as a user runs it."""

import pathlib
import re

from click.testing import CliRunner

from rulec.cli import main
from rulec.storage import migrate

RULES = str(pathlib.Path(__file__).parents[2] / "rules")


class TestDemo:
    def test_demo_prints_the_baskets(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(main, ["demo", "--rules", RULES])
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert out.count("Basket: order #") == 5
        ada, ben, ben_again, earlier, cleo = out.split("Basket: order #")[1:]

        def total(basket):
            return re.search(r"Total +(\S+ \w+)", basket).group(1)

        assert total(ada) == "100.00 EUR" and "Discount" not in ada
        assert re.search(r"VIP New Order Discount \(10%\) +-12.00 EUR", ben)
        assert total(ben) == "108.00 EUR"
        assert "Discount" not in ben_again and total(ben_again) == "80.00 EUR"
        assert total(earlier) == "108.00 EUR"
        # lines, each with its share of the discount
        assert re.search(
            r"2 x Wedding album \(150.00 each\) +300.00 EUR\n +less discount +-30.00", cleo
        )
        assert re.search(r"1 x Photographer, one day +1000.00 EUR\n +less discount +-100.00", cleo)
        assert re.search(r"Subtotal +1300.00 EUR\n  VIP New Order Discount \(10%\) +-130.00", cleo)
        assert total(cleo) == "1170.00 EUR"
        assert (tmp_path / "rulec-demo.db").exists()

    def test_demo_runs_from_any_folder_with_the_rules_rulec_ships(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)  # no rules/ here: the shipped ones are package data
        result = CliRunner().invoke(main, ["demo"])
        assert result.exit_code == 0, result.output
        assert "Rules: 20 loaded" in result.stdout
        assert re.search(r"VIP New Order Discount \(10%\) +-12.00 EUR", result.stdout)

    def test_demo_runs_twice_on_the_same_database(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        for _ in range(2):
            result = CliRunner().invoke(main, ["demo", "--rules", RULES])
            assert result.exit_code == 0, result.output


class TestDb:
    def test_upgrade_current_downgrade(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'x.db'}"
        runner = CliRunner()
        assert runner.invoke(main, ["db", "current", "--db", url]).stdout.strip() == "base"
        assert runner.invoke(main, ["db", "upgrade", "--db", url]).exit_code == 0
        assert runner.invoke(main, ["db", "current", "--db", url]).stdout.strip() == migrate.head()
        assert runner.invoke(main, ["db", "downgrade", "base", "--db", url]).exit_code == 0
        assert runner.invoke(main, ["db", "current", "--db", url]).stdout.strip() == "base"

    def test_passwords_are_masked_in_messages(self):
        result = CliRunner().invoke(
            main, ["db", "upgrade", "--db", "postgresql+psycopg://u:s3cret@127.0.0.1:1/x"]
        )
        assert result.exit_code == 2  # an unreachable database is not a bug in rulec
        assert "s3cret" not in result.output
