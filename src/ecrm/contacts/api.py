from ecrm.contacts.models import ContactChannel, Direction
from ecrm.contacts.services import ContactError, log_contact

__all__ = ["ContactChannel", "ContactError", "Direction", "log_contact"]
