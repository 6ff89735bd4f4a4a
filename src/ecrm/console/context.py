from ecrm.staff import api as staff


def console(request):
    user = getattr(request, "user", None)
    return {"staff_role": staff.role_of(user) if user is not None else None}
