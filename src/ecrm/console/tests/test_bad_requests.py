"""Requests the console cannot use are a 400 page in its language, never a 500."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_parameter_is_a_400_page_in_the_consoles_language(agent_client):
    """PostgreSQL's driver refuses NUL in text: a search for ``%00`` answered 500 there."""
    chinese = agent_client.get("/customers/?q=%00")
    english = agent_client.get("/products/?q=a%00", HTTP_ACCEPT_LANGUAGE="en")

    assert chinese.status_code == 400
    assert "q:含有 NUL 字符" in chinese.content.decode()
    assert english.status_code == 400
    assert "q: contains a NUL character" in english.content.decode()
