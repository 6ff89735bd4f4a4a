from ecrm.contacts.models import ContactChannel, Direction
from ecrm.contacts.services import ContactError, log_contact

__all__ = ["ContactChannel", "ContactError", "Direction", "contact_counts", "log_contact"]


def contact_counts(until=None) -> list[tuple[int, str, int]]:
    """(customer id, channel, contacts) for every customer and channel with a contact, up
    to ``until`` when given; one grouped query (customer value costs them)."""
    from django.db.models import Count

    from ecrm.contacts.models import Contact

    rows = Contact.objects.all()
    if until is not None:
        rows = rows.filter(occurred_at__lte=until)
    return list(rows.values_list("customer_id", "channel").annotate(n=Count("pk")).order_by())
