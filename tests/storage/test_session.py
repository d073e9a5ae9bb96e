"""Database URLs: passwords masked in every rendering, kept whole when they hold an '@'."""

import traceback

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from rulec.storage.session import make_engine, mask_url, parse_url, redact

SECRET = "s3cr3t-P@ss"
ENCODED = "s3cr3t-P%40ss"


def leaks(text_: str) -> bool:
    """Does ``text_`` show any part of the password that identifies it?"""
    return any(s in text_ for s in ("s3cr3t", "P@ss", "P%40ss", "ss@"))


class TestMaskUrl:
    @pytest.mark.parametrize(
        ("url", "masked"),
        [
            (
                f"postgresql+psycopg://root:{ENCODED}@db.example:5432/shop",
                "postgresql+psycopg://root:***@db.example:5432/shop",
            ),
            (  # a bare '@' in the password: the last '@' ends the credentials
                f"postgresql+psycopg://root:{SECRET}@db.example/shop",
                "postgresql+psycopg://root:***@db.example/shop",
            ),
            (
                f"postgresql+psycopg:///shop?host=db.example&password={ENCODED}",
                "postgresql+psycopg:///shop?host=db.example&password=***",
            ),
            (  # not a URL at all: everything before the last '@' goes
                f"root:{SECRET}@db.example/shop",
                "***@db.example/shop",
            ),
            (  # libpq key/value text
                f"host=db.example password={SECRET} dbname=shop",
                "host=db.example password=*** dbname=shop",
            ),
            (  # a port that is not a number: the URL does not parse
                f"postgresql+psycopg://root:{ENCODED}@db.example:abc/shop",
                "postgresql+psycopg://***@db.example:abc/shop",
            ),
            ("sqlite:///rulec.db", "sqlite:///rulec.db"),
            ("sqlite:////tmp/odd@name.db", "sqlite:////tmp/odd@name.db"),  # kept as typed
            (
                "postgresql+psycopg://root@db.example/shop",
                "postgresql+psycopg://root@db.example/shop",
            ),
        ],
    )
    def test_masks(self, url, masked):
        assert mask_url(url) == masked
        assert not leaks(mask_url(url))

    def test_a_url_object_is_masked_too(self):
        url = make_url(f"postgresql+psycopg://root:{ENCODED}@db.example/shop")
        assert mask_url(url) == "postgresql+psycopg://root:***@db.example/shop"


class TestParseUrl:
    def test_a_bare_at_sign_stays_in_the_password(self):
        u = parse_url(f"postgresql+psycopg://root:{SECRET}@db.example:5432/shop")
        assert (u.username, u.password, u.host, u.port) == ("root", SECRET, "db.example", 5432)

    def test_an_encoded_password_is_unchanged(self):
        u = parse_url(f"postgresql+psycopg://root:{ENCODED}@db.example/shop")
        assert (u.password, u.host) == (SECRET, "db.example")

    def test_a_bare_at_sign_connects_with_the_whole_password(self, db):
        if db.dialect.name != "postgresql":
            assert parse_url("sqlite:////tmp/a@b.db").database == "/tmp/a@b.db"
            return
        u = db.url
        url = f"postgresql+psycopg://{u.username}:{SECRET}@{u.host}:{u.port}/{u.database}"
        engine = make_engine(url)
        try:
            assert engine.url.password == SECRET and engine.url.host == u.host
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()


class TestRedact:
    @pytest.mark.parametrize(
        "url",
        [
            f"postgresql+psycopg://root:{ENCODED}@db.example/shop",
            f"postgresql+psycopg://root:{SECRET}@db.example/shop",
            f"postgresql+psycopg:///shop?password={ENCODED}",
            f"root:{SECRET}@db.example/shop",
            f"host=db.example password={SECRET}",
        ],
    )
    def test_every_form_of_the_password_goes(self, url):
        message = f"failed: {url} (password {SECRET!r}, encoded {ENCODED}, url {url!r})"
        out = redact(message, url)
        assert not leaks(out)
        assert "db.example" in out or "password=***" in out

    def test_a_url_without_a_password_leaves_the_text_alone(self):
        assert redact("no such file sqlite:///x.db", "sqlite:///x.db") == (
            "no such file sqlite:///x.db"
        )


class TestExceptions:
    """What SQLAlchemy and the driver raise for a bad URL never shows the password."""

    @pytest.mark.parametrize(
        "url",
        [
            f"postgresql+psycopg://root:{ENCODED}@127.0.0.1:1/shop",  # nothing listens
            f"postgresql+psycopg://root:{SECRET}@127.0.0.1:1/shop",  # bare '@'
            f"postgresql+psycopg://root:{ENCODED}@no-such-host.invalid/shop",
            f"postgresql+nosuch://root:{ENCODED}@127.0.0.1/shop",  # no such driver
            f"mysql+mysqldb://root:{ENCODED}@127.0.0.1/shop",  # driver not installed
            f"root:{SECRET}@127.0.0.1/shop",  # not a URL
            f"postgresql+psycopg://root:{ENCODED}@127.0.0.1:abc/shop",  # bad port
            f"postgresql+psycopg://nobody:{ENCODED}@127.0.0.1:5432/shop",  # refused role
            f"postgresql+psycopg://root:{ENCODED}@127.0.0.1:5432/shop?bogus=1",
        ],
    )
    def test_connect_errors(self, url):
        with pytest.raises(Exception) as caught:  # any error will do
            engine = make_engine(url)
            try:
                with engine.connect():
                    pass
            finally:
                engine.dispose()
        shown = "".join(traceback.format_exception(caught.value))
        assert not leaks(shown), shown
        assert not leaks(repr(caught.value))
