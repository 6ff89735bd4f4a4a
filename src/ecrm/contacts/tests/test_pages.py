"""The contact log form of the console: the service's refusals in the console's language."""

import pytest
from django.test import Client

from ecrm.contacts.models import Contact
from ecrm.customers.tests import factories
from ecrm.staff.models import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "error"), [("zh-hans", "为空"), ("en", "is empty")])
def test_an_empty_summary_is_refused_in_the_consoles_language(staff_factory, language, error):
    """The service refuses an empty summary; the reason sits under the summary field, in
    the console's language, and nothing is stored."""
    client = Client()
    client.force_login(staff_factory("agent-1", Role.SERVICE_AGENT))
    zhang = factories.customer("张伟")

    response = client.post(
        f"/customers/{zhang.pk}/contacts/",
        {"channel": "phone", "direction": "in", "summary": "  "},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"summary": [error]}
    assert f'<ul class="errorlist"><li>{error}</li></ul>' in response.content.decode()
    assert Contact.objects.count() == 0
