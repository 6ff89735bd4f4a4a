"""What every console template knows: the signed-in user's role and its label."""

from ecrm.staff import api as staff
from ecrm.staff.models import Role


def console(request):
    user = getattr(request, "user", None)
    role = staff.role_of(user) if user is not None else None
    return {
        "staff_role": role,
        "staff_role_label": Role(role).label if role in Role.values else "",
    }
