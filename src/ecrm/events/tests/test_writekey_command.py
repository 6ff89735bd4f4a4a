"""``ecrm writekey create|list|revoke``."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecrm.events import keys

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("writekey", *args, stdout=out)
    return out.getvalue()


def test_create_prints_a_key_that_authenticates():
    key = run("create", "web-shop").strip()
    assert (key.startswith("wk_"), keys.key_id_for(key) is not None) == (True, True)


def test_list_shows_name_prefix_and_state():
    key = run("create", "app").strip()
    run("create", "mini-program")
    run("revoke", "mini-program")
    lines = [line.split("\t") for line in run("list").splitlines()]
    assert [(row[0], row[1], row[3].split(" ")[0]) for row in lines] == [
        ("app", f"{key[:8]}…", "live"),
        ("mini-program", lines[1][1], "revoked"),
    ]


def test_revoked_key_no_longer_authenticates():
    key = run("create", "pos").strip()
    assert run("revoke", "pos") == "write key 'pos' revoked\n"
    assert keys.key_id_for(key) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create",), "'ecrm writekey create' needs the key's NAME"),
        (("revoke", "ghost"), "name: no write key named 'ghost'"),
    ],
)
def test_mistakes_are_reported(args, message):
    with pytest.raises(CommandError) as info:
        run(*args)
    assert str(info.value) == message


def test_duplicate_name_is_refused():
    run("create", "web")
    with pytest.raises(CommandError) as info:
        run("create", "web")
    assert str(info.value) == "name: a write key named 'web' exists already"
