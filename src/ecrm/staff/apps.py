from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "ecrm.staff"
    label = "staff"
