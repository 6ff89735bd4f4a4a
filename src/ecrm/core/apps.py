from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ecrm.core"
    label = "core"
