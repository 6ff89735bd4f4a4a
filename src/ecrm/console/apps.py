from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "ecrm.console"
    label = "console"
